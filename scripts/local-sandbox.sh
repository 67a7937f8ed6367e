# Sourced by scripts/demo.sh and scripts/drift.sh: the local sandbox and the environment a
# pipeline would have, with no account anywhere. Starts `nexudus-pulumi sandbox` on $DEMO_PORT
# (8787) with its database in .pulumi-state/, stops it when the calling script exits, and
# exports the NEXUDUS_* and PULUMI_* variables that point `pulumi` at it and at a file backend.

# As Pulumi's docs have it: the engine on PATH, nothing else; the language host runs the
# program in .venv because Pulumi.yaml says `virtualenv: .venv`.
export PATH="$PWD/.tools/bin:$PATH"
if ! command -v pulumi >/dev/null; then
    echo "$(basename "$0"): no pulumi CLI found; run 'make engine'" >&2
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
export PULUMI_CONFIG_PASSPHRASE="demo-only-passphrase"  # matches encryptionsalt in the demo stack
export PULUMI_SKIP_UPDATE_CHECK=true
