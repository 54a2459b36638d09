//! Every check id evidence-pack can emit, with its documentation (what it judges, why it
//! matters, how to fix a failure). Nothing else spells a check id as a string.

use gatehouse::RuleDoc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckId {
    /// A report the policy requires is present and its result is one the policy accepts.
    ///
    /// Why: "all required checks green" is the first promotion rule; a missing report is a
    /// fail, never a pass, because a gate that did not run proves nothing.
    ///
    /// Fix: run the tool named in the message and pass its report to the gate; if it
    /// failed, fix what it found or add a time-boxed waiver with an owner.
    Required,
    /// The required report is no older than the policy's `max_age`.
    ///
    /// Why: a green report from last week says nothing about today's build.
    ///
    /// Fix: re-run the tool for this release, or raise `max_age` for that requirement.
    Age,
    /// A figure in a report's `data` compares as the policy says (`perf-gate data.headroom
    /// >= 0.2`).
    ///
    /// Why: some criteria are numbers (perf headroom, RPO), not pass/fail.
    ///
    /// Fix: improve the figure, or change the policy's limit on purpose.
    Figure,
    /// A waiver: in force (it turns a failure into a warning) or expired (it no longer
    /// waives anything).
    ///
    /// Why: exceptions must be visible, owned and time-boxed.
    ///
    /// Fix: fix the waived problem before `until`; renew the waiver only on purpose.
    Waiver,
    /// The promotion decision: promote, block or rollback, with every reason.
    ///
    /// Why: one line for the release train to act on.
    ///
    /// Fix: see the failing checks above it.
    Decision,
    /// The zip's entries: every file the manifest lists is there, and nothing else.
    ///
    /// Why: an evidence pack with a file removed or slipped in is not the evidence that
    /// was signed.
    ///
    /// Fix: rebuild the pack; never edit a signed pack.
    Complete,
    /// The zip's own metadata (local headers repeat the central directory's; attributes,
    /// version, extra fields and comments as evidence-pack writes them).
    ///
    /// Why: a zip whose metadata was rewritten is no longer the exact file that was built,
    /// even when every entry's content still matches its digest.
    ///
    /// Fix: keep the pack as `build` wrote it; re-zipping it changes this.
    Canonical,
    /// Every entry's SHA-256 and size match `manifest.json`, and the manifest matches the
    /// signed statement.
    ///
    /// Why: the signature covers the statement, the statement the digests; a changed byte
    /// anywhere must break that chain.
    ///
    /// Fix: rebuild the pack from the original inputs.
    Digest,
    /// The DSSE envelope is signed by the given key over the statement (PAE).
    ///
    /// Why: without a valid signature anyone could have written the pack.
    ///
    /// Fix: verify with the public key of the key that built the pack, or rebuild and sign.
    Signature,
    /// The in-toto Statement v1 is well formed and its subjects are the pack's files.
    ///
    /// Why: other verifiers (cosign, in-toto) read the statement, not our manifest.
    ///
    /// Fix: rebuild the pack.
    Statement,
    /// `attestation.sigstore.json` carries the same envelope as `attestation.dsse.json`.
    ///
    /// Why: cosign users verify the bundle; it must say what the DSSE file says.
    ///
    /// Fix: rebuild the pack.
    Bundle,
    /// Each report was added to the pack.
    ///
    /// Why: the pack lists what it proves.
    ///
    /// Fix: nothing; informational.
    Report,
    /// Every line of the audit log is an entry whose `prev` is the SHA-256 of the line
    /// before it, with consecutive `seq`.
    ///
    /// Why: an edited, removed or reordered line must be detectable.
    ///
    /// Fix: restore the log from its object-locked copy; never edit it by hand.
    AuditChain,
    /// The last line of the audit log is complete (ends with a newline and parses).
    ///
    /// Why: a crash mid-write leaves a torn line that must never be silently accepted.
    ///
    /// Fix: inspect the torn line, then truncate it (see docs/evidence-pack.md).
    AuditTorn,
    /// Audit entries carry a valid signature by the given key.
    ///
    /// Why: the chain proves order, a signature proves who wrote it.
    ///
    /// Fix: append with `--key`; verify with its public key.
    AuditSignature,
}

impl CheckId {
    pub const ALL: &[CheckId] = &[
        CheckId::Required,
        CheckId::Age,
        CheckId::Figure,
        CheckId::Waiver,
        CheckId::Decision,
        CheckId::Complete,
        CheckId::Canonical,
        CheckId::Digest,
        CheckId::Signature,
        CheckId::Statement,
        CheckId::Bundle,
        CheckId::Report,
        CheckId::AuditChain,
        CheckId::AuditTorn,
        CheckId::AuditSignature,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckId::Required => "gate.required",
            CheckId::Age => "gate.age",
            CheckId::Figure => "gate.figure",
            CheckId::Waiver => "gate.waiver",
            CheckId::Decision => "gate.decision",
            CheckId::Complete => "pack.complete",
            CheckId::Canonical => "pack.canonical",
            CheckId::Digest => "pack.digest",
            CheckId::Signature => "pack.signature",
            CheckId::Statement => "pack.statement",
            CheckId::Bundle => "pack.bundle",
            CheckId::Report => "pack.report",
            CheckId::AuditChain => "audit.chain",
            CheckId::AuditTorn => "audit.torn",
            CheckId::AuditSignature => "audit.signature",
        }
    }

    /// (what it judges, why it matters, how to fix): the variant docs above, shortened for
    /// SARIF rule help.
    fn doc(self) -> (&'static str, &'static str, &'static str) {
        match self {
            CheckId::Required => (
                "A required report is present with an accepted result",
                "A missing report is a fail, never a pass.",
                "Run the tool, fix what it found, or add a time-boxed waiver with an owner.",
            ),
            CheckId::Age => (
                "A required report is no older than max_age",
                "A stale report says nothing about this build.",
                "Re-run the tool, or raise max_age on purpose.",
            ),
            CheckId::Figure => (
                "A figure in a report's data meets the policy's limit",
                "Criteria such as perf headroom or RPO are numbers.",
                "Improve the figure or change the limit on purpose.",
            ),
            CheckId::Waiver => (
                "A waiver is in force or has expired",
                "Exceptions must be owned and time-boxed; an expired waiver waives nothing.",
                "Fix the problem or renew on purpose.",
            ),
            CheckId::Decision => (
                "The promotion decision: promote, block or rollback",
                "One verdict for the release train.",
                "See the failing checks; they say why.",
            ),
            CheckId::Complete => (
                "Every file the manifest lists is in the zip, and nothing else",
                "A pack with a file removed or added is not what was signed.",
                "Rebuild it; never edit a signed pack.",
            ),
            CheckId::Canonical => (
                "The zip metadata is as evidence-pack writes it (attributes, version, no extra fields or comments)",
                "A re-zipped or edited pack is not the exact file that was built, even when every entry still matches its digest.",
                "Keep the pack as `build` wrote it; re-zipping it changes its metadata.",
            ),
            CheckId::Digest => (
                "Every entry matches manifest.json and the manifest matches the signed statement",
                "A changed byte anywhere must break the chain from signature to file.",
                "Rebuild from the original inputs.",
            ),
            CheckId::Signature => (
                "The DSSE envelope is signed by the given key",
                "Without a valid signature anyone could have written the pack.",
                "Verify with the builder's public key.",
            ),
            CheckId::Statement => (
                "The in-toto Statement v1 is well formed and names the pack's files",
                "cosign and in-toto read the statement, not our manifest.",
                "Rebuild the pack.",
            ),
            CheckId::Bundle => (
                "The Sigstore bundle carries the same envelope as attestation.dsse.json",
                "cosign users verify the bundle.",
                "Rebuild the pack.",
            ),
            CheckId::Report => (
                "A report was added to the pack",
                "The pack lists what it proves.",
                "Nothing; informational.",
            ),
            CheckId::AuditChain => (
                "Each audit entry's prev is the SHA-256 of the line before it",
                "An edited, removed or reordered line must be found.",
                "Restore the log from its object-locked copy.",
            ),
            CheckId::AuditTorn => (
                "The audit log's last line is complete",
                "A crash mid-write leaves a torn line; it is never silently accepted.",
                "Inspect it, then truncate it.",
            ),
            CheckId::AuditSignature => (
                "Audit entries are signed by the given key",
                "The chain proves order, the signature who wrote it.",
                "Append with --key.",
            ),
        }
    }
}

/// The SARIF rule help for every check id.
pub fn rule_docs() -> Vec<RuleDoc> {
    CheckId::ALL
        .iter()
        .map(|id| {
            let (what, why, fix) = id.doc();
            RuleDoc::new(id.as_str(), what, why, fix)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_match_the_schema_pattern() {
        testkit::schema::assert_unique_valid_ids(CheckId::ALL.iter().map(|c| c.as_str()));
        assert_eq!(rule_docs().len(), CheckId::ALL.len());
    }
}
