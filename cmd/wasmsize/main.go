//go:build !js

// Command wasmsize reports which Go packages take the space in a WebAssembly binary
// built without -s: it reads the code section's function bodies and the name section's
// function names and sums body sizes per package (go tool nm cannot read wasm).
//
//	wasmsize [-n 15] file.wasm
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
)

func main() {
	n := flag.Int("n", 15, "packages to list")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: wasmsize [-n 15] file.wasm")
		os.Exit(2)
	}
	data, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sizes, total, err := perPackage(data)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wasmsize:", err)
		os.Exit(1)
	}
	type kv struct {
		pkg  string
		size int
	}
	var list []kv
	for k, v := range sizes {
		list = append(list, kv{k, v})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].size > list[j].size })
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	fmt.Fprintf(w, "%10s  %5s  %s\n", "code bytes", "share", "package")
	for i, e := range list {
		if i == *n {
			break
		}
		fmt.Fprintf(w, "%10d  %4.1f%%  %s\n", e.size, 100*float64(e.size)/float64(total), e.pkg)
	}
}

func uvarint(b []byte, i *int) (uint64, error) {
	v, n := binary.Uvarint(b[*i:])
	if n <= 0 {
		return 0, errors.New("bad LEB128")
	}
	*i += n
	return v, nil
}

// perPackage maps package path to the bytes of its function bodies.
func perPackage(b []byte) (map[string]int, int, error) {
	if len(b) < 8 || string(b[:4]) != "\x00asm" {
		return nil, 0, errors.New("not a wasm file")
	}
	i := 8
	var imported int
	var bodies []int
	names := map[int]string{}
	for i < len(b) {
		id := b[i]
		i++
		size, err := uvarint(b, &i)
		if err != nil {
			return nil, 0, err
		}
		end := i + int(size)
		switch id {
		case 2: // imports: count imported functions (they shift function indices)
			j := i
			cnt, _ := uvarint(b, &j)
			for k := uint64(0); k < cnt; k++ {
				for f := 0; f < 2; f++ {
					l, _ := uvarint(b, &j)
					j += int(l)
				}
				kind := b[j]
				j++
				switch kind {
				case 0:
					imported++
					_, _ = uvarint(b, &j)
				case 1:
					j++
					flags, _ := uvarint(b, &j)
					_, _ = uvarint(b, &j)
					if flags&1 != 0 {
						_, _ = uvarint(b, &j)
					}
				case 2:
					flags, _ := uvarint(b, &j)
					_, _ = uvarint(b, &j)
					if flags&1 != 0 {
						_, _ = uvarint(b, &j)
					}
				case 3:
					j += 2
				}
			}
		case 10: // code
			j := i
			cnt, _ := uvarint(b, &j)
			for k := uint64(0); k < cnt; k++ {
				l, _ := uvarint(b, &j)
				bodies = append(bodies, int(l))
				j += int(l)
			}
		case 0: // custom: look for "name"
			j := i
			l, _ := uvarint(b, &j)
			if string(b[j:j+int(l)]) == "name" {
				j += int(l)
				for j < end {
					sub := b[j]
					j++
					sl, _ := uvarint(b, &j)
					send := j + int(sl)
					if sub == 1 {
						cnt, _ := uvarint(b, &j)
						for k := uint64(0); k < cnt; k++ {
							idx, _ := uvarint(b, &j)
							nl, _ := uvarint(b, &j)
							names[int(idx)] = string(b[j : j+int(nl)])
							j += int(nl)
						}
					}
					j = send
				}
			}
		}
		i = end
	}
	if len(names) == 0 {
		return nil, 0, errors.New("no name section (build without -ldflags=-s)")
	}
	out := map[string]int{}
	total := 0
	for k, size := range bodies {
		total += size
		out[pkgOf(names[imported+k])] += size
	}
	return out, total, nil
}

// domainPrefix matches a module path's domain as the wasm name section writes it
// ("github.com_pion_webrtc_v3.func" for github.com/pion/webrtc/v3.func).
var domainPrefix = regexp.MustCompile(`^[a-z0-9-]+(\.[a-z0-9-]+)+_`)

// pkgOf turns a name-section symbol into a package path ("/" is written as "_" there,
// so a package's own underscores come back as slashes too).
func pkgOf(sym string) string {
	if sym == "" {
		return "(unnamed)"
	}
	start := 0
	if m := domainPrefix.FindStringIndex(sym); m != nil {
		start = m[1]
	}
	dot := strings.Index(sym[start:], ".")
	if dot < 0 {
		return sym
	}
	return strings.ReplaceAll(sym[:start+dot], "_", "/")
}
