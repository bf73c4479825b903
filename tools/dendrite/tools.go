//go:build tools

// Package tools pins Dendrite, the homeserver of the demo and the end-to-end suite, so
// that go.mod/go.sum of this nested module list everything its two commands need. Only
// v0.15.2 resolves through the module proxy here; scripts/install-dendrite.sh builds
// cmd/dendrite and cmd/generate-keys from this module. (The imports are programs, so this
// file is never compiled; it only keeps the requirements in place.)
package tools

import (
	_ "github.com/element-hq/dendrite/cmd/dendrite"
	_ "github.com/element-hq/dendrite/cmd/generate-keys"
)
