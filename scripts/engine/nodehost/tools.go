//go:build tools

// Package nodehost pins the Node.js language host that scripts/install-engine.sh builds.
// Since sdk v3.69.0 the host lives in its own module,
// github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3, which the module proxy
// available here refuses (403 for every version); v3.68.0 is the last release in which it is a
// package of the sdk/v3 module, so it is built from there. It runs a program through the
// @pulumi/pulumi package the program itself depends on (node_modules), at any later version.
package nodehost

import _ "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs"
