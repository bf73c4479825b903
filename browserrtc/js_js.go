package browserrtc

import (
	"errors"
	"syscall/js"

	"github.com/hack-pad/safejs"

	"ringo/internal/jsutil"
)

// thrown turns an exception caught by safejs into a *jsutil.JSError that carries the
// DOMException name; other errors pass through unchanged.
func thrown(err error) error {
	if err == nil {
		return nil
	}
	var je js.Error
	if errors.As(err, &je) {
		return jsutil.ErrorFrom(safejs.Safe(je.Value))
	}
	return err
}

// call invokes v.method(args...) and reports a thrown exception as a *jsutil.JSError.
func call(v safejs.Value, method string, args ...any) (safejs.Value, error) {
	r, err := v.Call(method, args...)
	return r, thrown(err)
}

// get reads v[field]; a missing object reads as undefined instead of failing.
func get(v safejs.Value, field string) safejs.Value { return jsutil.Get(v, field) }

// absent reports whether v is undefined or null.
func absent(v safejs.Value) bool { return v.IsUndefined() || v.IsNull() }

// optString reads v[field] as a string, or nil when it is absent or not a string.
func optString(v safejs.Value, field string) *string {
	f := get(v, field)
	if f.Type() != safejs.TypeString {
		return nil
	}
	s, err := f.String()
	if err != nil {
		return nil
	}
	return &s
}

// optUint16 reads v[field] as a uint16, or nil when it is absent or not a number.
func optUint16(v safejs.Value, field string) *uint16 {
	f := get(v, field)
	if f.Type() != safejs.TypeNumber {
		return nil
	}
	n, err := f.Int()
	if err != nil || n < 0 || n > 0xffff {
		return nil
	}
	u := uint16(n)
	return &u
}

// fraction reads v[field] as a number in [0, 1], 0 when absent.
func fraction(v safejs.Value, field string) float64 {
	f := get(v, field)
	if f.Type() != safejs.TypeNumber {
		return 0
	}
	n, err := f.Float()
	if err != nil || n < 0 || n != n {
		return 0
	}
	return min(n, 1)
}

// number reads v[field] as a non-negative integer, 0 when absent.
func number(v safejs.Value, field string) uint64 {
	f := get(v, field)
	if f.Type() != safejs.TypeNumber {
		return 0
	}
	n, err := f.Float()
	if err != nil || n < 0 {
		return 0
	}
	return uint64(n)
}

// boolean reads v[field] as a boolean, false when absent.
func boolean(v safejs.Value, field string) bool {
	f := get(v, field)
	if f.Type() != safejs.TypeBoolean {
		return false
	}
	b, _ := f.Bool()
	return b
}

// items returns the elements of a JS array (or any array-like), nil when it is none.
func items(v safejs.Value) []safejs.Value {
	if absent(v) {
		return nil
	}
	n, err := v.Length()
	if err != nil {
		return nil
	}
	out := make([]safejs.Value, 0, n)
	for i := 0; i < n; i++ {
		e, err := v.Index(i)
		if err != nil {
			return out
		}
		out = append(out, e)
	}
	return out
}

// callItems calls v.method() and returns the elements of the array it gives.
func callItems(v safejs.Value, method string) []safejs.Value {
	if absent(v) {
		return nil
	}
	r, err := call(v, method)
	if err != nil {
		return nil
	}
	return items(r)
}

// listener is an event listener added to a JS object, kept so it can be removed and
// released.
type listener struct {
	target safejs.Value
	event  string
	fn     safejs.Func
}

// listen adds h as a listener for event on target. h runs inside the JS callback: it
// must only read the event and must not block.
func listen(target safejs.Value, event string, h func(ev safejs.Value)) (listener, error) {
	fn, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		defer recoverToConsole(event)
		ev := safejs.Undefined()
		if len(args) > 0 {
			ev = args[0]
		}
		h(ev)
		return nil
	})
	if err != nil {
		return listener{}, err
	}
	if _, err := call(target, "addEventListener", event, fn); err != nil {
		fn.Release()
		return listener{}, err
	}
	return listener{target: target, event: event, fn: fn}, nil
}

// remove takes the listener off its target and releases its function.
func (l listener) remove() {
	_, _ = l.target.Call("removeEventListener", l.event, l.fn)
	l.fn.Release()
}

// recoverToConsole stops a Go panic from crossing into JavaScript (which would end the
// program) and reports it on the console instead.
func recoverToConsole(where string) {
	r := recover()
	if r == nil {
		return
	}
	console, err := safejs.Global().Get("console")
	if err != nil {
		return
	}
	_, _ = console.Call("error", "browserrtc: panic in "+where+" listener", panicText(r))
}

func panicText(r any) string {
	switch v := r.(type) {
	case error:
		return v.Error()
	case string:
		return v
	default:
		return "unknown panic"
	}
}
