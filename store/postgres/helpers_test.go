package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/agenda-gpt/agenda"
	"github.com/agenda-gpt/agenda/store"
	"github.com/agenda-gpt/agenda/store/storetest"
)

// suiteEngine runs the shared store suite on new PostgreSQL databases.
var suiteEngine = storetest.Engine{
	NewDatabase: func(t *testing.T) string { return storetest.NewDatabase(t) },
	Open: func(ctx context.Context, url string, pub agenda.Publisher, now func() time.Time) (*store.Store, error) {
		s, _, err := open(ctx, url, pub, Options{}, now)
		return s, err
	},
	Column: storetest.Column,
}

func mustOpen(t *testing.T, url string, pub agenda.Publisher) (*store.Store, *storetest.Clock) {
	t.Helper()
	return suiteEngine.MustOpen(t, url, pub)
}

type recorder = storetest.Recorder

var (
	mustCreate = storetest.MustCreate
	listAll    = storetest.ListAll
	equal      = storetest.Equal
	at         = storetest.At
)

func ptr[T any](v T) *T { return &v }
