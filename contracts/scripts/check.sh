#!/usr/bin/env bash
# Contract checks: proto lint, generated code in sync, OpenAPI documents linted.
# `buf breaking` needs git history and runs in .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

buf lint

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
buf generate -o "$tmp"
if ! diff -r "$tmp/gen" gen >/dev/null; then
  diff -r "$tmp/gen" gen | head -40 >&2
  echo "contracts/gen is out of date: run 'npm run contracts:generate' and commit the result" >&2
  exit 1
fi

if compgen -G 'openapi/*.json' >/dev/null; then
  redocly lint --config redocly.yaml openapi/*.json
fi
echo "contracts: ok"
