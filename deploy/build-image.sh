#!/usr/bin/env bash
# Build the container image with buildah: from the Containerfile where its builder image can be
# pulled, else (no registry reachable, as in CI here) the Containerfile's last stage alone, from
# the local musl static-pie build: the same empty base, binary, user and entrypoint.
#   deploy/build-image.sh [TAG]
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-localhost/virtprobe:$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)}
b=(buildah --storage-driver "${STORAGE_DRIVER:-vfs}")
if "${b[@]}" build -f Containerfile -t "$tag" . 2>/dev/null; then
  echo "built $tag from the Containerfile"
  exit 0
fi
musl="$(uname -m)-unknown-linux-musl"
cargo build --release --quiet --target "$musl"
ctr=$("${b[@]}" from scratch)
trap '"${b[@]}" rm "$ctr" >/dev/null' EXIT
"${b[@]}" copy "$ctr" "target/$musl/release/virtprobe" /virtprobe >/dev/null
"${b[@]}" config --user 65534:65534 --entrypoint '["/virtprobe"]' \
  --cmd '--host-root=/host serve --interval=5m --status=/var/lib/virtprobe/status.json --nfd=/etc/kubernetes/node-feature-discovery/features.d/virtprobe' \
  "$ctr"
"${b[@]}" commit --quiet "$ctr" "$tag" >/dev/null
echo "built $tag from target/$musl/release/virtprobe (the Containerfile's builder image could not be pulled)"
