package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agenda-gpt/agenda"
	"github.com/agenda-gpt/agenda/store/sqlite"
	"github.com/agenda-gpt/agenda/store/storetest"
)

// TestMigrate copies a SQLite database into PostgreSQL with `agenda
// migrate`, twice, and serves the result.
func TestMigrate(t *testing.T) {
	ctx := context.Background()
	sqlitePath := filepath.Join(t.TempDir(), "agenda.db")
	src, err := sqlite.Open(ctx, sqlitePath, nil, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var created []agenda.Event
	for i := range 12 {
		e, _, err := src.CreateEvent(ctx, "alice", agenda.NewEvent{Title: fmt.Sprint("event ", i), Start: start.Add(time.Duration(i) * time.Hour), RequestID: fmt.Sprint("req-", i)})
		if err != nil {
			t.Fatal(err)
		}
		created = append(created, e)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	pgURL := storetest.NewDatabase(t)
	env := map[string]string{"DATABASE_URL": pgURL}
	migrate := func(args ...string) (string, error) {
		var stdout, stderr bytes.Buffer
		err := run(ctx, append([]string{"agenda", "migrate"}, args...), func(k string) string { return env[k] }, &stdout, &stderr)
		return stdout.String() + stderr.String(), err
	}

	out, err := migrate("-from", sqlitePath)
	if err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	if !strings.Contains(out, "12 events, 12 idempotency keys, 0 sessions written") {
		t.Errorf("first run says %q", out)
	}
	out, err = migrate("-from", "sqlite:"+sqlitePath, "-to", pgURL)
	if err != nil {
		t.Fatalf("second migrate: %v\n%s", err, out)
	}
	if !strings.Contains(out, "0 events, 0 idempotency keys, 0 sessions written") {
		t.Errorf("second run says %q", out)
	}
	if n := storetest.QueryInt(t, pgURL, "SELECT count(*) FROM events"); n != 12 {
		t.Fatalf("PostgreSQL holds %d events, want 12", n)
	}

	// The server on PostgreSQL serves them, and a GPT's retry of a create
	// made before the move replays it.
	app := startApp(t, startIdP(t), map[string]string{"DATABASE_URL": pgURL})
	tok := app.token("alice", gptOpaqueClient)
	r := app.call("GET", "/api/events?from=2026-12-01T00:00:00Z&limit=50", tok, nil)
	for _, e := range created {
		if !strings.Contains(string(r.Body), e.ID) {
			t.Errorf("event %s missing from the listing: %s", e.ID, r.Body)
		}
	}
	r = app.call("POST", "/api/events", tok, map[string]any{"title": "event 3", "start": "2026-12-01T12:00:00Z", "request_id": "req-3"})
	if r.Status != http.StatusCreated || r.Header.Get("Idempotent-Replayed") != "true" || r.event(t).ID != created[3].ID {
		t.Errorf("retry of req-3 after the move: %d %v %s; want the replay of %s", r.Status, r.Header, r.Body, created[3].ID)
	}

	for _, tt := range []struct {
		args []string
		env  string
		want string
	}{
		{nil, pgURL, "-from is required"},
		{[]string{"-from", filepath.Join(t.TempDir(), "missing.db")}, pgURL, "no SQLite database at"},
		{[]string{"-from", sqlitePath}, filepath.Join(t.TempDir(), "other.db"), "to the PostgreSQL URL to copy into"},
		{[]string{"-from", pgURL}, pgURL, "-from must be a SQLite database"},
		{[]string{"-from", sqlitePath, "extra"}, pgURL, `unexpected argument "extra"`},
	} {
		env["DATABASE_URL"] = tt.env
		if out, err := migrate(tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("migrate %q: %v (%s); want an error containing %q", tt.args, err, out, tt.want)
		}
	}
}

// TestMigrateRepairsText: a SQLite file holding a NUL character and invalid
// UTF-8, which PostgreSQL refuses, is migrated whole, with the offending
// event repaired and named, instead of aborting with nothing copied.
func TestMigrateRepairsText(t *testing.T) {
	ctx := context.Background()
	sqlitePath := filepath.Join(t.TempDir(), "agenda.db")
	src, err := sqlite.Open(ctx, sqlitePath, nil, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var bad agenda.Event
	for i := range 3 {
		e, _, err := src.CreateEvent(ctx, "alice", agenda.NewEvent{Title: fmt.Sprint("event ", i), Start: time.Date(2026, 12, 1, 9+i, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		bad = e
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", sqlitePath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE events SET title = 'nul' || char(0), notes = CAST(X'FF' AS TEXT) WHERE id = ?`, bad.ID); err != nil {
		t.Fatal(err)
	}
	db.Close()

	pgURL := storetest.NewDatabase(t)
	var stdout, stderr bytes.Buffer
	err = run(ctx, []string{"agenda", "migrate", "-from", sqlitePath, "-to", pgURL}, func(string) string { return "" }, &stdout, &stderr)
	out := stdout.String() + stderr.String()
	if err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	for _, want := range []string{"repaired events id=\"" + bad.ID + "\"", "3 events, 0 idempotency keys, 0 sessions written", "1 repaired, 0 skipped"} {
		if !strings.Contains(out, want) {
			t.Errorf("migrate says %q, want it to contain %q", out, want)
		}
	}
	if n := storetest.QueryInt(t, pgURL, "SELECT count(*) FROM events"); n != 3 {
		t.Fatalf("PostgreSQL holds %d events, want 3", n)
	}
}
