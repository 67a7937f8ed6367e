#!/usr/bin/env bash
# Installs what generates and checks the plugin's SDKs into <repo>/.tools (run by `make engine`).
# Idempotent: with everything in place a second run takes well under a second.
#
#   bin/nexudus-gensdk   scripts/engine/gensdk: Pulumi's own code generators (pkg/v3/codegen/nodejs
#                        and /go at the engine's version) from the plugin's schema. `pulumi package
#                        gen-sdk` would ask the language hosts, which cannot be built here.
#   node/node_modules    typescript, @types/node and @pulumi/pulumi at the engine's version, from
#                        npm (scripts/sdk/nodejs/package-lock.json): tsc checks the TypeScript SDK
#                        and examples/typescript against them. Skipped, with a note, without npm.
#   the Go module cache  what scripts/sdk/go/go.mod needs to build the Go SDK offline.
set -euo pipefail

SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPTS_DIR/.." && pwd)"
BIN="$ROOT/.tools/bin"
NODE="$ROOT/.tools/node"
GENSDK_MOD="$SCRIPTS_DIR/engine/gensdk"
GENSDK_DOTNET_MOD="$SCRIPTS_DIR/engine/gensdk-dotnet"
NODE_SPEC="$SCRIPTS_DIR/sdk/nodejs"
GO_SPEC="$SCRIPTS_DIR/sdk/go"
mkdir -p "$BIN"

newer_than() { # <file> <sources...>: the file exists and is newer than every source
    local file="$1"
    shift
    [ -e "$file" ] || return 1
    for source in "$@"; do [ "$file" -nt "$source" ] || return 1; done
}

build_generator() { # <name> <module folder>: builds .tools/bin/<name> unless it is up to date
    local name="$1" module="$2"
    if ! newer_than "$BIN/$name" "$module/main.go" "$module/go.mod" "$module/go.sum"; then
        echo "install-sdk-tools: building $name ..."
        (cd "$module" && go build -mod=readonly -trimpath -o "$BIN/$name.tmp" .)
        mv -f "$BIN/$name.tmp" "$BIN/$name"
    fi
}
build_generator nexudus-gensdk "$GENSDK_MOD"
build_generator nexudus-gensdk-dotnet "$GENSDK_DOTNET_MOD"

if ! newer_than "$ROOT/.tools/.go-sdk-deps" "$GO_SPEC/go.mod" "$GO_SPEC/go.sum"; then
    echo "install-sdk-tools: downloading the Go SDK's modules ..."
    (cd "$GO_SPEC" && go mod download)
    touch "$ROOT/.tools/.go-sdk-deps"
fi

if ! command -v npm >/dev/null 2>&1; then
    echo "install-sdk-tools: no npm on PATH: the TypeScript SDK checks need Node.js 20+ and npm"
elif ! newer_than "$NODE/node_modules/.installed" "$NODE_SPEC/package.json" "$NODE_SPEC/package-lock.json"; then
    echo "install-sdk-tools: installing typescript and @pulumi/pulumi into $NODE ..."
    rm -rf "$NODE"
    mkdir -p "$NODE"
    cp "$NODE_SPEC/package.json" "$NODE_SPEC/package-lock.json" "$NODE/"
    (cd "$NODE" && npm ci --no-audit --no-fund --silent)
    touch "$NODE/node_modules/.installed"
fi
echo "sdk tools ready: $BIN/nexudus-gensdk, $BIN/nexudus-gensdk-dotnet, $NODE/node_modules"
