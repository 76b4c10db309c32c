package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/agenda-gpt/agenda"
	"github.com/agenda-gpt/agenda/store"
	"github.com/agenda-gpt/agenda/store/postgres"
	"github.com/agenda-gpt/agenda/store/storetest"
)

// TestCopy moves a SQLite database into PostgreSQL, twice. The SQLite
// store's clock runs 30 hours behind, so that its keys can expire before
// the copy while PostgreSQL's store, on the real clock, finds the rest
// unexpired and its own changes newer.
func TestCopy(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock(time.Now().Add(-30 * time.Hour))
	src, err := open(ctx, filepath.Join(t.TempDir(), "agenda.db"), nil, Options{}, busyTimeout, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	pgURL := storetest.NewDatabase(t)
	var rec recorder
	dst, err := postgres.Open(ctx, pgURL, &rec, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dst.Close() })

	// More events than a batch, two users, a request id, sessions.
	var events []agenda.Event
	for i := range 500 + 7 { // more than a batch
		in := agenda.NewEvent{Title: fmt.Sprint("event ", i), Start: at(0, i), Notes: "n"}
		if i == 3 {
			in.RequestID = "req-3"
		}
		events = append(events, mustCreate(t, src, []string{"alice", "bob"}[i%2], in))
	}
	old := mustCreate(t, src, "alice", agenda.NewEvent{Title: "old key", Start: at(9, 0), RequestID: "old"})
	clk.Advance(agenda.IdempotencyHours*time.Hour + time.Second) // the keys "old" and "req-3" expire
	fresh := mustCreate(t, src, "alice", agenda.NewEvent{Title: "fresh key", Start: at(9, 0), RequestID: "fresh"})
	events = append(events, old, fresh)
	ss := src.Sessions()
	if err := ss.Commit("live", []byte("data"), clk.Now().Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := ss.Commit("gone", []byte("data"), clk.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}

	st, err := store.Copy(ctx, dst, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := (store.CopyStats{Events: int64(len(events)), IdempotencyKeys: 1, Sessions: 1}); st != want {
		t.Fatalf("first copy: %+v, want %+v", st, want)
	}
	for _, e := range events {
		wantEqual(t, mustGet(t, dst, e.UserID, e.ID), e)
	}
	if got := len(listAll(t, dst, "alice", agenda.ListQuery{})) + len(listAll(t, dst, "bob", agenda.ListQuery{})); got != len(events) {
		t.Fatalf("dst has %d events, want %d", got, len(events))
	}
	// The unexpired key came along: a retry on PostgreSQL replays.
	again, replayed, err := dst.CreateEvent(ctx, "alice", agenda.NewEvent{Title: "fresh key", Start: at(9, 0), RequestID: "fresh"})
	if err != nil || !replayed || again.ID != fresh.ID {
		t.Fatalf("retry after the copy: %v, replayed %v, %v", again, replayed, err)
	}
	if data, found, err := dst.Sessions().Find("live"); err != nil || !found || string(data) != "data" {
		t.Fatalf("session after the copy: %q %v %v", data, found, err)
	}

	// Again: nothing new, but an event changed in SQLite since is updated,
	// and one changed in PostgreSQL since is kept.
	clk.Advance(time.Minute)
	changed, err := src.UpdateEvent(ctx, "alice", events[0].ID, agenda.EventPatch{Title: ptr("changed in SQLite")})
	if err != nil {
		t.Fatal(err)
	}
	kept, err := dst.UpdateEvent(ctx, "bob", events[1].ID, agenda.EventPatch{Title: ptr("changed in PostgreSQL")})
	if err != nil {
		t.Fatal(err)
	}
	if st, err = store.Copy(ctx, dst, src, nil); err != nil {
		t.Fatal(err)
	}
	if want := (store.CopyStats{Events: 1}); st != want {
		t.Fatalf("second copy: %+v, want %+v", st, want)
	}
	wantEqual(t, mustGet(t, dst, "alice", changed.ID), changed)
	wantEqual(t, mustGet(t, dst, "bob", kept.ID), kept)
	if n := storetest.QueryInt(t, pgURL, "SELECT count(*) FROM events"); n != int64(len(events)) {
		t.Fatalf("after the second copy, %d events, want %d", n, len(events))
	}
}
