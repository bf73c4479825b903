// Package jsutil holds the small helpers every js-only adapter needs on top of safejs:
// awaiting a promise from Go, turning a thrown JS value into a Go error, and reading
// fields without panicking. It decides nothing.
package jsutil

import (
	"context"
	"errors"
	"fmt"

	"github.com/hack-pad/safejs"
)

// ErrNotAPromise is returned by Await for a value that has no then method.
var ErrNotAPromise = errors.New("jsutil: value is not a promise")

// JSError is a rejection or exception from JavaScript, with the DOMException name
// (e.g. "NotAllowedError") when there is one.
type JSError struct {
	Name    string
	Message string
}

func (e *JSError) Error() string {
	if e.Name == "" {
		return e.Message
	}
	return e.Name + ": " + e.Message
}

// ErrorFrom converts a thrown or rejected JS value to a *JSError.
func ErrorFrom(v safejs.Value) error {
	if v.Type() == safejs.TypeString {
		s, _ := v.String()
		return &JSError{Message: s}
	}
	name := StringField(v, "name")
	msg := StringField(v, "message")
	if msg == "" && name == "" {
		s, err := v.Call("toString")
		if err == nil {
			msg, _ = s.String()
		}
		if msg == "" {
			msg = fmt.Sprintf("JavaScript %s", v.Type())
		}
	}
	return &JSError{Name: name, Message: msg}
}

// Get reads v[field]; a missing object or field reads as undefined instead of failing.
func Get(v safejs.Value, field string) safejs.Value {
	if v.IsUndefined() || v.IsNull() {
		return safejs.Undefined()
	}
	f, err := v.Get(field)
	if err != nil {
		return safejs.Undefined()
	}
	return f
}

// StringField reads v[field] as a string, or "" when it is absent or not a string.
func StringField(v safejs.Value, field string) string {
	if v.IsUndefined() || v.IsNull() {
		return ""
	}
	f, err := v.Get(field)
	if err != nil || f.Type() != safejs.TypeString {
		return ""
	}
	s, _ := f.String()
	return s
}

// Await waits for promise to settle. It must not be called from inside a js.FuncOf
// callback (the callback would block the JS event loop the promise needs): start a
// goroutine there instead. A cancelled ctx stops the wait, not the JS work.
func Await(ctx context.Context, promise safejs.Value) (safejs.Value, error) {
	then, err := promise.Get("then")
	if err != nil || then.Type() != safejs.TypeFunction {
		return safejs.Undefined(), ErrNotAPromise
	}
	type result struct {
		v   safejs.Value
		err error
	}
	done := make(chan result, 1)
	var onOK, onErr safejs.Func
	onOK, err = safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		v := safejs.Undefined()
		if len(args) > 0 {
			v = args[0]
		}
		done <- result{v: v}
		return nil
	})
	if err != nil {
		return safejs.Undefined(), err
	}
	onErr, err = safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		e := error(&JSError{Message: "promise rejected"})
		if len(args) > 0 {
			e = ErrorFrom(args[0])
		}
		done <- result{err: e}
		return nil
	})
	if err != nil {
		onOK.Release()
		return safejs.Undefined(), err
	}
	if _, err := promise.Call("then", onOK, onErr); err != nil {
		onOK.Release()
		onErr.Release()
		return safejs.Undefined(), err
	}
	select {
	case r := <-done:
		onOK.Release()
		onErr.Release()
		return r.v, r.err
	case <-ctx.Done():
		// The callbacks stay alive (the promise may still settle); done is buffered.
		return safejs.Undefined(), ctx.Err()
	}
}
