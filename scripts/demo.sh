#!/usr/bin/env bash
# The main job, on the local sandbox, with no account anywhere: start the sandbox, `pulumi up` the
# dev stack (stacks/Pulumi.dev.yaml) with a file backend under .pulumi-state/, list the rooms the
# sandbox now holds, stop the sandbox. Run it through `make demo`, which installs the engine first.
set -euo pipefail
cd "$(dirname "$0")/.."
# As Pulumi's docs have it: the engine on PATH, nothing else; the language host runs the
# program in .venv because Pulumi.yaml says `virtualenv: .venv`.
export PATH="$PWD/.tools/bin:$PATH"
if ! command -v pulumi >/dev/null; then
    echo "demo: no pulumi CLI found; run 'make engine' (or 'make demo', which does it)" >&2
    exit 1
fi

state="$PWD/.pulumi-state"
mkdir -p "$state"
port="${DEMO_PORT:-8787}"
.venv/bin/nexudus-pulumi sandbox --port "$port" --db "$state/sandbox.db" >"$state/sandbox.log" 2>&1 &
sandbox_pid=$!
trap 'kill $sandbox_pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    grep -q "Nexudus sandbox on" "$state/sandbox.log" 2>/dev/null && break
    kill -0 $sandbox_pid 2>/dev/null || { cat "$state/sandbox.log" >&2; exit 1; }
    sleep 0.1
done
sed -n 1,3p "$state/sandbox.log"

# Demo-only credentials and passphrase: the sandbox's printed demo account. A real stack keeps
# its credentials in `pulumi config set --secret nexudus:password ...` or NEXUDUS_* variables.
export NEXUDUS_BASE_URL="http://127.0.0.1:$port"
export NEXUDUS_USERNAME="admin@example.com"
export NEXUDUS_PASSWORD="sandbox-demo-password"
export PULUMI_BACKEND_URL="file://$state"
export PULUMI_CONFIG_PASSPHRASE="demo-only-passphrase"  # matches encryptionsalt in the dev stack
export PULUMI_SKIP_UPDATE_CHECK=true

pulumi stack select dev --create --non-interactive >/dev/null
# --refresh: the state and the sandbox's database live side by side in .pulumi-state/, but if
# either was removed the refresh makes `up` converge instead of trusting a stale state.
pulumi up --stack dev --yes --refresh --non-interactive
echo
echo "Rooms the sandbox now holds:"
.venv/bin/nexudus-pulumi rooms
echo
echo "Stack output 'rooms' (key -> Nexudus id):"
pulumi stack output rooms --stack dev
