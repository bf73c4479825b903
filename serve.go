//go:build !js

// Command ringo serves the Ringo web app (see package webserve).
//
//	go run . -addr 127.0.0.1:8080 -homeserver http://127.0.0.1:8008
package main

import (
	"flag"
	"log"
	"net/http"
	"os"
	"time"

	"ringo/webserve"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	hs := flag.String("homeserver", "", "homeserver URL the login form suggests (e.g. http://127.0.0.1:8008)")
	root := flag.String("root", ".", "directory holding index.html and web/")
	flag.Parse()
	h, err := webserve.NewHandler(os.DirFS(*root), webserve.Settings{DefaultHomeserver: *hs})
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("ringo: serving %s on http://%s/", *root, *addr)
	log.Fatal(srv.ListenAndServe())
}
