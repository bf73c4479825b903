//go:build tools

// Package tools pins wasmbrowsertest, which runs the js/wasm tests in headless Chromium.
// It lives in its own module because `go install pkg@version` cannot resolve it here.
package tools

import _ "github.com/agnivade/wasmbrowsertest"
