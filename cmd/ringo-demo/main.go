//go:build !js && unix

// Command ringo-demo is the README's demo: it starts a real Dendrite and coturn on
// 127.0.0.1, registers two users in a shared private room, serves Ringo, and prints one
// link per user that opens the app signed in with the room selected. Ctrl-C stops
// everything it started.
//
//	go run ./cmd/ringo-demo [-addr 127.0.0.1:8080] [-check]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"ringo/e2e/stack"
	"ringo/webserve"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to serve Ringo on (a free port is used if it is busy)")
	check := flag.Bool("check", false, "start everything, check that it answers, then stop (a smoke test)")
	flag.Parse()
	if err := run(*addr, *check); err != nil {
		fmt.Fprintln(os.Stderr, "ringo-demo:", err)
		os.Exit(1)
	}
}

func run(addr string, check bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root, err := stack.RepoRoot()
	if err != nil {
		return err
	}
	if _, err := os.Stat(root + "/web/ringo.wasm"); err != nil {
		return errors.New("web/ringo.wasm is missing: run ./build.sh first (scripts/demo.sh does)")
	}
	fmt.Println("Starting Dendrite and coturn on 127.0.0.1 …")
	startCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	s, err := stack.Start(startCtx, stack.Options{WithTURN: true})
	cancel()
	if err != nil {
		return fmt.Errorf("starting the homeserver and TURN server: %w", err)
	}
	defer func() {
		_ = s.Stop()
		fmt.Println("Stopped Dendrite and coturn.")
	}()

	setupCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	alice, err := s.Register(setupCtx, "alice", "ALICEDEMO")
	if err != nil {
		return err
	}
	bob, err := s.Register(setupCtx, "bob", "BOBDEMO")
	if err != nil {
		return err
	}
	room, err := s.CreateRoom(setupCtx, alice, bob)
	if err != nil {
		return err
	}
	if err := s.Join(setupCtx, bob, room); err != nil {
		return err
	}

	h, err := webserve.NewHandler(os.DirFS(root), webserve.Settings{DefaultHomeserver: s.HomeserverURL})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		fmt.Printf("%s is busy; serving on %s instead.\n", addr, ln.Addr())
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	base := "http://" + ln.Addr().String()

	link := func(u *stack.User, relay bool) string {
		q := url.Values{"hs": {s.HomeserverURL}, "user": {u.Localpart}, "password": {u.Password}, "roomId": {room}}
		if relay {
			q.Set("relay", "1")
		}
		return base + "/#?" + q.Encode()
	}
	fmt.Printf(`
Ringo demo is running.
  Homeserver:  %s   (Dendrite, server name %s)
  TURN:        %s   (coturn, credentials from the homeserver)
  Room:        %s   (alice and bob are members)

Open each link in its own browser window or profile (each tab keeps its own session):
  alice:  %s
  bob:    %s

Relay-only variants (media through coturn):
  alice:  %s
  bob:    %s

Or sign in by hand at %s/ with user alice or bob, password %s.
Press Ctrl-C to stop (this stops Dendrite and coturn too).
`, s.HomeserverURL, s.ServerName, s.TURNURI, room, link(alice, false), link(bob, false), link(alice, true), link(bob, true), base, alice.Password)

	if check {
		for _, u := range []string{base + "/", base + "/web/ringo.wasm", s.HomeserverURL + "/_matrix/client/versions"} {
			resp, err := http.Get(u)
			if err != nil {
				return fmt.Errorf("check %s: %w", u, err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("check %s: HTTP %d", u, resp.StatusCode)
			}
		}
		fmt.Println("check: the app and the homeserver answer; stopping.")
		return nil
	}
	<-ctx.Done()
	fmt.Println("\nStopping …")
	return nil
}
