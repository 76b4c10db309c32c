package sqlite

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/agenda-gpt/agenda"
	"github.com/agenda-gpt/agenda/store"
	"github.com/agenda-gpt/agenda/store/storetest"
	"gorm.io/gorm"
)

func TestSQLite(t *testing.T) {
	storetest.RunSuite(t, suiteEngine)
}

func TestSQLiteURL(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, url := range []string{
		"sqlite://" + filepath.Join(dir, "abs", "agenda.db"),
		"SQLite:" + filepath.Join(dir, "nohost", "agenda.db"),
	} {
		s, err := Open(ctx, url, nil, Options{})
		if err != nil {
			t.Fatalf("open %s: %v", url, err)
		}
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("ping %s: %v", url, err)
		}
		s.Close()
	}
	for _, name := range []string{"abs", "nohost"} {
		if _, err := os.Stat(filepath.Join(dir, name, "agenda.db")); err != nil {
			t.Errorf("database file not where the URL said: %v", err)
		}
	}
}

func TestSQLitePath(t *testing.T) {
	for _, tt := range []struct {
		url, path string
		err       string // a part of the error message
	}{
		{url: "./data/agenda.db", path: "./data/agenda.db"},
		{url: "  agenda.db\n", path: "agenda.db"},
		{url: "/var/lib/agenda/agenda.db", path: "/var/lib/agenda/agenda.db"},
		{url: "sqlite:./data/agenda.db", path: "./data/agenda.db"},
		{url: "sqlite:agenda.db", path: "agenda.db"},
		{url: "sqlite:./my%20data/agenda.db", path: "./my data/agenda.db"},
		{url: "sqlite:///var/lib/agenda/agenda.db", path: "/var/lib/agenda/agenda.db"},
		{url: `C:\agenda\agenda.db`, path: `C:\agenda\agenda.db`},
		{url: "", err: "DATABASE_URL is empty; use a file path such as ./data/agenda.db"},
		{url: "sqlite:", err: "has no file path"},
		{url: "sqlite://", err: "has no file path"},
		{url: "sqlite://db.example.com/agenda.db", err: "write sqlite:./relative/path.db or sqlite:///absolute/path.db"},
		{url: "sqlite:./agenda.db?_journal_mode=DELETE", err: "has options after the path"},
		{url: "sqlite:%zz", err: "is not a valid URL"},
		{url: ":memory:", err: "not a plain file path"},
		{url: "file:agenda.db?mode=memory", err: "not a plain file path"},
		{url: "data/what?.db", err: "contains ? or #"},
		{url: "mysql://localhost/agenda", err: "uses a database this store does not support"},
		{url: "postgres://localhost/agenda", err: "PostgreSQL URL"},
		{url: "host=db dbname=agenda user=agenda", err: "write it as a URL, like postgres://"},
	} {
		path, err := sqlitePath(tt.url)
		switch {
		case tt.err == "" && (err != nil || path != tt.path):
			t.Errorf("sqlitePath(%q) = %q, %v; want %q", tt.url, path, err, tt.path)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("sqlitePath(%q) = %q, %v; want an error containing %q", tt.url, path, err, tt.err)
		}
	}
}

func TestOpenFails(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// The folder cannot be created where a file is.
	if _, err := Open(context.Background(), filepath.Join(blocker, "agenda.db"), nil, Options{}); err == nil {
		t.Fatal("opened a database under a regular file")
	}
	notDB := filepath.Join(t.TempDir(), "agenda.db")
	if err := os.WriteFile(notDB, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), notDB, nil, Options{}); err == nil {
		t.Fatal("opened a file that is not a database")
	}
}

// killChildEnv tells the test binary to act as the writer that gets killed.
const killChildEnv = "AGENDA_STORE_KILL_CHILD_DB"

// TestSQLiteSurvivesKill checks that with synchronous=NORMAL, every write
// acknowledged before the process is killed with SIGKILL is in the database
// afterwards.
func TestSQLiteSurvivesKill(t *testing.T) {
	if path := os.Getenv(killChildEnv); path != "" {
		writeUntilKilled(path)
		return
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := filepath.Join(t.TempDir(), "agenda.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestSQLiteSurvivesKill$")
	cmd.Env = append(os.Environ(), killChildEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	const want = 300
	var acked []string
	lines := bufio.NewScanner(out)
	for len(acked) < want && lines.Scan() {
		if id, ok := strings.CutPrefix(lines.Text(), "ack "); ok {
			acked = append(acked, id)
		}
	}
	// Kill mid-stream: the child's writers are still going.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if len(acked) < want {
		t.Fatalf("the child acknowledged only %d writes before it stopped", len(acked))
	}

	s, err := Open(context.Background(), path, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range acked {
		if _, err := s.GetEvent(context.Background(), "alice", id); err != nil {
			t.Errorf("acknowledged %s, then lost it: %v", id, err)
		}
	}
}

// writeUntilKilled creates events from a few goroutines and prints the id of
// each once CreateEvent has returned. It stops when the parent goes away.
func writeUntilKilled(path string) {
	s, err := Open(context.Background(), path, nil, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; i < 100_000; i++ {
				e, _, err := s.CreateEvent(context.Background(), "alice", agenda.NewEvent{Title: fmt.Sprintf("g%d #%d", g, i), Start: day})
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				mu.Lock()
				_, err = fmt.Printf("ack %s\n", e.ID)
				mu.Unlock()
				if err != nil { // the parent has gone
					os.Exit(0)
				}
			}
		})
	}
	wg.Wait()
	os.Exit(0)
}

func TestSQLiteSettings(t *testing.T) {
	s, err := openEngine(context.Background(), filepath.Join(t.TempDir(), "agenda.db"), nil, Options{}, busyTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tt := range []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "1"}, // NORMAL
		{"foreign_keys", "1"},
		{"busy_timeout", fmt.Sprint(busyTimeout.Milliseconds())},
	} {
		for name, db := range map[string]*gorm.DB{"writer": s.writer, "reader": s.reader} {
			var got string
			if err := db.Raw("PRAGMA " + tt.pragma).Scan(&got).Error; err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("%s: PRAGMA %s = %s, want %s", name, tt.pragma, got, tt.want)
			}
		}
	}
	if err := s.reader.Exec("DELETE FROM events").Error; err == nil {
		t.Error("the reader pool can write")
	}
}

// TestSQLiteTwoStores opens one file twice, as a second process would, and
// updates the same rows from both: BEGIN IMMEDIATE and the busy timeout make
// them wait for each other instead of failing with "database is locked".
func TestSQLiteTwoStores(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "agenda.db")
	a, _ := mustOpen(t, path, nil)
	b, _ := mustOpen(t, path, nil)
	e := mustCreate(t, a, "alice", agenda.NewEvent{Title: "shared", Start: day})

	var wg sync.WaitGroup
	for g := range 8 {
		s := []*store.Store{a, b}[g%2]
		wg.Go(func() {
			for i := range 25 {
				if _, err := s.UpdateEvent(ctx, "alice", e.ID, agenda.EventPatch{Notes: ptr(fmt.Sprint(g, i))}); err != nil {
					t.Errorf("update: %v", err)
					return
				}
				if _, _, err := s.CreateEvent(ctx, "alice", agenda.NewEvent{Title: fmt.Sprint(g, i), Start: day}); err != nil {
					t.Errorf("create: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := len(listAll(t, b, "alice", agenda.ListQuery{Limit: agenda.MaxLimit})); got != 1+8*25 {
		t.Fatalf("stored %d events, want %d", got, 1+8*25)
	}
}
