package matrixclient

import (
	"context"
	"errors"

	"github.com/hack-pad/safejs"

	"ringo/internal/jsutil"
)

// doHTTP uses the browser's fetch (see http.go for why not net/http). Cancelling ctx
// aborts the request through an AbortController.
func doHTTP(ctx context.Context, method, url, token string, body []byte, keepalive bool) (response, error) {
	fetch, err := safejs.Global().Get("fetch")
	if err != nil || fetch.Type() != safejs.TypeFunction {
		return response{}, errors.New("fetch is not available")
	}
	headers := map[string]any{}
	if token != "" {
		headers["Authorization"] = "Bearer " + token
	}
	init := map[string]any{"method": method, "headers": headers, "cache": "no-store"}
	if keepalive {
		init["keepalive"] = true
	}
	if body != nil {
		headers["Content-Type"] = "application/json"
		init["body"] = string(body)
	}
	if ctor, err := safejs.Global().Get("AbortController"); err == nil && ctor.Type() == safejs.TypeFunction {
		if ac, err := ctor.New(); err == nil {
			if sig, err := ac.Get("signal"); err == nil {
				init["signal"] = safejs.Unsafe(sig) // js.ValueOf understands js.Value inside maps
				done := make(chan struct{})
				defer close(done)
				go func() {
					select {
					case <-ctx.Done():
						_, _ = ac.Call("abort")
					case <-done:
					}
				}()
			}
		}
	}
	jsInit, err := safejs.ValueOf(init)
	if err != nil {
		return response{}, err
	}
	p, err := fetch.Invoke(url, jsInit)
	if err != nil {
		return response{}, err
	}
	resp, err := jsutil.Await(ctx, p)
	if err != nil {
		return response{}, err
	}
	st, _ := resp.Get("status")
	status, _ := st.Int()
	tp, err := resp.Call("text")
	if err != nil {
		return response{}, err
	}
	text, err := jsutil.Await(ctx, tp)
	if err != nil {
		return response{}, err
	}
	s, _ := text.String()
	return response{status: status, body: []byte(s)}, nil
}
