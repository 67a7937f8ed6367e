#!/usr/bin/env bash
# The pipelines' scheduled drift check (examples/pipelines/), run locally against the demo stack
# and the sandbox that `make demo` left in .pulumi-state/: exit code 0 when the sandbox matches
# stacks/Pulumi.demo.yaml, 7 when someone changed a declared field behind Pulumi's back (try
# renaming a room with `curl`, or deleting .pulumi-state/sandbox.db). Run it through `make drift`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/local-sandbox.sh

if ! pulumi stack select demo --non-interactive 2>/dev/null; then
    echo "drift: the demo stack does not exist yet; run 'make demo' first" >&2
    exit 1
fi
set +e
pulumi preview --stack demo --refresh --expect-no-changes --diff --non-interactive
code=$?
set -e
case $code in
    0) echo "drift: none; Nexudus matches the declaration" ;;
    7) echo "drift: Nexudus differs from the declaration (above); 'pulumi up --stack demo' puts it back" >&2 ;;
esac
exit $code
