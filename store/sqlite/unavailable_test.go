package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/agenda-gpt/agenda"
)

// TestLockedTooLongIsUnavailable: another process holding the database lock
// past the busy timeout makes writes fail with EUNAVAILABLE, which the API
// answers with 503 and Retry-After, not with an internal error; reads go on
// (WAL), and writes work again once the lock is released.
func TestLockedTooLongIsUnavailable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "agenda.db")
	s, err := open(ctx, path, nil, Options{}, 50*time.Millisecond, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e := mustCreate(t, s, "alice", agenda.NewEvent{Title: "before", Start: day})

	// The other process: a connection of its own that takes the write lock.
	other, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}

	_, _, err = s.CreateEvent(ctx, "alice", agenda.NewEvent{Title: "while locked", Start: day})
	wantCode(t, err, agenda.EUNAVAILABLE)
	_, err = s.UpdateEvent(ctx, "alice", e.ID, agenda.EventPatch{Title: ptr("while locked")})
	wantCode(t, err, agenda.EUNAVAILABLE)
	wantCode(t, s.DeleteEvent(ctx, "alice", e.ID), agenda.EUNAVAILABLE)
	if msg := agenda.ErrorMessage(err); msg != "the database is not available right now; try again in a few seconds" {
		t.Errorf("message %q", msg)
	}
	wantEqual(t, mustGet(t, s, "alice", e.ID), e)

	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "alice", agenda.NewEvent{Title: "after", Start: day})
}
