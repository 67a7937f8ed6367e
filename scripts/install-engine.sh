#!/usr/bin/env bash
# Installs the real Pulumi CLI (engine), the Python language host and the dynamic-provider launcher
# into <repo>/.tools/bin. Idempotent: a second run with everything in place takes well under a second.
#
#   scripts/install-engine.sh            # reuse .tools/bin, else a `pulumi` on PATH of the pinned version, else build
#   scripts/install-engine.sh --rebuild  # always build from the Go module proxy
#
# Then: export PATH="<repo>/.tools/bin:$PATH" is all `pulumi` needs (no virtualenv to activate).
#
# What gets installed (all official Pulumi code, built from the Go module proxy, plus two fronts of ours):
#   bin/pulumi                          github.com/pulumi/pulumi/pkg/v3/cmd/pulumi at the version pinned in
#                                       scripts/engine/go.mod
#   bin/pulumi-language-python          scripts/engine/pythonhost: reads Pulumi.yaml's `virtualenv` option and
#                                       hands it to the real host below (see the note there)
#   libexec/pulumi-language-python      github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python,
#                                       pinned in scripts/engine/langhost/go.mod (see the note there)
#   libexec/pulumi-language-python-exec the host's program shim, from sdk/v3 at the engine's version; the
#                                       host looks for it beside its own executable
#   bin/pulumi-resource-pulumi-python   symlink to scripts/pulumi-resource-pulumi-python (our launcher)
#   bin/pulumi-language-yaml            github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml, pinned in
#                                       scripts/engine/yamlhost/go.mod and built against the engine's pkg/v3
#                                       and sdk/v3: Pulumi YAML programs (examples/yaml) and the YAML code
#                                       `pulumi import` writes
#   bin/pulumi-language-nodejs          github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs,
#                                       pinned in scripts/engine/nodehost/go.mod (see the note there):
#                                       TypeScript programs on the plugin's SDK (examples/typescript)
set -euo pipefail

SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPTS_DIR/.." && pwd)"
ENGINE_MOD="$SCRIPTS_DIR/engine"
LANGHOST_MOD="$ENGINE_MOD/langhost"
YAMLHOST_MOD="$ENGINE_MOD/yamlhost"
NODEHOST_MOD="$ENGINE_MOD/nodehost"
BIN="$ROOT/.tools/bin"
LIBEXEC="$ROOT/.tools/libexec"
FRONT_SRC="$ENGINE_MOD/pythonhost/main.go"

# The one place the versions live: the wrapper modules' go.mod files.
mod_version() { # <go.mod> <module path>
    awk -v m="$2" '$1 == m && $2 ~ /^v/ { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$1"
}
VERSION="$(mod_version "$ENGINE_MOD/go.mod" github.com/pulumi/pulumi/pkg/v3)"
LANGHOST_VERSION="$(mod_version "$LANGHOST_MOD/go.mod" github.com/pulumi/pulumi/sdk/v3)"
YAML_VERSION="$(mod_version "$YAMLHOST_MOD/go.mod" github.com/pulumi/pulumi-yaml)"
NODEHOST_VERSION="$(mod_version "$NODEHOST_MOD/go.mod" github.com/pulumi/pulumi/sdk/v3)"
[ -n "$VERSION" ] && [ -n "$LANGHOST_VERSION" ] && [ -n "$YAML_VERSION" ] && [ -n "$NODEHOST_VERSION" ] || {
    echo "install-engine: cannot read the pinned versions from $ENGINE_MOD/go.mod, $LANGHOST_MOD/go.mod, $YAMLHOST_MOD/go.mod and $NODEHOST_MOD/go.mod" >&2
    exit 1
}

REBUILD=0
case "${1:-}" in
    "") ;;
    --rebuild) REBUILD=1 ;;
    *) echo "usage: $0 [--rebuild]" >&2; exit 2 ;;
esac

export PULUMI_SKIP_UPDATE_CHECK=true

mkdir -p "$BIN"
# The launcher is ours and always (re)linked, so edits to scripts/ take effect at once.
ln -sfn "../../scripts/pulumi-resource-pulumi-python" "$BIN/pulumi-resource-pulumi-python"
chmod +x "$SCRIPTS_DIR/pulumi-resource-pulumi-python"

reports_version() { # <pulumi binary>
    [ -x "$1" ] && [ "$("$1" version 2>/dev/null || true)" = "$VERSION" ]
}
host_built() { # the v3.79 host with its -exec shim beside it
    [ -x "$LIBEXEC/pulumi-language-python" ] && [ -f "$LIBEXEC/pulumi-language-python-exec" ]
}
front_current() { # our front, built from the source as it is now
    [ -x "$BIN/pulumi-language-python" ] && [ ! -L "$BIN/pulumi-language-python" ] &&
        [ "$BIN/pulumi-language-python" -nt "$FRONT_SRC" ]
}
other_host_built() { # <language>: an official install's host (linked), or ours at the pinned
    # version (stamped)
    local host="$BIN/pulumi-language-$1"
    [ -x "$host" ] && { [ -L "$host" ] || [ "$(cat "$BIN/.pulumi-language-$1.version" 2>/dev/null)" = "$2" ]; }
}
linked_official() { # an official host, linked by the branch below: it reads Pulumi.yaml itself
    [ -L "$BIN/pulumi-language-python" ] && [ -x "$BIN/pulumi-language-python" ]
}

need_go() {
    command -v go >/dev/null 2>&1 && return 0
    echo "install-engine: 'go' was not found on PATH. The Pulumi $VERSION engine is built from the Go module" >&2
    echo "proxy; install Go (>= $(awk '$1 == "go" { print $2; exit }' "$ENGINE_MOD/go.mod")) or put an official" >&2
    echo "pulumi $VERSION (with pulumi-language-python beside it) on PATH, then run this again." >&2
    exit 1
}

build() { # <module dir> <-X flag: variable=version> <main package> <output>
    local start=$SECONDS
    echo "install-engine: building $3 (${2#*=}) ..."
    (cd "$1" && go build -mod=readonly -trimpath -ldflags "-s -w -X $2" -o "$4.tmp" "$3")
    mv -f "$4.tmp" "$4"
    echo "install-engine: built $(basename "$4") in $((SECONDS - start)) s"
}
SDK_VERSION_VAR=github.com/pulumi/pulumi/sdk/v3/go/common/version.Version

# The YAML and Node.js hosts stand apart from the Python one: an official install's own (beside
# its pulumi) is linked, else the pinned one is built; either way the Python side is left as it is.
ensure_host() { # <language> <module dir> <version> <-X flag: variable=version> <main package>
    if [ "$REBUILD" = 0 ] && other_host_built "$1" "$3"; then return 0; fi
    local host="$BIN/pulumi-language-$1" sibling
    sibling="$(dirname "$(readlink -f "$BIN/pulumi")")/pulumi-language-$1"
    if [ "$REBUILD" = 0 ] && [ -L "$BIN/pulumi" ] && [ -x "$sibling" ]; then
        ln -sfn "$sibling" "$host"
        echo "install-engine: linked $sibling into $BIN"
        return 0
    fi
    need_go
    rm -f "$host" "$BIN/.pulumi-language-$1.version"
    build "$2" "$4" "$5" "$host"
    echo "$3" >"$BIN/.pulumi-language-$1.version"
}
ensure_yaml() {
    ensure_host yaml "$YAMLHOST_MOD" "$YAML_VERSION" \
        "github.com/pulumi/pulumi-yaml/pkg/version.Version=$YAML_VERSION" \
        github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml
}
ensure_node() {
    ensure_host nodejs "$NODEHOST_MOD" "$NODEHOST_VERSION" "$SDK_VERSION_VAR=$NODEHOST_VERSION" \
        github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs
}

if [ "$REBUILD" = 0 ] && reports_version "$BIN/pulumi" &&
    { linked_official || { host_built && front_current; }; }; then
    ensure_yaml
    ensure_node
    echo "engine ready: $BIN/pulumi $VERSION (YAML host $YAML_VERSION, Node.js host $NODEHOST_VERSION)"
    exit 0
fi

# A user's own Pulumi of exactly the pinned version (official installer, Homebrew): link it, with
# its sibling language host (the official distribution keeps the -exec shim beside the real binary).
if [ "$REBUILD" = 0 ] && ! reports_version "$BIN/pulumi"; then
    existing="$(PATH="$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$BIN" | paste -sd: -)" command -v pulumi || true)"
    real="${existing:+$(readlink -f "$existing")}"
    if [ -n "$real" ] && [ "$(dirname "$real")" != "$(readlink -f "$BIN")" ] && reports_version "$real"; then
        sibling="$(dirname "$real")/pulumi-language-python"
        if [ -x "$sibling" ]; then
            rm -f "$BIN/pulumi" "$BIN/pulumi-language-python" "$BIN/pulumi-language-python-exec"
            ln -s "$real" "$BIN/pulumi"
            # The host finds its -exec shim (if its version uses one) beside its resolved path.
            ln -s "$(readlink -f "$sibling")" "$BIN/pulumi-language-python"
            echo "engine ready: linked $real ($VERSION) and its pulumi-language-python into $BIN"
            ensure_yaml
            ensure_node
            exit 0
        fi
        echo "install-engine: $existing is $VERSION but has no pulumi-language-python beside it; building instead"
    fi
fi

need_go

total_start=$SECONDS
# Links of an earlier official install, and the shim's old place (it now lives beside the host).
[ -L "$BIN/pulumi" ] && rm -f "$BIN/pulumi"
rm -f "$BIN/pulumi-language-python-exec"
[ -L "$BIN/pulumi-language-python" ] && rm -f "$BIN/pulumi-language-python"

if [ "$REBUILD" = 1 ] || ! reports_version "$BIN/pulumi"; then
    build "$ENGINE_MOD" "$SDK_VERSION_VAR=$VERSION" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "$BIN/pulumi"
    reports_version "$BIN/pulumi" || { echo "install-engine: built $BIN/pulumi does not report $VERSION" >&2; exit 1; }
fi

if [ "$REBUILD" = 1 ] || ! host_built; then
    mkdir -p "$LIBEXEC"
    # The host runs programs through this shim, looked up beside its own executable. Take it from
    # the Python SDK's release that matches the engine, so it fits the pulumi package in use.
    sdk_dir="$(cd "$ENGINE_MOD" && go mod download -json "github.com/pulumi/pulumi/sdk/v3@$VERSION" |
        sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')"
    install -m 0755 "$sdk_dir/python/cmd/pulumi-language-python-exec" "$LIBEXEC/pulumi-language-python-exec"
    build "$LANGHOST_MOD" "$SDK_VERSION_VAR=$LANGHOST_VERSION" github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python \
        "$LIBEXEC/pulumi-language-python"
fi

ensure_yaml
ensure_node

# The front goes last: a current front is what the fast path above takes as "installed".
if [ "$REBUILD" = 1 ] || ! front_current; then
    build "$ENGINE_MOD" "$SDK_VERSION_VAR=$VERSION" ./pythonhost "$BIN/pulumi-language-python"
fi

echo "engine ready: $BIN/pulumi $VERSION (language host from sdk $LANGHOST_VERSION); took $((SECONDS - total_start)) s"
