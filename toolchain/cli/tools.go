//go:build tools

// Package toolchain pins the Pulumi CLI that veza-infra is tested with; scripts/toolchain.sh builds it.
package toolchain

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
