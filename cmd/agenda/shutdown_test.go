package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestGracefulShutdownUnderLoad cancels serveApp's context while writes are
// in flight: the requests inside the server finish with 2xx, WebSockets
// close with 1001, serveApp returns nil, and after a restart every write
// answered 2xx is there.
func TestGracefulShutdownUnderLoad(t *testing.T) {
	t.Parallel()
	idp := startIdP(t)
	app := startApp(t, idp, nil)
	stopped := make(chan struct{})
	acked := shutdownUnderLoad(t, idp, app, func() {
		go func() {
			app.Stop() // fails the test if serveApp returns an error
			close(stopped)
		}()
	})
	<-stopped
	app.Start()
	checkAcked(t, app.URL, acked)
}

// TestGracefulShutdownSIGTERM does the same to a server process with a
// real SIGTERM, which must also exit 0.
func TestGracefulShutdownSIGTERM(t *testing.T) {
	t.Parallel()
	idp := startIdP(t)
	db := t.TempDir() + "/agenda.db"
	r := startReplica(t, idp, db, nil)
	r.waitReady(t)
	acked := shutdownUnderLoad(t, idp, &testApp{URL: r.URL, idp: idp, t: t}, func() {
		if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	})
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not exit within 30 s of SIGTERM")
	}
	if code := r.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d after SIGTERM; log:\n%s", code, r.logs)
	}
	again := startReplica(t, idp, db, nil)
	again.waitReady(t)
	checkAcked(t, again.URL, acked)
}

// shutdownUnderLoad keeps three writers creating events and three
// WebSockets open, holds four more creates inside the server (waiting on
// the identity provider, for tokens it has not seen), then calls stop. The
// sockets must close with 1001 while the held creates wait; released, the
// held creates must be answered 201. It returns every create answered 2xx:
// event id → token.
func shutdownUnderLoad(t *testing.T, idp *testIdP, ta *testApp, stop func()) map[string]string {
	t.Helper()
	var mu sync.Mutex
	acked := map[string]string{}
	record := func(r response, tok string) { // on any goroutine
		var ev struct{ ID string }
		if err := json.Unmarshal(r.Body, &ev); err != nil || ev.ID == "" {
			t.Errorf("201 without an event: %s", r.Body)
			return
		}
		mu.Lock()
		acked[ev.ID] = tok
		mu.Unlock()
	}
	create := func(tok string) (response, error) {
		return callAPI(http.MethodPost, ta.URL+"/api/events", tok, map[string]any{"title": "Written during shutdown", "start": "2026-12-01T09:00:00Z"})
	}

	writers := make([]string, 3)
	for i := range writers {
		writers[i] = idp.token(t, fmt.Sprint("writer-", i), gptOpaqueClient)
		mustCallAPI(t, http.StatusOK, http.MethodGet, ta.URL+"/api/events", writers[i], nil) // cached from now on
	}
	closed := make([]chan error, 3)
	for i := range closed {
		ws := mustDialWS(t, ta, "", bearer(writers[0]))
		closed[i] = make(chan error, 1)
		go func() {
			ws.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
			for {
				if _, _, err := ws.conn.ReadMessage(); err != nil {
					closed[i] <- err
					return
				}
			}
		}()
	}

	gate := holdUserinfo(idp)
	defer gate.open()
	held := make([]string, 4)
	for i := range held {
		held[i] = idp.token(t, fmt.Sprint("held-", i), gptOpaqueClient)
	}

	// The writers run until the server stops taking requests.
	var wg sync.WaitGroup
	running := make(chan struct{}, len(writers))
	for _, tok := range writers {
		wg.Go(func() {
			for n := range 5000 {
				r, err := create(tok)
				if err != nil {
					return // the server has stopped listening
				}
				if r.Status != http.StatusCreated {
					t.Errorf("a create during shutdown: %d %s", r.Status, r.Body)
					return
				}
				record(r, tok)
				if n == 0 {
					running <- struct{}{}
				}
			}
		})
	}
	for range writers {
		<-running
	}
	results := make(chan error, len(held))
	for _, tok := range held {
		go func() {
			r, err := create(tok)
			if err == nil && r.Status != http.StatusCreated {
				t.Errorf("a create held over the shutdown: %d %s", r.Status, r.Body)
			} else if err == nil {
				record(r, tok)
			}
			results <- err
		}()
	}
	for range held {
		select {
		case <-gate.arrived:
		case <-time.After(10 * time.Second):
			t.Fatal("the held creates did not reach the identity provider")
		}
	}

	stop()
	for i, c := range closed {
		if err := <-c; !websocket.IsCloseError(err, websocket.CloseGoingAway) {
			t.Errorf("WebSocket %d: %v; want close 1001", i, err)
		}
	}
	gate.open()
	for range held {
		if err := <-results; err != nil {
			t.Errorf("a create in flight at shutdown failed: %v", err)
		}
	}
	wg.Wait()
	if len(acked) < len(writers)+len(held) {
		t.Fatalf("only %d creates answered", len(acked))
	}
	t.Logf("%d creates answered 2xx across the shutdown", len(acked))
	return acked
}

// checkAcked finds every acknowledged event on the restarted server.
func checkAcked(t *testing.T, base string, acked map[string]string) {
	t.Helper()
	for id, tok := range acked {
		if r, err := callAPI(http.MethodGet, base+"/api/events/"+id, tok, nil); err != nil || r.Status != http.StatusOK {
			t.Errorf("event %s answered 201 before the shutdown, then: %v %d %s", id, err, r.Status, r.Body)
		}
	}
}

// userinfoGate holds every userinfo request at the identity provider until
// opened, so a test can keep requests in flight inside the app.
type userinfoGate struct {
	idp     *testIdP
	arrived chan struct{}
	release chan struct{}
	once    sync.Once
}

func holdUserinfo(idp *testIdP) *userinfoGate {
	g := &userinfoGate{idp: idp, arrived: make(chan struct{}, 64), release: make(chan struct{})}
	idp.faults.next.Store(&handlerBox{g})
	return g
}

func (g *userinfoGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == userinfoPathTests {
		select {
		case g.arrived <- struct{}{}:
		default:
		}
		<-g.release
	}
	g.idp.Provider.ServeHTTP(w, r)
}

// open lets the held requests through and stops holding.
func (g *userinfoGate) open() {
	g.once.Do(func() {
		close(g.release)
		g.idp.faults.next.Store(&handlerBox{g.idp.Provider})
	})
}
