//! Every check id evidence-pack can emit, with what it judges, why it matters and how to fix
//! a failure: the doc comment is the `checks` listing, SARIF rule help and the table in
//! docs/evidence-pack.md. Nothing else spells a check id as a string.

gatehouse::checks! {
    /// A report the policy requires is present and its result is one the policy accepts.
    ///
    /// Why: "all required checks green" is the first promotion rule; a missing report is a
    /// fail, never a pass, because a gate that did not run proves nothing.
    ///
    /// Fix: run the tool named in the message and pass its report to the gate; if it
    /// failed, fix what it found or add a time-boxed waiver with an owner.
    Required = "gate.required";
    /// The required report is no older than the policy's `max_age`.
    ///
    /// Why: a green report from last week says nothing about today's build.
    ///
    /// Fix: re-run the tool for this release, or raise `max_age` for that requirement.
    Age = "gate.age";
    /// A figure in a report's `data` compares as the policy says (`perf-gate data.headroom
    /// >= 0.2`).
    ///
    /// Why: some criteria are numbers (perf headroom, RPO), not pass/fail.
    ///
    /// Fix: improve the figure, or change the policy's limit on purpose.
    Figure = "gate.figure";
    /// A waiver: in force (it turns a failure into a warning) or expired (it no longer
    /// waives anything).
    ///
    /// Why: exceptions must be visible, owned and time-boxed.
    ///
    /// Fix: fix the waived problem before `until`; renew the waiver only on purpose.
    Waiver = "gate.waiver";
    /// The promotion decision: promote, block or rollback, with every reason.
    ///
    /// Why: one line for the release train to act on.
    ///
    /// Fix: see the failing checks above it.
    Decision = "gate.decision";
    /// A Rego policy's `deny` (or `violation`) rule produced this message (conftest's
    /// convention); each message blocks the promotion.
    ///
    /// Why: an organisation that writes its release rules in Rego states them as deny rules.
    ///
    /// Fix: fix what the message names, or change the policy through review.
    Deny = "gate.deny";
    /// A Rego policy's `warn` rule produced this message; it does not block.
    ///
    /// Why: a rule being introduced, or a risk worth seeing, is shown before it blocks.
    ///
    /// Fix: see the message; nothing blocks on it.
    Warn = "gate.warn";
    /// A Rego unit test (`test_` rule) evaluated to true, as `opa test` counts it.
    ///
    /// Why: promotion rules are code; a rule change that breaks a tested case must fail
    /// review.
    ///
    /// Fix: correct the policy, or the test if the rule changed on purpose.
    PolicyTest = "policy.test";
    /// The zip's entries: every file the manifest lists is there, and nothing else.
    ///
    /// Why: an evidence pack with a file removed or slipped in is not the evidence that
    /// was signed.
    ///
    /// Fix: rebuild the pack; never edit a signed pack.
    Complete = "pack.complete";
    /// The zip's own metadata (local headers repeat the central directory's; attributes,
    /// version, extra fields and comments as evidence-pack writes them). A difference is a
    /// warning: the contents are still checked by digest.
    ///
    /// Why: a zip whose metadata was rewritten is no longer the exact file that was built,
    /// even when every entry's content still matches its digest.
    ///
    /// Fix: keep the pack as `build` wrote it; re-zipping it changes this.
    Canonical = "pack.canonical";
    /// Every entry's SHA-256 and size match `manifest.json`, and the manifest matches the
    /// signed statement. An entry is inflated only when the signed manifest vouches for its
    /// size, or when it stays under the zip-bomb caps.
    ///
    /// Why: the signature covers the statement, the statement the digests; a changed byte
    /// anywhere must break that chain.
    ///
    /// Fix: rebuild the pack from the original inputs.
    Digest = "pack.digest";
    /// The DSSE envelope is signed by the given key over the statement (PAE).
    ///
    /// Why: without a valid signature anyone could have written the pack.
    ///
    /// Fix: verify with the public key of the key that built the pack, or rebuild and sign.
    Signature = "pack.signature";
    /// The in-toto Statement v1 is well formed and its subjects are the pack's files.
    ///
    /// Why: other verifiers (cosign, in-toto) read the statement, not our manifest.
    ///
    /// Fix: rebuild the pack.
    Statement = "pack.statement";
    /// `attestation.sigstore.json` carries the same envelope as `attestation.dsse.json`.
    ///
    /// Why: cosign users verify the bundle; it must say what the DSSE file says.
    ///
    /// Fix: rebuild the pack.
    Bundle = "pack.bundle";
    /// Each report was added to the pack.
    ///
    /// Why: the pack lists what it proves.
    ///
    /// Fix: nothing; informational.
    Report = "pack.report";
    /// Every line of the audit log is an entry whose `prev` is the SHA-256 of the line
    /// before it, with consecutive `seq`.
    ///
    /// Why: an edited, removed or reordered line must be detectable.
    ///
    /// Fix: restore the log from its object-locked copy; never edit it by hand.
    AuditChain = "audit.chain";
    /// The last line of the audit log is complete (ends with a newline and parses).
    ///
    /// Why: a crash mid-write leaves a torn line that must never be silently accepted.
    ///
    /// Fix: inspect the torn line, then truncate it (`audit append` in docs/evidence-pack.md).
    AuditTorn = "audit.torn";
    /// Audit entries carry a valid signature by the given key.
    ///
    /// Why: the chain proves order, a signature proves who wrote it.
    ///
    /// Fix: append with `--key`; verify with its public key.
    AuditSignature = "audit.signature";
}
