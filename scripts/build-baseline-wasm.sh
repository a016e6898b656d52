#!/bin/bash
# Builds another commit's engine (the relaxed-SIMD build, as the CLI runs it) for
# `rssplane bench flows --baseline-wasm`: the old engine and this one measured in one process,
# rounds interleaved. Uses this checkout's node_modules (AssemblyScript); touches nothing here.
#
#   scripts/build-baseline-wasm.sh COMMIT OUT.wasm
#   scripts/build-baseline-wasm.sh 1d63fa0 /tmp/main-1d63fa0.wasm
set -euo pipefail
commit=${1:?usage: build-baseline-wasm.sh COMMIT OUT.wasm}
out=${2:?usage: build-baseline-wasm.sh COMMIT OUT.wasm}
here=$(cd "$(dirname "$0")/.." && pwd)
git -C "$here" rev-parse --verify -q "$commit^{commit}" >/dev/null || { echo "build-baseline-wasm: no commit \"$commit\"" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git -C "$here" archive "$commit" | tar -x -C "$tmp"
ln -s "$here/node_modules" "$tmp/node_modules"
(cd "$tmp" && npx asc assembly/index.ts --target relaxed -o "$tmp/engine.wasm" 2>&1 | grep -v 'converge' >&2 || true)
[ -s "$tmp/engine.wasm" ] || { echo "build-baseline-wasm: $commit did not build" >&2; exit 1; }
cp "$tmp/engine.wasm" "$out"
echo "wrote $out: the engine of $(git -C "$here" rev-parse --short "$commit")"
