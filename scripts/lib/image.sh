#!/usr/bin/env bash
# Gatehouse's own container image (issue 20): the tools of the workspace, statically linked
# and carrying their dependency list (cargo auditable), assembled FROM scratch with the
# Containerfile at the root of the checkout. `make image` runs this file; tests and
# scripts/release-self.sh source it for the functions below.
#
#   scripts/lib/image.sh                    build the binaries, then localhost/gatehouse:<version> and :dev
#   scripts/lib/image.sh --bin-dir DIR      image from binaries already built (DIR/<tool>)
#   scripts/lib/image.sh --tag NAME ...     other tags (repeatable; replaces the two defaults)
#   MAX_IMAGE_MB=60                         size budget (decimal MB, as `podman images` shows)
#   GH_REV=v0.1.0                           build that commit instead of HEAD
#
# Static, not the shared libraries `ldd` names: glibc 2.36 resolves /etc/hosts and DNS from a
# static binary without loading NSS modules (checked FROM scratch), pg_query's C code and
# ring's assembly link in either way, and a scratch image then holds only our files —
# no loader or libc to patch, audit or keep in step with the build host.
#
# Exit: 0 built; 1 over the size budget (the image is removed again); 2 could not build.

# --- functions (sourced) ---------------------------------------------------------------

GH_ROOT=${GH_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
GH_TRIPLE=x86_64-unknown-linux-gnu
# A target directory of its own: these flags rebuild every crate, and a long release build
# must not hold the lock of target/ that debug builds and tests wait on.
GH_TARGET_DIR=${GH_TARGET_DIR:-$GH_ROOT/target/image}
GH_REPO=${GH_REPO:-localhost/gatehouse}
# Opt-level "s": smaller code than the release profile's 3 (the image is still 64 MB, over
# the 60 MB budget: README, "Gatehouse's own image", has the figures and what shrinks them).
export CARGO_PROFILE_RELEASE_OPT_LEVEL=${CARGO_PROFILE_RELEASE_OPT_LEVEL:-s}

# What is built is the commit, not the working tree: HEAD's files, unpacked here (a
# directory of the target dir, so the remapped paths and the cache stay the same).
GH_SRC=${GH_SRC:-$GH_TARGET_DIR/src}
# The commit to build (a tag or id; default HEAD).
GH_REV=${GH_REV:-HEAD}

gh_podman() { CONTAINERS_CONF="$GH_ROOT/release/containers.conf" podman "$@"; }

# gh_snapshot: HEAD's tree in $GH_SRC. Files whose content did not change keep their old
# time; changed ones get the time of copying (not the commit's, which may be older than the
# last build), so cargo rebuilds exactly the crates a commit touched.
gh_snapshot() {
  local commit tmp f
  commit=$(git -C "$GH_ROOT" rev-parse --verify "$GH_REV^{commit}") || return 2
  [ "$(cat "$GH_SRC/.gatehouse-commit" 2>/dev/null)" = "$commit" ] && return 0
  mkdir -p "$GH_SRC"
  tmp=$(mktemp -d "$GH_TARGET_DIR/src-XXXXXX") || return 2
  git -C "$GH_ROOT" archive --format=tar "$commit" | tar -x -C "$tmp" || { rm -rf "$tmp"; return 2; }
  # Drop what HEAD no longer has, then copy over what is new or changed.
  (cd "$GH_SRC" && find . -type f ! -name .gatehouse-commit) | while read -r f; do
    [ -e "$tmp/$f" ] || rm -f "$GH_SRC/$f"
  done
  (cd "$tmp" && find . -type f) | while read -r f; do
    if ! cmp -s "$tmp/$f" "$GH_SRC/$f"; then
      mkdir -p "$(dirname "$GH_SRC/$f")" && cp "$tmp/$f" "$GH_SRC/$f"
    fi
  done
  rm -rf "$tmp"
  echo "$commit" >"$GH_SRC/.gatehouse-commit"
}

# The tools: workspace members under tools/ with a binary target (derived, not listed).
gh_tools() {
  gh_snapshot || return 2
  (cd "$GH_SRC" && cargo metadata --format-version 1 --no-deps --offline 2>/dev/null) |
    jq -r --arg root "$GH_SRC/tools/" '.packages[]
      | select(.manifest_path | startswith($root))
      | select(any(.targets[]; .kind | index("bin")))
      | .targets[] | select(.kind | index("bin")) | .name' | sort
}

gh_version() {
  gh_snapshot || return 2
  (cd "$GH_SRC" && cargo metadata --format-version 1 --no-deps --offline 2>/dev/null) |
    jq -r --arg root "$GH_SRC/tools/evidence-pack/" \
      '.packages[] | select(.manifest_path | startswith($root)) | .version'
}

gh_need() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || {
      echo "image: $c is missing: run scripts/setup.sh --release" >&2
      return 2
    }
  done
}

# The flags of the static build; the checkout (and so $GH_SRC and every OUT_DIR inside it)
# and cargo's home are remapped, so the binaries name no directory of this machine.
gh_rustflags() {
  echo "-C target-feature=+crt-static --remap-path-prefix=$GH_ROOT=. --remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo"
}

# gh_build_bins OUTDIR: the static, auditable release binaries of every tool, copied to
# OUTDIR. cargo-auditable comes from scripts/setup.sh --release (.tools/cargo/bin).
gh_build_bins() {
  local out=$1 pk=() t
  export PATH="$GH_ROOT/.tools/cargo/bin:$PATH"
  command -v cargo-auditable >/dev/null 2>&1 || {
    echo "image: cargo-auditable is missing: run scripts/setup.sh --release" >&2
    return 2
  }
  mapfile -t GH_TOOLS < <(gh_tools)
  [ ${#GH_TOOLS[@]} -gt 0 ] || { echo "image: no tools found in the workspace" >&2; return 2; }
  for t in "${GH_TOOLS[@]}"; do pk+=(--bin "$t"); done
  # SOURCE_DATE_EPOCH is cleared for cargo: ring's and pg_query's build scripts rerun when
  # it changes (every commit, as release-self sets it), rebuilding half the tree, and the
  # binaries do not depend on it (no build time is embedded; ar archives are deterministic).
  (cd "$GH_SRC" && env -u SOURCE_DATE_EPOCH CARGO_TARGET_DIR="$GH_TARGET_DIR" RUSTFLAGS="$(gh_rustflags)" \
    cargo auditable build --release --locked --quiet --target "$GH_TRIPLE" "${pk[@]}") || return 2
  mkdir -p "$out"
  for t in "${GH_TOOLS[@]}"; do
    cp "$GH_TARGET_DIR/$GH_TRIPLE/release/$t" "$out/$t"
  done
}

# gh_rootfs BINDIR DIR: the image's whole filesystem. Binaries in /usr/local/bin, a passwd
# entry for the numeric user, the CA bundle, an nsswitch.conf for static glibc, and /tmp
# (dr-drill's restores write logs there; with --read-only podman mounts a tmpfs on it).
gh_rootfs() {
  local bin=$1 dir=$2 f
  rm -rf "$dir"
  mkdir -p "$dir/usr/local/bin" "$dir/etc/ssl/certs" "$dir/tmp" "$dir/work"
  chmod 1777 "$dir/tmp"
  for f in "$bin"/*; do
    [ -x "$f" ] && [ -f "$f" ] || continue
    if ! ldd "$f" 2>&1 | grep -q 'not a dynamic executable\|statically linked'; then
      echo "image: $f is not statically linked; build it with scripts/lib/image.sh" >&2
      return 2
    fi
    install -m 0755 "$f" "$dir/usr/local/bin/"
  done
  [ -f /etc/ssl/certs/ca-certificates.crt ] || {
    echo "image: /etc/ssl/certs/ca-certificates.crt is missing (Debian package ca-certificates)" >&2
    return 2
  }
  install -m 0644 /etc/ssl/certs/ca-certificates.crt "$dir/etc/ssl/certs/"
  printf 'root:x:0:0:root:/:/nonexistent\ngatehouse:x:65532:65532:gatehouse:/work:/nonexistent\n' >"$dir/etc/passwd"
  printf 'root:x:0:\ngatehouse:x:65532:\n' >"$dir/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$dir/etc/nsswitch.conf"
  chmod 0644 "$dir/etc/passwd" "$dir/etc/group" "$dir/etc/nsswitch.conf"
}

# gh_build_image BINDIR TAG...: builds the image, checks MAX_IMAGE_MB, prints its ID.
gh_build_image() {
  local bin=$1
  shift
  local ctx commit epoch size max=${MAX_IMAGE_MB:-60} tags=() t
  gh_need podman || return 2
  ctx=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-image-XXXXXX")
  gh_rootfs "$bin" "$ctx/rootfs" || { rm -rf "$ctx"; return 2; }
  gh_snapshot || return 2
  cp "$GH_SRC/Containerfile" "$ctx/Containerfile"
  commit=$(cat "$GH_SRC/.gatehouse-commit")
  epoch=${SOURCE_DATE_EPOCH:-$(git -C "$GH_ROOT" log -1 --format=%ct "$commit" 2>/dev/null || echo 0)}
  for t in "$@"; do tags+=(--tag "$t"); done
  # --timestamp: the layer's file times and the image's created time come from the commit,
  # so the same binaries give the same image digest.
  if ! gh_podman build --quiet --timestamp "$epoch" "${tags[@]}" \
    --label org.opencontainers.image.revision="$commit" \
    --label org.opencontainers.image.version="$(gh_version)" \
    --label org.opencontainers.image.source=https://github.com/gatehouse-dev/gatehouse \
    --label org.opencontainers.image.licenses=Apache-2.0 \
    -f "$ctx/Containerfile" "$ctx" >"$ctx/id" 2>"$ctx/err"; then
    echo "image: podman build failed:" >&2
    sed 's/^/  /' "$ctx/err" >&2
    rm -rf "$ctx"
    return 2
  fi
  rm -rf "$ctx"
  size=$(gh_podman image inspect --format '{{.Size}}' "$1")
  if [ "$size" -gt $((max * 1000 * 1000)) ]; then
    echo "image: $1 is $(awk -v s="$size" 'BEGIN{printf "%.1f", s/1e6}') MB, over MAX_IMAGE_MB=$max MB; it is removed (README: Gatehouse's own image says what shrinks it)" >&2
    for t in "$@"; do gh_podman rmi "$t" >/dev/null 2>&1 || true; done
    return 1
  fi
  echo "image: $* ($(awk -v s="$size" 'BEGIN{printf "%.1f", s/1e6}') MB of MAX_IMAGE_MB=$max)" >&2
}

# The digest `podman image inspect` reports (sha256:...), the one provenance names.
gh_image_digest() { gh_podman image inspect --format '{{.Digest}}' "$1"; }

# --- command line ----------------------------------------------------------------------

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  bin_dir="" tags=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --bin-dir) bin_dir=$2; shift 2 ;;
      --tag) tags+=("$2"); shift 2 ;;
      -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
      *) echo "image: unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
  done
  if [ -z "$bin_dir" ]; then
    bin_dir="$GH_TARGET_DIR/bin"
    rm -rf "$bin_dir"
    gh_build_bins "$bin_dir" || exit 2
  fi
  [ ${#tags[@]} -gt 0 ] || tags=("$GH_REPO:$(gh_version)" "$GH_REPO:dev")
  rc=0
  gh_build_image "$bin_dir" "${tags[@]}" || rc=$?
  [ "$rc" = 0 ] && echo "${tags[0]} $(gh_image_digest "${tags[0]}")"
  exit "$rc"
fi
