#!/usr/bin/env bash
# Fails when a proto change would break clients built from the previous commit.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(git rev-parse --show-toplevel)
if ! git -C "$top" rev-parse --verify -q HEAD~1 >/dev/null; then
  echo "contracts: no previous commit to compare against"
  exit 0
fi
if ! git -C "$top" cat-file -e HEAD~1:contracts/buf.yaml 2>/dev/null; then
  echo "contracts: previous commit has no buf module"
  exit 0
fi
buf breaking --against "$top/.git#ref=HEAD~1,subdir=contracts"
echo "contracts: no breaking changes against HEAD~1"
