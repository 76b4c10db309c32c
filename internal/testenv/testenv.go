// Package testenv is for tests that need something Go does not bring (a
// Chromium, a PostgreSQL server). Without it they skip locally and fail in
// CI, and a skipped group says so on the terminal, once per test binary.
package testenv

import (
	"fmt"
	"io"
	"os"
	"sync"
	"testing"
)

var told sync.Map // group → struct{}: the notice is printed once

// Missing ends a test that cannot run because what group needs is missing
// (err says what and why): it fails under CI=true, which must run
// everything, and otherwise skips, printing one line that names what to
// install.
func Missing(t testing.TB, group, install string, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and %s cannot run: %v (install: %s)", group, err, install)
	}
	if _, done := told.LoadOrStore(group, struct{}{}); !done {
		w := terminal()
		fmt.Fprintf(w, "SKIP %s: %v; to run them, install %s\n", group, err, install)
		if c, ok := w.(io.Closer); ok && w != os.Stderr {
			c.Close()
		}
	}
	t.Skipf("%s: %v", group, err)
}

// terminal is where the person who ran `go test ./...` will read the
// notice. go test prints nothing of a passing package but its "ok" line, so
// the notice goes to the go command's own standard error (Linux), else to
// the controlling terminal, else to ours (shown with -v).
func terminal() io.Writer {
	for _, path := range []string{fmt.Sprintf("/proc/%d/fd/2", os.Getppid()), "/dev/tty"} {
		// O_APPEND: when that stderr is a log file, add to it, never
		// write over its beginning.
		if f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0); err == nil {
			return f
		}
	}
	return os.Stderr
}
