# A real tool run exports its span over OTLP/HTTP to a collector on a local port: the body
# arrives at /v1/traces as protobuf and carries the trace id from TRACEPARENT.
cd "$ROOT"
port_file="$TMP/port"
python3 - "$TMP" <<'PY' &
import http.server, sys, pathlib
out = pathlib.Path(sys.argv[1])
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        (out / "path").write_text(self.path)
        (out / "ctype").write_text(self.headers["Content-Type"])
        (out / "body").write_bytes(body)
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
s.timeout = 15  # no POST within 15 s: the test fails instead of hanging
(out / "port").write_text(str(s.server_address[1]))
s.handle_request()
PY
server=$!
for _ in $(seq 100); do [ -s "$port_file" ] && break; sleep 0.05; done
[ -s "$port_file" ]

TRACEPARENT=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 \
OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$(cat "$port_file")" \
  "$BIN/alert-lint" check --root . examples/release/rules/ --format json >"$TMP/report.json"
wait "$server"
[ "$(cat "$TMP/path")" = /v1/traces ]
[ "$(cat "$TMP/ctype")" = application/x-protobuf ]
# The 16 raw bytes of the trace id are in the protobuf body.
python3 -c 'import sys; b = open(sys.argv[1], "rb").read(); sys.exit(0 if bytes.fromhex("4bf92f3577b34da6a3ce929d0e0e4736") in b else 1)' "$TMP/body"
[ "$(jq -r .trace_id "$TMP/report.json")" = 4bf92f3577b34da6a3ce929d0e0e4736 ]
