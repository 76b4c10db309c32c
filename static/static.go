// Package static holds the browser's files (style sheet, JavaScript modules,
// icon), embedded in the binary. They are plain files: no build step, no
// framework. The web package serves them under /static/.
package static

import "embed"

// FS holds the files at its root, e.g. "app.css".
//
//go:embed *.css *.js *.svg
var FS embed.FS
