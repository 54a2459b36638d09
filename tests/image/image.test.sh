# Gatehouse's own image (issue 20): built FROM scratch by scripts/lib/image.sh, every tool
# runs in it as user 65532 on a read-only root filesystem; the static binaries parse SQL
# with pg_query, talk TLS with rustls to a loopback server and resolve names from
# /etc/hosts; the image's syft SBOM lists every tool; two builds of one commit give SBOMs
# with no difference; a size budget below the real size fails the build.
cd "$ROOT"
command -v podman >/dev/null || { echo "podman not found; run scripts/setup.sh"; exit 1; }
[ -x .tools/cargo/bin/cargo-auditable ] || { echo "cargo-auditable not found; run scripts/setup.sh --release"; exit 1; }
syft=.tools/venv/bin/syft
[ -x "$syft" ] || { echo "$syft not found; run scripts/setup.sh"; exit 1; }
source scripts/lib/image.sh
# The release's budget (60 MB) is judged by make image and release-self; here the image must
# build whatever its size so the rest can be tested, and the budget is tested at the end.
export MAX_IMAGE_MB=${MAX_IMAGE_MB:-200}
tag=localhost/gatehouse-test:image-a
tag_b=localhost/gatehouse-test:image-b
trap 'gh_podman rmi -f "$tag" "$tag_b" >/dev/null 2>&1 || true' EXIT

bins="$TMP/bin"
gh_build_bins "$bins"
mapfile -t tools < <(gh_tools)
[ "${#tools[@]}" -ge 7 ] || { echo "only ${#tools[@]} tools: ${tools[*]}"; exit 1; }
gh_build_image "$bins" "$tag"

# Static: no interpreter, no libc in the image.
for t in "${tools[@]}"; do
  ldd "$bins/$t" 2>&1 | grep -q 'not a dynamic executable\|statically linked' || { echo "$t is dynamic"; exit 1; }
done

run() { gh_podman run --rm --read-only --network none --user 65532:65532 "$@"; }

# The user is 65532 without asking for it, and there is no shell.
[ "$(gh_podman image inspect --format '{{.Config.User}}' "$tag")" = 65532:65532 ]
if gh_podman run --rm "$tag" sh -c true >/dev/null 2>&1; then echo "the image has a shell"; exit 1; fi

for t in "${tools[@]}"; do
  v=$(run "$tag" "$t" --version)
  [[ "$v" == "$t "* ]] || { echo "$t --version said: $v"; exit 1; }
done

# alert-lint over the examples mounted read-only; its report goes to the one writable mount.
mkdir -p "$TMP/out" && chmod 0777 "$TMP/out"
run -v "$ROOT/examples:/work/examples:ro" -v "$TMP/out:/out" "$tag" \
  alert-lint check examples/release/rules/ --report /out/alert-lint.json --format json >/dev/null
[ "$(jq -r .result "$TMP/out/alert-lint.json")" = ok ]
[ "$(jq -r .data.totals.alerts "$TMP/out/alert-lint.json")" -ge 1 ]

# pg_query (C, linked in statically): migration-gate lints the example migrations.
run -v "$ROOT/examples:/work/examples:ro" "$tag" \
  migration-gate lint examples/release/migrations --format json >"$TMP/lint.json" || true
[ "$(jq -r .result "$TMP/lint.json")" != error ] || { cat "$TMP/lint.json"; exit 1; }
[ "$(jq '[.checks[]] | length' "$TMP/lint.json")" -ge 1 ]

# evidence-pack verify in the image, of a pack the host's build signed over that report.
"$BIN/evidence-pack" keygen --out-dir "$TMP/keys" --format json >/dev/null
mkdir -p "$TMP/pack"
SOURCE_DATE_EPOCH=1795514400 "$BIN/evidence-pack" build --release v0.0.0-test \
  --key "$TMP/keys/gatehouse.key" --reports "$TMP/out/alert-lint.json" -o "$TMP/pack/evidence.zip" \
  --format json >/dev/null
run -v "$TMP/pack:/pack:ro" -v "$TMP/keys:/keys:ro" "$tag" \
  evidence-pack verify /pack/evidence.zip --key /keys/gatehouse.pub --format json >"$TMP/verify.json"
[ "$(jq -r .result "$TMP/verify.json")" = ok ]

# rustls and a loopback connect by name: perf-gate against an openssl TLS server on
# 127.0.0.1, trusting a CA made here, the name resolved from /etc/hosts (no DNS).
port=$((20000 + RANDOM % 20000))
(cd "$TMP" &&
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=test-ca \
    -keyout ca.key -out ca.pem -addext basicConstraints=critical,CA:TRUE 2>/dev/null &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=gatehouse-tls.test \
    -keyout leaf.key -out leaf.csr 2>/dev/null &&
  printf 'subjectAltName=DNS:gatehouse-tls.test\n' >ext &&
  openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext \
    -out leaf.pem 2>/dev/null)
openssl s_server -quiet -www -accept "127.0.0.1:$port" -cert "$TMP/leaf.pem" -key "$TMP/leaf.key" \
  >/dev/null 2>&1 &
srv=$!
trap 'kill $srv 2>/dev/null || true; gh_podman rmi -f "$tag" "$tag_b" >/dev/null 2>&1 || true' EXIT
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
cat >"$TMP/tls.yaml" <<EOF
target: https://gatehouse-tls.test:$port
requests:
  - path: /
    checks: {status: 200}
scenarios:
  a: {executor: per-vu-iterations, vus: 1, iterations: 3}
thresholds:
  checks: ["rate==1"]
EOF
gh_podman run --rm --read-only --network host --user 65532:65532 \
  --add-host "gatehouse-tls.test:127.0.0.1" -v "$TMP:/t:ro" "$tag" \
  perf-gate run /t/tls.yaml --ca-cert /t/ca.pem --format json >"$TMP/tls.json" || true
[ "$(jq -r .result "$TMP/tls.json")" = ok ] || { jq -c '{result, summary, error}' "$TMP/tls.json"; exit 1; }

# The image's SBOM (syft) lists every tool, read from the binaries' audit data.
gh_podman save -q --format oci-archive -o "$TMP/a.tar" "$tag" >/dev/null
"$syft" -q "oci-archive:$TMP/a.tar" -o "cyclonedx-json=$TMP/a.cdx.json"
for t in "${tools[@]}"; do
  jq -e --arg t "$t" 'any(.components[]; .name == $t)' "$TMP/a.cdx.json" >/dev/null \
    || { echo "the image's SBOM does not list $t"; exit 1; }
done
[ "$(jq '[.components[] | select(.type == "library")] | length' "$TMP/a.cdx.json")" -ge 50 ]

# A second build of the same commit: sbom-diff finds nothing.
gh_build_bins "$TMP/bin-b"
gh_build_image "$TMP/bin-b" "$tag_b"
gh_podman save -q --format oci-archive -o "$TMP/b.tar" "$tag_b" >/dev/null
"$syft" -q "oci-archive:$TMP/b.tar" -o "cyclonedx-json=$TMP/b.cdx.json"
"$BIN/sbom-diff" "$TMP/a.cdx.json" "$TMP/b.cdx.json" --budget release/sbom-budget.yaml \
  --format json >"$TMP/diff.json"
jq -e '.result == "ok" and ([.data.counts[]] | add) == .data.counts.unchanged' "$TMP/diff.json" >/dev/null \
  || { jq -c .data.counts "$TMP/diff.json"; exit 1; }

# The size budget: one MB below the real size fails the build and leaves no image.
size=$(gh_podman image inspect --format '{{.Size}}' "$tag")
status=0
MAX_IMAGE_MB=$((size / 1000000)) gh_build_image "$bins" localhost/gatehouse-test:over 2>"$TMP/over.err" || status=$?
[ "$status" = 1 ] || { echo "over budget: exit $status"; cat "$TMP/over.err"; exit 1; }
grep -q "over MAX_IMAGE_MB=$((size / 1000000))" "$TMP/over.err"
if gh_podman image exists localhost/gatehouse-test:over; then echo "an over-budget image was kept"; exit 1; fi
