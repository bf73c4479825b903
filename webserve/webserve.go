// Package webserve serves the Ringo web app: index.html and the static assets in web/,
// preferring the precompressed .br or .gz beside a file when the browser accepts it.
package webserve

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
)

// Settings are what the page reads from /config.json at start-up.
type Settings struct {
	DefaultHomeserver string `json:"default_homeserver,omitempty"`
}

// Handler serves the app from a file system holding index.html and web/.
type Handler struct {
	files  fs.FS
	config []byte
	mu     sync.Mutex
	etags  map[string]string // path+size+modtime -> strong ETag
}

// NewHandler checks that files holds the app and returns its handler.
func NewHandler(files fs.FS, s Settings) (*Handler, error) {
	if _, err := fs.Stat(files, "index.html"); err != nil {
		return nil, fmt.Errorf("no index.html to serve: %w", err)
	}
	cfg, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	return &Handler{files: files, config: cfg, etags: map[string]string{}}, nil
}

// The page runs Go compiled to WebAssembly, so it needs 'wasm-unsafe-eval'; it talks to
// any homeserver the user names, so connect-src is open; it may be embedded as a widget
// in any Matrix client, so frame-ancestors is open too.
const contentSecurityPolicy = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; " +
	"img-src 'self' data: blob:; media-src 'self' blob: mediastream:; connect-src *; frame-ancestors *; base-uri 'none'; form-action 'none'"

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Content-Security-Policy", contentSecurityPolicy)
	hdr.Set("Permissions-Policy", "camera=(self), microphone=(self), display-capture=(self)")
	p := path.Clean("/" + r.URL.Path)
	switch {
	case p == "/" || p == "/index.html":
		h.serveFile(w, r, "index.html")
	case p == "/config.json":
		hdr.Set("Content-Type", "application/json")
		hdr.Set("Cache-Control", "no-cache")
		_, _ = w.Write(h.config)
	case strings.HasPrefix(p, "/web/"):
		h.serveFile(w, r, strings.TrimPrefix(p, "/"))
	default:
		http.NotFound(w, r)
	}
}

func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, name string) {
	hdr := w.Header()
	ctype := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	case ".wasm":
		ctype = "application/wasm" // needed for WebAssembly.instantiateStreaming
	case ".js":
		ctype = "text/javascript; charset=utf-8"
	case ".html":
		ctype = "text/html; charset=utf-8"
	}
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	hdr.Set("Content-Type", ctype)
	// Revalidate every time; the ETag makes that a cheap 304 when nothing changed.
	hdr.Set("Cache-Control", "no-cache")
	hdr.Add("Vary", "Accept-Encoding")

	served := name
	if !strings.HasSuffix(name, ".br") && !strings.HasSuffix(name, ".gz") {
		for _, enc := range []struct{ token, ext string }{{"br", ".br"}, {"gzip", ".gz"}} {
			if acceptsEncoding(r.Header.Get("Accept-Encoding"), enc.token) {
				if _, err := fs.Stat(h.files, name+enc.ext); err == nil {
					served = name + enc.ext
					hdr.Set("Content-Encoding", enc.token)
					break
				}
			}
		}
	}
	f, err := h.files.Open(served)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			hdr.Del("Content-Type")
			http.NotFound(w, r)
			return
		}
		http.Error(w, "cannot read file", http.StatusInternalServerError)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		hdr.Del("Content-Type")
		http.NotFound(w, r)
		return
	}
	rs, ok := f.(interface {
		Read([]byte) (int, error)
		Seek(int64, int) (int64, error)
	})
	if !ok {
		http.Error(w, "unseekable file", http.StatusInternalServerError)
		return
	}
	if tag, err := h.etag(served, st); err == nil {
		hdr.Set("ETag", tag)
	}
	http.ServeContent(w, r, "", st.ModTime(), rs)
}

// etag is a strong validator from the content hash, cached per size and mtime.
func (h *Handler) etag(name string, st fs.FileInfo) (string, error) {
	key := fmt.Sprintf("%s|%d|%d", name, st.Size(), st.ModTime().UnixNano())
	h.mu.Lock()
	tag, ok := h.etags[key]
	h.mu.Unlock()
	if ok {
		return tag, nil
	}
	b, err := fs.ReadFile(h.files, name)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	tag = `"` + hex.EncodeToString(sum[:12]) + `"`
	h.mu.Lock()
	h.etags[key] = tag
	h.mu.Unlock()
	return tag, nil
}

// acceptsEncoding reports whether an Accept-Encoding header allows token (q > 0).
func acceptsEncoding(header, token string) bool {
	for _, part := range strings.Split(header, ",") {
		fields := strings.Split(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(fields[0]), token) {
			continue
		}
		for _, p := range fields[1:] {
			p = strings.ReplaceAll(strings.TrimSpace(p), " ", "")
			if p == "q=0" || p == "q=0.0" || p == "q=0.00" || p == "q=0.000" {
				return false
			}
		}
		return true
	}
	return false
}
