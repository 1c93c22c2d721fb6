#!/usr/bin/env bash
# Build the container image with buildah, tagged localhost/virtprobe:VERSION: the tag
# deploy/kubernetes/base/kustomization.yaml deploys (give another as the argument, and set it
# there too). From the Containerfile where its builder image can be pulled; else (no registry
# reachable, as in CI here) the Containerfile's last stage alone, from the local musl static-pie
# build: the same empty base, binary, user and entrypoint. Works from any folder.
#   deploy/build-image.sh [TAG]
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "build-image.sh: $*" >&2; exit 1; }
command -v buildah >/dev/null 2>&1 || die "buildah is not installed (Debian: apt-get install buildah)"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
tag=${1:-localhost/virtprobe:$version}
b=(buildah --storage-driver "${STORAGE_DRIVER:-vfs}")
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if "${b[@]}" build -f Containerfile -t "$tag" . >"$log" 2>&1; then
  echo "built $tag from the Containerfile"
  exit 0
fi
echo "build-image.sh: the Containerfile did not build ($(tail -n 1 "$log")); building its last stage from a local musl build" >&2
musl="$(uname -m)-unknown-linux-musl"
command -v cargo >/dev/null 2>&1 || die "cargo is not installed (https://rustup.rs)"
if command -v rustup >/dev/null 2>&1; then
  rustup target list --installed | grep -qx "$musl" \
    || die "the Rust target $musl is not installed (rustup target add $musl)"
fi
cargo build --release --quiet --target "$musl"
ctr=$("${b[@]}" from scratch)
trap 'rm -f "$log"; "${b[@]}" rm "$ctr" >/dev/null' EXIT
"${b[@]}" copy "$ctr" "target/$musl/release/virtprobe" /virtprobe >/dev/null
"${b[@]}" config --user 65534:65534 --entrypoint '["/virtprobe"]' \
  --cmd '--host-root=/host serve --interval=5m --status=/var/lib/virtprobe/status.json --nfd=/etc/kubernetes/node-feature-discovery/features.d/virtprobe' \
  "$ctr"
"${b[@]}" commit --quiet "$ctr" "$tag" >/dev/null
echo "built $tag from target/$musl/release/virtprobe"
