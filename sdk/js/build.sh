#!/usr/bin/env bash
# Builds the WebAssembly module of the wallet crate into sdk/js/pkg, for the SDK and the
# node's patient page (/app/). Needs the wasm32-unknown-unknown target and wasm-bindgen-cli
# at the version the wallet crate pins; installs them when missing (rustup, cargo install).
set -euo pipefail
cd "$(dirname "$0")/../.."
version=$(sed -n 's/^wasm-bindgen = "=\(.*\)"$/\1/p' wallet/Cargo.toml)
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
if [[ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $version" ]]; then
  cargo install wasm-bindgen-cli --version "$version"
fi
# Not the x86-64 flags of .cargo/config.toml: they are for the host only.
cargo build -p zkclaim-wallet --target wasm32-unknown-unknown --profile wasm
wasm-bindgen --target web --out-dir sdk/js/pkg \
  target/wasm32-unknown-unknown/wasm/zkclaim_wallet.wasm
echo "built sdk/js/pkg ($(du -h sdk/js/pkg/zkclaim_wallet_bg.wasm | cut -f1) of WebAssembly)"
