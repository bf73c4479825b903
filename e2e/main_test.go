//go:build !js

// Package e2e is Ringo's end-to-end suite: real Dendrite and coturn on 127.0.0.1 (started
// once for the package), Ringo's own code on top, and headless Chromium for the browser
// scenarios. RINGO_E2E=0 or -short skips it.
package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"ringo/e2e/stack"
)

var hs *stack.Stack

func TestMain(m *testing.M) {
	flag.Parse()
	if os.Getenv("RINGO_E2E") == "0" || testing.Short() {
		fmt.Println("e2e: skipped (RINGO_E2E=0 or -short)")
		os.Exit(0)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	s, err := stack.Start(ctx, stack.Options{WithTURN: true, Logf: func(f string, a ...any) { fmt.Printf("stack: "+f+"\n", a...) }})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: could not start Dendrite and coturn:", err)
		os.Exit(1)
	}
	hs = s
	code := m.Run()
	if code != 0 {
		fmt.Println(s.LogTail(40))
	}
	_ = s.Stop()
	os.Exit(code)
}

// waitFor polls cond every 20 ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", d, what)
}

var userSeq int

// uniqueName gives a localpart no other test in this run uses.
func uniqueName(base string) string {
	userSeq++
	return fmt.Sprintf("%s%d%d", base, time.Now().UnixNano()%100000, userSeq)
}
