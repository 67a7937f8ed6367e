#!/usr/bin/env bash
# The main job, on the local sandbox, with no account anywhere: start the sandbox, `pulumi up` the
# demo stack (stacks/Pulumi.demo.yaml) with a file backend under .pulumi-state/, list the rooms and
# groups the sandbox now holds, stop the sandbox. Run it through `make demo`, which installs the engine first.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/local-sandbox.sh

pulumi stack select demo --create --non-interactive >/dev/null
# `up` refreshes first (Pulumi.yaml: `refresh: always`): the state and the sandbox's database
# live side by side in .pulumi-state/, and if either was removed `up` converges instead of
# trusting a stale state.
pulumi up --stack demo --yes --non-interactive
echo
echo "Rooms the sandbox now holds:"
.venv/bin/nexudus-pulumi rooms
echo
echo "Groups (CommunityGroup, the rooms' successor) the sandbox now holds:"
.venv/bin/nexudus-pulumi groups
echo
echo "Stack outputs 'rooms' and 'groups' (key -> Nexudus id):"
pulumi stack output rooms --stack demo
pulumi stack output groups --stack demo
