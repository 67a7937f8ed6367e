//go:build tools

// Package lint pins actionlint, which `make actionlint` builds into .tools/bin to check the
// GitHub workflow under examples/pipelines/ (tests/tools/test_pipeline_recipes.py runs it).
package lint

import _ "github.com/rhysd/actionlint/cmd/actionlint"
