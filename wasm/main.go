//go:build js && wasm

// Command wasm is Ringo's browser entry point.
package main

import (
	"github.com/hack-pad/safejs"
)

func main() {
	doc, err := safejs.Global().Get("document")
	if err != nil {
		return
	}
	st, err := doc.Call("getElementById", "boot-status")
	if err == nil && !st.IsNull() {
		_ = st.Set("textContent", "Ringo loaded. The call screens arrive with the browser app.")
	}
	select {}
}
