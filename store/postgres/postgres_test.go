package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agenda-gpt/agenda"
	"github.com/agenda-gpt/agenda/store"
	"github.com/agenda-gpt/agenda/store/storetest"
	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
)

func TestPostgres(t *testing.T) {
	storetest.Available(t)
	storetest.RunSuite(t, suiteEngine)
}

func TestPostgresOpenFails(t *testing.T) {
	ctx := context.Background()
	for url, want := range map[string]string{
		"postgres://u:hunter2@[::1/agenda": "not a valid PostgreSQL URL",
		// Port 1 on loopback refuses at once.
		"postgres://u:hunter2@127.0.0.1:1/agenda?connect_timeout=5": "connect to PostgreSQL",
	} {
		_, err := Open(ctx, url, nil, Options{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%q) = %v, want an error containing %q", url, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}

// TestPostgresConcurrentOpen starts several replicas on a new database at
// once: the advisory lock makes them create the tables one at a time.
func TestPostgresConcurrentOpen(t *testing.T) {
	url := storetest.NewDatabase(t)
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			s, err := Open(context.Background(), url, &recorder{}, Options{MaxConns: 2})
			if err != nil {
				t.Errorf("open: %v", err)
				return
			}
			if err := s.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
	}
	wg.Wait()
}

// TestPostgresIndexes checks that the queries have their indexes, and that
// the window query can use the per-user index.
func TestPostgresIndexes(t *testing.T) {
	url := storetest.NewDatabase(t)
	e, _, err := openEngine(context.Background(), url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, name := range []string{"idx_events_user_start", "idx_events_user_span", "idx_idempotency_keys_created_unix", "idx_sessions_expiry_unix"} {
		if storetest.QueryInt(t, url, "SELECT count(*) FROM pg_indexes WHERE indexname = $1", name) != 1 {
			t.Errorf("index %s is missing", name)
		}
	}
	trgm := storetest.QueryInt(t, url, "SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_trgm'")
	if got := storetest.QueryInt(t, url, "SELECT count(*) FROM pg_indexes WHERE indexname = 'idx_events_search'"); got != trgm {
		t.Errorf("pg_trgm available: %d; trigram index present: %d", trgm, got)
	}

	var plan []string
	err = e.db.Transaction(func(tx *gorm.DB) error {
		// The tables are small: make the planner show what it can do.
		if err := tx.Exec("SET LOCAL enable_seqscan = off").Error; err != nil {
			return err
		}
		return tx.Raw(`EXPLAIN SELECT * FROM events WHERE user_id = 'alice' AND start_unix < 100 AND (until_unix > 50 OR start_unix >= 50)
			AND start_unix >= 50 - (SELECT COALESCE(MAX(span_unix), 0) FROM events WHERE user_id = 'alice')
			ORDER BY start_unix, id LIMIT 51`).Scan(&plan).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	if text := strings.Join(plan, "\n"); !strings.Contains(text, "Index Cond: ((user_id = 'alice'::text) AND (start_unix < 100) AND (start_unix >=") {
		t.Errorf("the window query does not bound its scan of idx_events_user_start by the window:\n%s", text)
	}
}

// TestPostgresReplicas runs two stores on one database, as two replicas:
// each hears every change once, in commit order, whichever made it.
func TestPostgresReplicas(t *testing.T) {
	ctx := context.Background()
	url := storetest.NewDatabase(t)
	var recA, recB recorder
	a, clk := mustOpen(t, url, &recA)
	b, _ := mustOpen(t, url, &recB)

	var want []agenda.Change
	var e agenda.Event
	for i := range 20 {
		s := []*store.Store{a, b}[i%2]
		var err error
		switch i {
		case 0:
			e, _, err = s.CreateEvent(ctx, "alice", agenda.NewEvent{Title: "v0", Start: at(9, 0)})
			want = append(want, agenda.Change{Type: agenda.EventCreated, Event: e})
		case 19:
			err = s.DeleteEvent(ctx, "alice", e.ID)
			want = append(want, agenda.Change{Type: agenda.EventDeleted, Event: e})
		default:
			e, err = s.UpdateEvent(ctx, "alice", e.ID, agenda.EventPatch{Title: ptr(fmt.Sprint("v", i))})
			want = append(want, agenda.Change{Type: agenda.EventUpdated, Event: e})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for name, got := range map[string][]agenda.Change{"a": recA.Flushed(t, a), "b": recB.Flushed(t, b)} {
		if len(got) != len(want) {
			t.Fatalf("replica %s heard %d changes, want %d", name, len(got), len(want))
		}
		for i := range want {
			if got[i].Type != want[i].Type || !equal(got[i].Event, want[i].Event) {
				t.Fatalf("replica %s: change %d is %s %v, want %s %v", name, i, got[i].Type, got[i].Event, want[i].Type, want[i].Event)
			}
		}
	}

	// Retries of one create, split between the replicas, make one event.
	const n = 16
	ids := make(chan string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ev, _, err := []*store.Store{a, b}[i%2].CreateEvent(ctx, "alice", agenda.NewEvent{Title: "once", Start: at(9, 0), RequestID: "r"})
			if err != nil {
				t.Errorf("create: %v", err)
			}
			ids <- ev.ID
		})
	}
	wg.Wait()
	close(ids)
	first := <-ids
	for id := range ids {
		if id != first {
			t.Fatalf("retries made events %s and %s", first, id)
		}
	}
	if got := listAll(t, b, "alice", agenda.ListQuery{}); len(got) != 1 {
		t.Fatalf("stored %d events, want 1", len(got))
	}

	// A session made on one replica is found on the other.
	if err := a.Sessions().Commit("tok", []byte("data"), clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if data, found, err := b.Sessions().Find("tok"); err != nil || !found || string(data) != "data" {
		t.Fatalf("session on the other replica: %q %v %v", data, found, err)
	}
}

// TestPostgresRollbackAnnouncesNothing: a change announced in a transaction
// that then rolls back never reaches a listener.
func TestPostgresRollbackAnnouncesNothing(t *testing.T) {
	ctx := context.Background()
	var rec recorder
	s, e, err := open(ctx, storetest.NewDatabase(t), &rec, Options{}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ghost := agenda.Event{ID: "evt_ghost", UserID: "alice", Title: "ghost", Start: at(9, 0)}
	errLate := errors.New("failed after the notification")
	err = e.Write(ctx, func(tx *gorm.DB) (*agenda.Change, error) {
		if err := tx.Exec("INSERT INTO events (id, user_id, title, start_unix, until_unix, span_unix, time_zone, all_day, location, notes, search_text, created_unix, updated_unix) VALUES (?, 'alice', 'ghost', 0, 0, 0, '', false, '', '', '', 0, 0)", ghost.ID).Error; err != nil {
			return nil, err
		}
		if err := notify(tx, agenda.Change{Type: agenda.EventCreated, Event: ghost}); err != nil {
			return nil, err
		}
		return nil, errLate
	})
	if !errors.Is(err, errLate) {
		t.Fatalf("write: %v", err)
	}
	if got := rec.Flushed(t, s); len(got) != 0 {
		t.Fatalf("a rolled-back write was announced: %v", got)
	}
}

// TestPostgresLargeEvents: an event too large for a notification is read
// by id; a deletion carries its id. Each change is awaited before the next
// write, since the listener reads the event as it is when the notice
// arrives (TestListenerSkipsGoneEvents covers one deleted by then).
func TestPostgresLargeEvents(t *testing.T) {
	ctx := context.Background()
	var rec recorder
	s, _ := mustOpen(t, storetest.NewDatabase(t), &rec)
	notes := strings.Repeat("é\"", agenda.MaxNotesLength/2) // 6000 bytes, escaped to 8000
	e := mustCreate(t, s, "alice", agenda.NewEvent{Title: "big", Start: at(9, 0), Notes: notes})
	if payload, _ := encodeNotice(agenda.Change{Type: agenda.EventCreated, Event: e}); strings.Contains(payload, `"big"`) {
		t.Fatalf("the notice of a large event carries it: %d bytes", len(payload))
	}
	if got := rec.Flushed(t, s); len(got) != 1 || got[0].Type != agenda.EventCreated || !equal(got[0].Event, e) {
		t.Fatalf("after the create, published %v", got)
	}
	up, err := s.UpdateEvent(ctx, "alice", e.ID, agenda.EventPatch{Title: ptr("bigger")})
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.Flushed(t, s); len(got) != 2 || got[1].Type != agenda.EventUpdated || !equal(got[1].Event, up) {
		t.Fatalf("after the update, published %v", got)
	}
	if err := s.DeleteEvent(ctx, "alice", e.ID); err != nil {
		t.Fatal(err)
	}
	if got := rec.Flushed(t, s); len(got) != 3 || got[2].Type != agenda.EventDeleted || got[2].Event.ID != e.ID || got[2].Event.UserID != "alice" {
		t.Fatalf("after the delete, published %v", got)
	}
}

// TestListenerSkipsGoneEvents: a notice without the event, for an event
// deleted since, publishes nothing; a bad payload neither.
func TestListenerSkipsGoneEvents(t *testing.T) {
	var rec recorder
	l := &listener{pub: &rec, logger: slog.New(slog.DiscardHandler),
		get: func(ctx context.Context, userID, id string) (agenda.Event, error) {
			return agenda.Event{}, agenda.Errorf(agenda.ENOTFOUND, "no event with id %q", id)
		}}
	l.deliver(context.Background(), `{"type":"event.updated","user_id":"alice","id":"evt_gone"}`)
	l.deliver(context.Background(), `{"type":"event.moved","user_id":"alice","id":"evt_x"}`)
	l.deliver(context.Background(), `not json`)
	l.deliver(context.Background(), `{"type":"event.deleted","user_id":"alice","id":"evt_gone"}`)
	if got := rec.Changes(); len(got) != 1 || got[0].Type != agenda.EventDeleted || got[0].Event.ID != "evt_gone" {
		t.Fatalf("published %v, want only the deletion", got)
	}
}

// resyncRecorder is a recorder that counts resyncs.
type resyncRecorder struct {
	recorder
	resynced chan struct{}
}

func (r *resyncRecorder) Resync() { r.resynced <- struct{}{} }

// TestPostgresListenerReconnects ends the listener's backend, as a database
// restart or an administrator would: the listener comes back, asks for a
// resync, and delivers what follows.
func TestPostgresListenerReconnects(t *testing.T) {
	url := storetest.NewDatabase(t)
	rec := &resyncRecorder{resynced: make(chan struct{}, 10)}
	s, _ := mustOpen(t, url, rec)
	for round := range 3 {
		if n := storetest.QueryInt(t, url, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND application_name LIKE 'agenda-listener-%'`); n != 1 {
			t.Fatalf("round %d: ended %d listener backends, want 1", round, n)
		}
		select {
		case <-rec.resynced:
		case <-time.After(20 * time.Second):
			t.Fatalf("round %d: no resync after the listener's connection ended", round)
		}
		e := mustCreate(t, s, "alice", agenda.NewEvent{Title: fmt.Sprint("after ", round), Start: at(9, 0)})
		rec.WaitFor(t, func(c agenda.Change) bool { return c.Event.ID == e.ID })
	}
}

// TestListenerIdlePings: a listener that pings between notifications, here
// every millisecond, still delivers every notification, in order.
func TestListenerIdlePings(t *testing.T) {
	url := storetest.NewDatabase(t)
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["application_name"] = "idle-test"
	var rec recorder
	l := newListener(cfg, &rec, nil, slog.New(slog.DiscardHandler))
	l.idle = time.Millisecond
	if err := l.start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer l.close()
	backend := `SELECT pid FROM pg_stat_activity WHERE application_name = 'idle-test'`
	pid := storetest.QueryInt(t, url, backend)
	for i := range 20 {
		id := fmt.Sprint("evt_", i)
		storetest.Exec(t, url, "SELECT pg_notify($1, $2)", changesChannel, fmt.Sprintf(`{"type":"event.deleted","user_id":"alice","id":%q}`, id))
		rec.WaitFor(t, func(c agenda.Change) bool { return c.Event.ID == id })
	}
	for i, c := range rec.Changes() {
		if c.Event.ID != fmt.Sprint("evt_", i) {
			t.Fatalf("change %d is for %s", i, c.Event.ID)
		}
	}
	if now := storetest.QueryInt(t, url, backend); now != pid {
		t.Fatalf("the listener reconnected (backend %d, then %d)", pid, now)
	}
}
