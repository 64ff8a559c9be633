//go:build tools

// Package tools pins the command-line tools the repository builds from source,
// so their versions live in go.mod beside the SDK versions they must match.
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
