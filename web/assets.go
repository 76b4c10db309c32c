package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"time"

	"github.com/agenda-gpt/agenda/static"
)

// asset is one embedded static file with its content hash.
type asset struct {
	data    []byte
	version string // the first hex digits of its SHA-256
}

func loadAssets() (map[string]asset, error) {
	assets := make(map[string]asset)
	err := fs.WalkDir(static.FS, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || name == "static.go" {
			return err
		}
		b, err := fs.ReadFile(static.FS, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		assets[name] = asset{data: b, version: hex.EncodeToString(sum[:6])}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: load static files: %w", err)
	}
	return assets, nil
}

// assetURL is the URL pages use for a static file: it carries the content
// hash, so the file can be cached for a year and a new release is fetched
// at once.
func (w *Web) assetURL(name string) (string, error) {
	a, ok := w.assets[name]
	if !ok {
		return "", fmt.Errorf("no static file %q", name)
	}
	return "/static/" + name + "?v=" + a.version, nil
}

// handleStatic serves an embedded file: immutable when asked for by its
// current version, revalidated (ETag) otherwise.
func (w *Web) handleStatic(rw http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	a, ok := w.assets[name]
	if !ok {
		w.render(rw, r, http.StatusNotFound, "notfound.html", w.baseData("Page not found"))
		return
	}
	h := rw.Header()
	if r.URL.Query().Get("v") == a.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	h.Set("ETag", `"`+a.version+`"`)
	http.ServeContent(rw, r, name, time.Time{}, bytes.NewReader(a.data))
}
