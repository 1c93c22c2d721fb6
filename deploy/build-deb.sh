#!/usr/bin/env bash
# Build the Debian package: the release binary, the man page and the shell completions (generated
# from the clap definitions), then `cargo deb` (cargo install cargo-deb). Prints the package's path.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/virtprobe
mkdir -p target/assets
"$bin" manpage > target/assets/virtprobe.1
"$bin" completions bash > target/assets/virtprobe.bash
"$bin" completions zsh > target/assets/_virtprobe
"$bin" completions fish > target/assets/virtprobe.fish
rm -f target/debian/*.deb
cargo deb --no-build --quiet >/dev/null
ls target/debian/*.deb
