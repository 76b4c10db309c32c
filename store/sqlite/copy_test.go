package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
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

// TestCopyRepairsText: a SQLite file written by an older version may hold
// NUL characters or invalid UTF-8, which PostgreSQL refuses. Copy repairs
// such text in events and leaves behind, and reports, the rows whose key
// holds it, instead of failing the whole copy.
func TestCopyRepairsText(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "agenda.db")
	src, err := Open(ctx, path, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	bad := mustCreate(t, src, "alice", agenda.NewEvent{Title: "bad", Start: at(9, 0), RequestID: "bad-key"})
	good := mustCreate(t, src, "alice", agenda.NewEvent{Title: "good", Start: at(10, 0), RequestID: "good-key"})
	corrupt(t, path,
		`UPDATE events SET title = 'a' || char(0) || 'b', notes = CAST(X'6E6FFF7465' AS TEXT), location = CAST(X'C3' AS TEXT) WHERE title = 'bad'`,
		`UPDATE idempotency_keys SET request_id = CAST(X'6B6579FF' AS TEXT) WHERE request_id = 'bad-key'`)

	dst, err := postgres.Open(ctx, storetest.NewDatabase(t), nil, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	var report []string
	st, err := store.Copy(ctx, dst, src, func(line string) { report = append(report, line) })
	if err != nil {
		t.Fatal(err)
	}
	if want := (store.CopyStats{Events: 2, IdempotencyKeys: 1, Repaired: 1, Skipped: 1}); st != want {
		t.Fatalf("copy: %+v, want %+v", st, want)
	}
	got := mustGet(t, dst, "alice", bad.ID)
	if got.Title != "ab" || got.Notes != "no\uFFFDte" || got.Location != "\uFFFD" {
		t.Errorf("repaired event: title %q notes %q location %q", got.Title, got.Notes, got.Location)
	}
	wantEqual(t, mustGet(t, dst, "alice", good.ID), good)
	if len(report) != 2 || !strings.Contains(report[0], "repaired events id="+strconv.Quote(bad.ID)) ||
		!strings.Contains(report[0], "title, location, notes") ||
		!strings.Contains(report[1], `skipped idempotency_keys user_id="alice" request_id="key\xff"`) {
		t.Errorf("report %q", report)
	}
	if _, replayed, err := dst.CreateEvent(ctx, "alice", agenda.NewEvent{Title: "good", Start: at(10, 0), RequestID: "good-key"}); err != nil || !replayed {
		t.Errorf("the clean key did not come along: replayed %v, %v", replayed, err)
	}
}

// corrupt runs statements on the SQLite file at path behind the store's
// back, as an older version could have written it.
func corrupt(t *testing.T, path string, statements ...string) {
	t.Helper()
	db, err := sql.Open("sqlite3", path+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range statements {
		if res, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		} else if n, _ := res.RowsAffected(); n != 1 {
			t.Fatalf("%s: %d rows", s, n)
		}
	}
}
