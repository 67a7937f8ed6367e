//go:build tools

// Package langhost pins the Python language host that scripts/install-engine.sh builds.
package langhost

import _ "github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python"
