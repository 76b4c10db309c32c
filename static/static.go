// Package static holds the browser's files (style sheet, JavaScript modules,
// icon), embedded in the binary. They are plain files: no build step, no
// framework. The web package serves them under /static/.
package static

import "embed"

// FS holds the files at its root, e.g. "app.css": each one listed, so that
// dates.test.js (node's unit tests of dates.js) is not served.
//
//go:embed app.css agenda.js dates.js copy.js icon.svg
var FS embed.FS
