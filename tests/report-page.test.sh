# `--format html` from tools other than evidence-pack, through gatehouse's shared renderer:
# perf-gate against a local HTTP server (the percentile plot, thresholds, per-scenario
# charts) and alert-lint over the bad release's rules (failing checks with file:line:col).
# Each page passes html5lib's strict parser, every SVG is XML with a <title>, there is no
# script, and headless chromium loads it with no console line and no request.
cd "$ROOT"
py=.tools/venv/bin/python
[ -x "$py" ] || { echo "report-page: $py is missing: run scripts/setup.sh (html5lib)" >&2; exit 1; }
command -v chromium >/dev/null || { echo "report-page: chromium is missing: run scripts/setup.sh" >&2; exit 1; }

mkdir -p "$TMP/www" && echo ok >"$TMP/www/index.html"
python3 - "$TMP" <<'PY' &
import functools, http.server, pathlib, sys, threading
out = pathlib.Path(sys.argv[1])
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
h = functools.partial(Quiet, directory=str(out / "www"))
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), h)
(out / "port").write_text(str(s.server_address[1]))
threading.Timer(60, s.shutdown).start()  # never outlives a stuck test
s.serve_forever()
PY
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
[ -s "$TMP/port" ]
cat >"$TMP/s.yaml" <<YAML
target: http://127.0.0.1:$(cat "$TMP/port")
requests:
  - {name: home, path: /, checks: {status: 200}}
scenarios:
  steady: {executor: constant-arrival-rate, rate: 40, timeUnit: 1s, duration: 2s, preAllocatedVUs: 5, maxVUs: 50}
thresholds:
  http_req_duration: ["p(95)<250", "p(99)<500"]
  http_req_failed: ["rate<0.01"]
YAML
"$BIN/perf-gate" run "$TMP/s.yaml" --format html --report "$TMP/perf.json" -q >"$TMP/perf.html"
"$BIN/alert-lint" check --root . examples/bad-release/rules/ --format html >"$TMP/alert.html" || [ $? = 1 ]

cat >"$TMP/check.py" <<'PY'
import re, sys, html5lib, xml.etree.ElementTree as ET
data = open(sys.argv[1], "rb").read()
doc = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(data)
svgs = re.findall(r"<svg\b.*?</svg>", data.decode(), re.S)
for s in svgs:
    t = ET.fromstring(s).find("{http://www.w3.org/2000/svg}title")
    assert t is not None and t.text.strip(), s[:120]
assert not [e for e in doc.iter() if e.tag == "script"]
print(len(svgs))
PY
[ "$("$py" "$TMP/check.py" "$TMP/perf.html")" -ge 3 ]
"$py" "$TMP/check.py" "$TMP/alert.html" >/dev/null
grep -q '<title>Latency by percentile' "$TMP/perf.html"
grep -q 'http_req_duration: p(99)&lt;500' "$TMP/perf.html"
# The page says what the report says.
grep -qF "$(jq -r .summary "$TMP/perf.json")" "$TMP/perf.html"
grep -q 'examples/bad-release/rules/checkout-api.yaml:10:16' "$TMP/alert.html"
grep -q 'paging alert without runbook_url' "$TMP/alert.html"

for page in perf alert; do
  profile=$(mktemp -d)
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --host-resolver-rules="MAP * ~NOTFOUND" --proxy-server=127.0.0.1:9 \
    --enable-logging=stderr --v=0 --user-data-dir="$profile" --log-net-log="$TMP/$page.net.json" \
    --dump-dom "file://$TMP/$page.html" >"$TMP/$page.dom" 2>"$TMP/$page.err"
  rm -rf "$profile"
  if grep ':CONSOLE' "$TMP/$page.err"; then exit 1; fi
  grep -q '<section id="r-' "$TMP/$page.dom"
  # No request whose top frame is the page (Chromium's own background calls are not the page's).
  python3 - "$TMP/$page.net.json" <<'PY'
import json, sys
log = json.load(open(sys.argv[1]))
start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
urls = [e["params"]["url"] for e in log["events"]
        if e["type"] == start and e.get("params", {}).get("network_isolation_key", "").startswith("file://")
        and not e["params"]["url"].startswith(("file:", "data:"))]
assert not urls, urls
PY
done
