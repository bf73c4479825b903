package ui

import (
	"github.com/hack-pad/safejs"

	"ringo/internal/jsutil"
)

func get(v safejs.Value, field string) safejs.Value { return jsutil.Get(v, field) }

func pick(cond bool, yes, no string) string {
	if cond {
		return yes
	}
	return no
}

func sameRooms(a, b []RoomOption) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (d *DOM) value(name string) string {
	s, _ := get(d.el[name], "value").String()
	return s
}

func (d *DOM) show(name string, on bool) {
	if v, ok := d.el[name]; ok {
		_ = v.Set("hidden", !on)
	}
}

func (d *DOM) setText(name, text string) {
	if v, ok := d.el[name]; ok {
		if cur, _ := get(v, "textContent").String(); cur != text {
			_ = v.Set("textContent", text) // text, never HTML
		}
	}
}

func (d *DOM) setAttr(name, attr, val string) {
	if v, ok := d.el[name]; ok {
		if val == "" {
			_, _ = v.Call("removeAttribute", attr)
			return
		}
		_, _ = v.Call("setAttribute", attr, val)
	}
}

func (d *DOM) setDisabled(name string, off bool) {
	if v, ok := d.el[name]; ok {
		_ = v.Set("disabled", off)
	}
}

// Release frees the event handlers (the page is going away).
func (d *DOM) Release() {
	for _, f := range d.funcs {
		f.Release()
	}
	d.funcs = nil
}

// builder creates elements, remembering the first error.
type builder struct {
	d   *DOM
	err error
}

// add appends a new element; a non-empty testID becomes data-testid and its key in d.el.
func (b *builder) add(parent safejs.Value, tag, testID string, attrs map[string]string) safejs.Value {
	if b.err != nil {
		return safejs.Undefined()
	}
	e, err := b.d.doc.Call("createElement", tag)
	if err != nil {
		b.err = err
		return safejs.Undefined()
	}
	if testID != "" {
		_, _ = e.Call("setAttribute", "data-testid", testID)
		b.d.el[testID] = e
	}
	for k, v := range attrs {
		_, _ = e.Call("setAttribute", k, v)
	}
	if _, err := parent.Call("appendChild", e); err != nil {
		b.err = err
	}
	return e
}

func (b *builder) text(e safejs.Value, s string) { _ = e.Set("textContent", s) }

func (b *builder) textAppend(e safejs.Value, s string) {
	t, err := b.d.doc.Call("createTextNode", s)
	if err == nil {
		_, _ = e.Call("appendChild", t)
	}
}

// field adds a labelled input.
func (b *builder) field(form safejs.Value, label, testID, typ, autocomplete string) safejs.Value {
	wrap := b.add(form, "label", "", nil)
	b.text(wrap, label+" ")
	in := b.add(wrap, "input", testID, map[string]string{"type": typ, "name": testID, "autocomplete": autocomplete, "required": ""})
	return in
}

// button adds a real button; click runs f (which must not block).
func (b *builder) button(parent safejs.Value, testID, label string, f func()) safejs.Value {
	btn := b.add(parent, "button", testID, map[string]string{"type": "button"})
	b.text(btn, label)
	if f != nil {
		b.on(btn, "click", func(safejs.Value) { f() })
	}
	return btn
}

func (b *builder) on(target safejs.Value, event string, h func(ev safejs.Value)) {
	if b.err != nil {
		return
	}
	fn, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		defer func() { _ = recover() }() // never let a handler panic cross into JS
		ev := safejs.Undefined()
		if len(args) > 0 {
			ev = args[0]
		}
		h(ev)
		return nil
	})
	if err != nil {
		b.err = err
		return
	}
	b.d.funcs = append(b.d.funcs, fn)
	if _, err := target.Call("addEventListener", event, fn); err != nil {
		b.err = err
	}
}
