//go:build tools

// Package engine pins the Pulumi CLI (engine) that scripts/install-engine.sh builds.
// Build: go build -trimpath github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
package engine

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
	_ "github.com/pulumi/pulumi/sdk/v3/go/common/version"
)
