//go:build !js && unix

package main

import (
	"os"
	"testing"
)

// The README's demo starts, answers and stops (the -check mode of scripts/demo.sh).
func TestDemoStartsAnswersAndStops(t *testing.T) {
	if testing.Short() || os.Getenv("RINGO_E2E") == "0" {
		t.Skip("starts Dendrite and coturn")
	}
	if err := run("127.0.0.1:0", true); err != nil {
		t.Fatal(err)
	}
}
