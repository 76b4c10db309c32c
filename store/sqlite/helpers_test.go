package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/agenda-gpt/agenda"
	"github.com/agenda-gpt/agenda/store"
	"github.com/agenda-gpt/agenda/store/storetest"
)

// suiteEngine runs the shared store suite on SQLite files.
var suiteEngine = storetest.Engine{
	// A folder that does not exist yet: Open creates it.
	NewDatabase: func(t *testing.T) string { return filepath.Join(t.TempDir(), "data", "agenda.db") },
	Open: func(ctx context.Context, url string, pub agenda.Publisher, now func() time.Time) (*store.Store, error) {
		return open(ctx, url, pub, Options{}, busyTimeout, now)
	},
	Column: storetest.SQLiteColumn,
}

func mustOpen(t *testing.T, path string, pub agenda.Publisher) (*store.Store, *storetest.Clock) {
	t.Helper()
	return suiteEngine.MustOpen(t, path, pub)
}

type recorder = storetest.Recorder

var (
	day        = storetest.Day
	mustCreate = storetest.MustCreate
	listAll    = storetest.ListAll
	wantCode   = storetest.WantCode
	wantEqual  = storetest.WantEqual
	mustGet    = storetest.MustGet
	at         = storetest.At
)

func ptr[T any](v T) *T { return &v }
