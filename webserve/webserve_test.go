package webserve

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"

	"github.com/matryer/is"
)

func testHandler(t *testing.T) *Handler {
	t.Helper()
	files := fstest.MapFS{
		"index.html":         {Data: []byte("<!doctype html><title>Ringo</title>")},
		"web/ringo.wasm":     {Data: []byte("\x00asm raw")},
		"web/ringo.wasm.br":  {Data: []byte("brotli bytes")},
		"web/ringo.wasm.gz":  {Data: []byte("gzip bytes")},
		"web/wasm_exec.js":   {Data: []byte("// go")},
		"web/app.css":        {Data: []byte("body{}")},
		"serve.go":           {Data: []byte("package main // never served")},
		"web/sub/index.html": {Data: []byte("x")},
	}
	h, err := NewHandler(files, Settings{DefaultHomeserver: "http://127.0.0.1:8008"})
	is.New(t).NoErr(err)
	return h
}

func get(h http.Handler, path, acceptEncoding string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestServe(t *testing.T) {
	tests := []struct {
		rule, path, accept    string
		status                int
		ctype, encoding, body string
	}{
		{"the page is served at /", "/", "", 200, "text/html; charset=utf-8", "", "<!doctype html><title>Ringo</title>"},
		{"wasm is served as application/wasm for streaming instantiation", "/web/ringo.wasm", "", 200, "application/wasm", "", "\x00asm raw"},
		{"brotli is preferred when accepted", "/web/ringo.wasm", "gzip, deflate, br", 200, "application/wasm", "br", "brotli bytes"},
		{"gzip is used when brotli is not accepted", "/web/ringo.wasm", "gzip", 200, "application/wasm", "gzip", "gzip bytes"},
		{"an encoding refused with q=0 is not used", "/web/ringo.wasm", "br;q=0, gzip", 200, "application/wasm", "gzip", "gzip bytes"},
		{"files without a precompressed twin are served plain", "/web/wasm_exec.js", "br", 200, "text/javascript; charset=utf-8", "", "// go"},
		{"css gets its type", "/web/app.css", "", 200, "text/css; charset=utf-8", "", "body{}"},
		{"the page's settings come from the flags", "/config.json", "", 200, "application/json", "", `{"default_homeserver":"http://127.0.0.1:8008"}`},
		{"source files outside web/ are never served", "/serve.go", "", 404, "", "", ""},
		{"path traversal stays inside web/", "/web/../serve.go", "", 404, "", "", ""},
		{"missing files are 404", "/web/nope.js", "", 404, "", "", ""},
	}
	h := testHandler(t)
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			is := is.New(t)
			rec := get(h, tc.path, tc.accept)
			is.Equal(rec.Code, tc.status)
			if tc.status != 200 {
				return
			}
			is.Equal(rec.Header().Get("Content-Type"), tc.ctype)
			is.Equal(rec.Header().Get("Content-Encoding"), tc.encoding)
			is.Equal(rec.Body.String(), tc.body)
			is.Equal(rec.Header().Get("X-Content-Type-Options"), "nosniff")
			is.True(rec.Header().Get("Cache-Control") != "")
		})
	}
}

func TestServeRevalidatesWithETag(t *testing.T) {
	is := is.New(t)
	h := testHandler(t)
	first := get(h, "/web/ringo.wasm", "br")
	tag := first.Header().Get("ETag")
	is.True(tag != "")
	is.Equal(first.Header().Get("Vary"), "Accept-Encoding")
	req := httptest.NewRequest(http.MethodGet, "/web/ringo.wasm", nil)
	req.Header.Set("Accept-Encoding", "br")
	req.Header.Set("If-None-Match", tag)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	is.Equal(rec.Code, http.StatusNotModified)
	// The plain and brotli files are different representations with different tags.
	is.True(get(h, "/web/ringo.wasm", "").Header().Get("ETag") != tag)
}

func TestServeRejectsWrites(t *testing.T) {
	is := is.New(t)
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	rec := httptest.NewRecorder()
	testHandler(t).ServeHTTP(rec, req)
	is.Equal(rec.Code, http.StatusMethodNotAllowed)
}

func TestServeNeedsAnIndex(t *testing.T) {
	_, err := NewHandler(fstest.MapFS{}, Settings{})
	is.New(t).True(err != nil)
}

func TestAcceptsEncoding(t *testing.T) {
	is := is.New(t)
	is.True(acceptsEncoding("gzip, br", "br"))
	is.True(acceptsEncoding("BR;q=0.5", "br"))
	is.True(!acceptsEncoding("gzip", "br"))
	is.True(!acceptsEncoding("br; q=0", "br"))
	is.True(!acceptsEncoding("", "gzip"))
}
