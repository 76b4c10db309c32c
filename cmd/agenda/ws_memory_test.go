package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/agenda-gpt/agenda"
	"github.com/agenda-gpt/agenda/realtime"
	"github.com/agenda-gpt/agenda/store/sqlite"
)

// rssBound is the peak resident memory the server may reach while one user
// with a thousand of the largest events opens 60 WebSockets at once. Before
// snapshots were bounded, 40 such sockets took it past 2.8 GB.
const rssBound = 256 << 20

// TestWebSocketsOfOneUser: one user cannot take the server's memory or its
// sockets (issue 14, items 1 and 2). With 1,000 events of the largest size,
// 60 simultaneous upgrades get at most the burst (WS_MAX_CONNECTIONS_PER_USER)
// plus the refill, the rest 429; connections past the cap close the oldest
// with 4001; each snapshot is at most SnapshotMaxBytes and says it was cut;
// another user is served throughout; and the server process's peak RSS
// stays under rssBound. The server runs as its own process, so that its
// memory is measured alone.
func TestWebSocketsOfOneUser(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "agenda.db")
	const heavyEvents = 1000
	fillHeavyUser(t, db, "heavy", heavyEvents)

	idp := startIdP(t)
	const perUser = 20
	r := startReplica(t, idp, db, map[string]string{"WS_MAX_CONNECTIONS_PER_USER": strconv.Itoa(perUser)})
	r.waitReady(t)
	heavy := idp.token(t, "heavy", gptOpaqueClient)
	other := idp.token(t, "other", gptOpaqueClient)
	baseline := procStatusKB(t, r.Pid(), "VmRSS")

	u := "ws" + strings.TrimPrefix(r.URL, "http") + "/ws?from=2000-01-01T00:00:00Z"
	d := websocket.Dialer{HandshakeTimeout: 30 * time.Second}
	const attempts = 60
	type outcome struct {
		status    int
		conn      *websocket.Conn
		snapshot  int // bytes
		truncated bool
		closeCode int // when the server closed it after the snapshot
	}
	outcomes := make([]outcome, attempts)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range outcomes {
		wg.Go(func() {
			o := &outcomes[i]
			c, resp, err := d.Dial(u, http.Header{"Authorization": {"Bearer " + heavy}})
			if resp != nil {
				o.status = resp.StatusCode
				resp.Body.Close()
			}
			if err != nil {
				return
			}
			o.conn = c
			c.SetReadDeadline(time.Now().Add(feedTimeout))
			_, m, err := c.ReadMessage()
			if err != nil {
				var ce *websocket.CloseError
				if errors.As(err, &ce) {
					o.closeCode = ce.Code // closed before its snapshot came
				}
				return
			}
			o.snapshot = len(m)
			o.truncated = strings.Contains(string(m[len(m)-30:]), `"truncated":true`)
		})
	}
	// Another user is served while the heavy one floods.
	mustCallAPI(t, 201, "POST", r.URL+"/api/events", other, map[string]any{"title": "Still here", "start": "2027-01-04T09:00:00Z"})
	openFeed(t, r.URL, other)
	wg.Wait()
	elapsed := time.Since(start)

	upgraded, limited := 0, 0
	for i, o := range outcomes {
		switch o.status {
		case http.StatusSwitchingProtocols:
			upgraded++
			if o.snapshot > realtime.SnapshotMaxBytes {
				t.Errorf("socket %d: a snapshot of %d bytes, over %d", i, o.snapshot, realtime.SnapshotMaxBytes)
			}
			if o.snapshot > 0 && !o.truncated {
				t.Errorf("socket %d: a cut snapshot that does not say truncated", i)
			}
		case http.StatusTooManyRequests:
			limited++
		default:
			t.Errorf("upgrade %d: status %d, want 101 or 429", i, o.status)
		}
	}
	// The burst, and at most one more per second the flood lasted.
	if maxUpgrades := perUser + int(elapsed.Seconds()) + 1; upgraded < perUser || upgraded > maxUpgrades {
		t.Errorf("%d upgrades of %d in %v, want %d to %d", upgraded, attempts, elapsed, perUser, maxUpgrades)
	}

	// Past the cap, the oldest connections were closed with 4001; the
	// newest perUser stay open. Their close frames were sent before the
	// newer snapshots, so a few seconds' wait for them is ample.
	for i := range outcomes {
		o := &outcomes[i]
		if o.conn == nil || o.closeCode != 0 {
			continue
		}
		wg.Go(func() {
			o.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
			_, _, err := o.conn.ReadMessage()
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				o.closeCode = ce.Code
			}
		})
	}
	wg.Wait()
	open, closed := 0, 0
	for _, o := range outcomes {
		if o.conn == nil {
			continue
		}
		switch o.closeCode {
		case 0:
			open++
		case realtime.CloseTooManyConnections:
			closed++
		default:
			t.Errorf("a socket closed with %d, want %d or still open", o.closeCode, realtime.CloseTooManyConnections)
		}
		o.conn.Close()
	}
	if open != perUser || closed != upgraded-perUser {
		t.Errorf("%d sockets open and %d closed with 4001 of %d upgraded, want %d and %d", open, closed, upgraded, perUser, upgraded-perUser)
	}

	peak := procStatusKB(t, r.Pid(), "VmHWM")
	t.Logf("%d heavy events; %d upgrades (%d refused with 429) in %v; server RSS %d MB before, peak %d MB (bound %d MB)",
		heavyEvents, upgraded, limited, elapsed.Round(time.Millisecond), baseline>>10, peak>>10, rssBound>>20)
	if peak<<10 > rssBound && !raceEnabled {
		t.Errorf("the server's peak RSS was %d MB, over %d MB", peak>>10, rssBound>>20)
	}
}

// fillHeavyUser writes n events of the largest size for user straight into
// the database at url, before the server opens it.
func fillHeavyUser(t *testing.T, url, user string, n int) {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, url, nil, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Characters JSON escapes, so each event encodes as large as it can.
	notes := strings.Repeat(`é"`, agenda.MaxNotesLength/2)
	start := time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, _, err := s.CreateEvent(ctx, user, agenda.NewEvent{
				Title:    strings.Repeat("T", agenda.MaxTitleLength),
				Start:    start.Add(time.Duration(i) * time.Hour),
				Location: strings.Repeat(`"`, agenda.MaxLocationLen),
				Notes:    notes,
			})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// procStatusKB reads a field, in kB, of /proc/<pid>/status: VmRSS is the
// resident memory now, VmHWM its peak.
func procStatusKB(t *testing.T, pid int, field string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatal(err)
			}
			return kb
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
