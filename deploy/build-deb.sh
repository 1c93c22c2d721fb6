#!/usr/bin/env bash
# Build the Debian package: the release binary, a man page per command (generated from the clap
# definitions), the shell completions, then `cargo deb` (cargo install cargo-deb). Prints the
# package's absolute path, so `sudo dpkg -i "$(path/to/deploy/build-deb.sh)"` works from any folder.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cargo-deb >/dev/null 2>&1; then
  echo "build-deb.sh: cargo-deb is not installed (cargo install cargo-deb)" >&2
  exit 1
fi
cargo build --release --quiet
bin=target/release/virtprobe
rm -rf target/assets
mkdir -p target/assets/man
for page in $("$bin" manpage --list); do
  "$bin" manpage "$page" > "target/assets/man/$page.1"
done
"$bin" completions bash > target/assets/virtprobe.bash
"$bin" completions zsh > target/assets/_virtprobe
"$bin" completions fish > target/assets/virtprobe.fish
rm -f target/debian/*.deb
cargo deb --no-build --quiet >/dev/null
ls "$PWD"/target/debian/*.deb
