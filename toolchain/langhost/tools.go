//go:build tools

// Package langhost pins the Node.js language host. Its own module
// (github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3) is refused by the
// Go module proxy reachable here (403 at every version), so it is built from the last
// github.com/pulumi/pulumi/sdk/v3 release that still carried it inside the SDK module.
package langhost

import (
	_ "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs"
)
