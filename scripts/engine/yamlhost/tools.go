//go:build tools

// Package yamlhost pins the Pulumi YAML language host that scripts/install-engine.sh builds.
// It requires pkg/v3 and sdk/v3 at the engine's version (../go.mod), so the host is built
// against the very engine it runs under, not the older one pulumi-yaml's own go.mod names.
package yamlhost

import _ "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml"
