package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // the driver the store uses, for PRAGMA integrity_check
)

// longRun reports whether AGENDA_LONG asks for the long forms of the load,
// crash and abuse tests.
func longRun() bool { return os.Getenv("AGENDA_LONG") != "" }

// testSeed is the seed of a randomised test: AGENDA_SEED replays a failure,
// otherwise a new one each run, logged.
func testSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("AGENDA_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("AGENDA_SEED=%q: %v", v, err)
		}
	}
	t.Logf("seed %d (AGENDA_SEED=%d replays it)", seed, seed)
	return seed
}

// TestCrashConsistency kills the server with SIGKILL at a random moment
// while clients create and update events, restarts it on the same SQLite
// file, and checks that every write answered 2xx is there and intact, that
// nothing appeared that no one sent, and that the file passes PRAGMA
// integrity_check; several times over. AGENDA_LONG=1 runs 25 rounds of
// longer bursts.
func TestCrashConsistency(t *testing.T) {
	rounds, minAcks, maxAcks := 3, 30, 200
	if longRun() {
		rounds, minAcks, maxAcks = 25, 100, 3000
	}
	rng := rand.New(rand.NewPCG(testSeed(t), 0))
	idp := startIdP(t)
	db := filepath.Join(t.TempDir(), "agenda.db")
	var users []crashUser
	for _, name := range []string{"crash-ann", "crash-bea", "crash-cal"} {
		users = append(users, crashUser{name: name, token: idp.token(t, name, gptOpaqueClient)})
	}
	m := &crashModel{events: map[string]*expected{}, pendingCreates: map[string]pendingCreate{}}
	for round := 0; ; round++ {
		r := startReplica(t, idp, db, map[string]string{"LOG_LEVEL": "info"})
		r.waitReady(t)
		m.verify(t, &testApp{URL: r.URL, idp: idp, t: t}, users)
		integrityCheck(t, db)
		if round == rounds {
			break
		}
		n := m.writeUntilKilled(t, r, users, minAcks+rng.IntN(maxAcks-minAcks), rng.Uint64(), round)
		t.Logf("round %d: killed after %d acknowledged writes; %d events in the model", round, n, len(m.events))
	}
}

type crashUser struct{ name, token string }

// crashModel is what the clients were told: every event whose create was
// answered 201, in the state of its last update answered 200.
type crashModel struct {
	mu     sync.Mutex
	acked  int // writes answered 2xx, over all rounds
	events map[string]*expected
	// pendingCreates are creates sent but not answered when the server
	// died, by title: each may or may not have committed.
	pendingCreates map[string]pendingCreate
}

type expected struct {
	user  string
	state eventState
	maybe *eventState // an update sent but not answered when the server died
}

type eventState struct{ Title, Notes string }

type pendingCreate struct {
	user  string
	state eventState
}

// writeUntilKilled runs six clients, each creating and updating its own
// events, and kills the server once the killAt-th write overall has been
// answered this round. It returns the writes answered 2xx.
func (m *crashModel) writeUntilKilled(t *testing.T, r *replica, users []crashUser, killAt int, seed uint64, round int) int {
	t.Helper()
	var answered atomic.Int64
	var killed atomic.Bool
	var killOnce sync.Once
	kill := func() {
		killOnce.Do(func() {
			killed.Store(true)
			r.cmd.Process.Kill()
		})
	}
	var wg sync.WaitGroup
	for g := range 6 {
		u := users[g%len(users)]
		rng := rand.New(rand.NewPCG(seed, uint64(g)))
		wg.Go(func() {
			var mine []string
			for n := 0; n < 2*killAt; n++ { // bounded; the kill comes first
				var err error
				if len(mine) < 3 || rng.IntN(2) == 0 {
					var id string
					state := eventState{Title: fmt.Sprintf("r%d-g%d-%d", round, g, n), Notes: "created"}
					if id, err = m.create(r.URL, u, state); err == nil {
						mine = append(mine, id)
					}
				} else {
					id := mine[rng.IntN(len(mine))]
					err = m.update(r.URL, u, id, eventState{Title: fmt.Sprintf("r%d-g%d-%d moved", round, g, n), Notes: fmt.Sprint("v", n)})
				}
				if err != nil {
					if !killed.Load() { // else killed mid-request: expected
						t.Errorf("client %d: %v", g, err)
						kill()
					}
					return
				}
				m.mu.Lock()
				m.acked++
				m.mu.Unlock()
				if answered.Add(1) == int64(killAt) {
					kill() // the others are mid-request
				}
			}
		})
	}
	wg.Wait()
	kill()
	<-r.done
	return int(answered.Load())
}

func (m *crashModel) create(base string, u crashUser, state eventState) (string, error) {
	body := map[string]any{"title": state.Title, "notes": state.Notes, "start": "2026-12-01T09:00:00Z", "request_id": state.Title}
	m.mu.Lock()
	m.pendingCreates[state.Title] = pendingCreate{user: u.name, state: state}
	m.mu.Unlock()
	r, err := callAPI(http.MethodPost, base+"/api/events", u.token, body)
	if err != nil {
		return "", err
	}
	if r.Status != http.StatusCreated {
		return "", fmt.Errorf("create: %d %s", r.Status, r.Body)
	}
	var ev struct{ ID, Title, Notes string }
	if err := json.Unmarshal(r.Body, &ev); err != nil || ev.ID == "" || ev.Title != state.Title || ev.Notes != state.Notes {
		return "", fmt.Errorf("create answered %s", r.Body)
	}
	m.mu.Lock()
	delete(m.pendingCreates, state.Title)
	m.events[ev.ID] = &expected{user: u.name, state: state}
	m.mu.Unlock()
	return ev.ID, nil
}

func (m *crashModel) update(base string, u crashUser, id string, state eventState) error {
	m.mu.Lock()
	m.events[id].maybe = &state
	m.mu.Unlock()
	r, err := callAPI(http.MethodPatch, base+"/api/events/"+id, u.token, map[string]any{"title": state.Title, "notes": state.Notes})
	if err != nil {
		return err
	}
	if r.Status != http.StatusOK {
		return fmt.Errorf("update %s: %d %s", id, r.Status, r.Body)
	}
	var ev struct{ ID, Title, Notes string }
	if err := json.Unmarshal(r.Body, &ev); err != nil || ev.ID != id || ev.Title != state.Title || ev.Notes != state.Notes {
		return fmt.Errorf("update answered %s", r.Body)
	}
	m.mu.Lock()
	m.events[id].state, m.events[id].maybe = state, nil
	m.mu.Unlock()
	return nil
}

// verify lists every user's events from the restarted server: each event
// answered 2xx is there in its acknowledged state (or in the state of the
// one write that was unanswered when the server died), and every event
// listed is one a client sent. The writes that turn out to have committed
// join the model.
func (m *crashModel) verify(t *testing.T, ta *testApp, users []crashUser) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range users {
		stored := listAllEvents(t, ta, u.token)
		for id, e := range m.events {
			if e.user != u.name {
				continue
			}
			got, ok := stored[id]
			switch {
			case !ok:
				t.Errorf("%s's event %s (%+v) was acknowledged, then lost", u.name, id, e.state)
			case got == e.state:
			case e.maybe != nil && got == *e.maybe:
				e.state = got // the unanswered update had committed
			default:
				t.Errorf("%s's event %s is %+v, acknowledged as %+v (unanswered: %+v)", u.name, id, got, e.state, e.maybe)
			}
			e.maybe = nil
		}
		for id, got := range stored {
			if _, ok := m.events[id]; ok {
				continue
			}
			if pc, ok := m.pendingCreates[got.Title]; ok && pc.user == u.name && pc.state == got {
				m.events[id] = &expected{user: u.name, state: got} // the unanswered create had committed
				continue
			}
			t.Errorf("%s has an event no client created: %s %+v", u.name, id, got)
		}
	}
	clear(m.pendingCreates)
}

// listAllEvents pages through a user's whole agenda.
func listAllEvents(t *testing.T, ta *testApp, token string) map[string]eventState {
	t.Helper()
	out := map[string]eventState{}
	cursor := ""
	for page := 0; ; page++ {
		if page > 1000 {
			t.Fatal("more than 1000 pages")
		}
		r := ta.call("GET", "/api/events?limit=200&cursor="+url.QueryEscape(cursor), token, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("list: %d %s", r.Status, r.Body)
		}
		var body struct {
			Events []struct {
				ID, Title, Notes string
			} `json:"events"`
			NextCursor string `json:"next_cursor"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		for _, e := range body.Events {
			out[e.ID] = eventState{Title: e.Title, Notes: e.Notes}
		}
		if cursor = body.NextCursor; cursor == "" {
			return out
		}
	}
}

// integrityCheck runs PRAGMA integrity_check on the SQLite file, read-only,
// beside the server if it runs.
func integrityCheck(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("PRAGMA integrity_check")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var report []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		report = append(report, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(report) != 1 || report[0] != "ok" {
		t.Errorf("PRAGMA integrity_check: %q", report)
	}
}
