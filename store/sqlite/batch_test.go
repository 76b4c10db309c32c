package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/agenda-gpt/agenda"
	"gorm.io/gorm"
)

// TestGroupCommit runs a batch as the SQLite writer does under load: the
// writes that succeed commit together and are published in order; one
// that fails after writing, one that panics and one whose caller gave up
// leave no trace and do not disturb the others.
func TestGroupCommit(t *testing.T) {
	var rec recorder
	ctx := context.Background()
	s, err := openEngine(ctx, filepath.Join(t.TempDir(), "agenda.db"), &rec, Options{}, busyTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The writes insert into a table of their own: what is tested is the
	// batch, not the store's queries.
	if err := s.writer.Exec("CREATE TABLE batch_test (title TEXT NOT NULL)").Error; err != nil {
		t.Fatal(err)
	}
	insert := func(title string) func(tx *gorm.DB) (*agenda.Change, error) {
		return func(tx *gorm.DB) (*agenda.Change, error) {
			if err := tx.Exec("INSERT INTO batch_test (title) VALUES (?)", title).Error; err != nil {
				return nil, err
			}
			return &agenda.Change{Type: agenda.EventCreated, Event: agenda.Event{UserID: "alice", Title: title}}, nil
		}
	}
	if err := s.Write(ctx, insert("before")); err != nil {
		t.Fatal(err)
	}
	failAfterWriting := func(tx *gorm.DB) (*agenda.Change, error) {
		if _, err := insert("rolled back")(tx); err != nil {
			return nil, err
		}
		return nil, agenda.Errorf(agenda.EINVALID, "refused after writing")
	}
	panics := func(tx *gorm.DB) (*agenda.Change, error) {
		insert("half done")(tx)
		panic("a bug in a write")
	}
	gaveUp, cancel := context.WithCancel(ctx)
	cancel()

	batch := []*pendingWrite{
		{ctx: ctx, fn: insert("one")},
		{ctx: ctx, fn: failAfterWriting},
		{ctx: ctx, fn: insert("two")},
		{ctx: ctx, fn: panics},
		{ctx: gaveUp, fn: insert("never")},
		{ctx: ctx, fn: insert("three")},
	}
	for _, w := range batch {
		w.done = make(chan struct{})
	}
	s.commitBatch(batch)

	for i, want := range []string{"", agenda.EINVALID, "", agenda.EINTERNAL, agenda.EINTERNAL, ""} {
		if !isClosed(batch[i].done) {
			t.Fatalf("write %d not answered", i)
		}
		if got := agenda.ErrorCode(batch[i].err); got != want {
			t.Errorf("write %d: %v, want code %q", i, batch[i].err, want)
		}
	}
	if !errors.Is(batch[4].err, context.Canceled) {
		t.Errorf("the abandoned write: %v", batch[4].err)
	}
	var titles []string
	if err := s.reader.Raw("SELECT title FROM batch_test").Scan(&titles).Error; err != nil {
		t.Fatal(err)
	}
	slices.Sort(titles)
	if fmt.Sprint(titles) != "[before one three two]" {
		t.Errorf("stored %v", titles)
	}
	// SQLite's engine publishes each change before its write returns.
	var published []string
	for _, c := range rec.Changes() {
		published = append(published, c.Event.Title)
	}
	if fmt.Sprint(published) != "[before one two three]" {
		t.Errorf("published %v", published)
	}
	if err := s.Write(ctx, insert("after")); err != nil {
		t.Errorf("the writer is stuck after the batch: %v", err)
	}
}

// TestGroupCommitUnderLoad: many writers at once, some of whose writes
// fail, each get their own answer, and exactly the successful writes are
// stored and published.
func TestGroupCommitUnderLoad(t *testing.T) {
	var rec recorder
	s, _ := mustOpen(t, filepath.Join(t.TempDir(), "agenda.db"), &rec)
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := map[string]bool{}
	for g := range 32 {
		wg.Go(func() {
			for i := range 20 {
				if i%5 == 4 { // invalid: no title
					_, _, err := s.CreateEvent(ctx, "alice", agenda.NewEvent{Start: day})
					wantCode(t, err, agenda.EINVALID)
					continue
				}
				if i%5 == 3 { // another's event
					wantCode(t, s.DeleteEvent(ctx, "bob", "evt_missing"), agenda.ENOTFOUND)
					continue
				}
				e, _, err := s.CreateEvent(ctx, "alice", agenda.NewEvent{Title: fmt.Sprint(g, "-", i), Start: day, RequestID: fmt.Sprint(g, "-", i)})
				if err != nil {
					t.Errorf("create: %v", err)
					continue
				}
				mu.Lock()
				created[e.ID] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	stored := listAll(t, s, "alice", agenda.ListQuery{Limit: agenda.MaxLimit})
	if len(stored) != len(created) || len(created) != 32*12 {
		t.Fatalf("stored %d events, answered %d creates, want %d", len(stored), len(created), 32*12)
	}
	for _, e := range stored {
		if !created[e.ID] {
			t.Errorf("stored %v, which no create answered", e)
		}
	}
	if got := rec.Flushed(t, s); len(got) != len(created) {
		t.Errorf("published %d changes, want %d", len(got), len(created))
	}
}
