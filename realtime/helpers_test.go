package realtime_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/agenda-gpt/agenda"
	"github.com/agenda-gpt/agenda/realtime"
)

// waitTimeout bounds every wait in these tests; none is expected to come
// near it.
const waitTimeout = 10 * time.Second

// snapshotFunc is a test's stand-in for the store's listing.
type snapshotFunc func(ctx context.Context, userID string) ([]agenda.Event, error)

func emptySnapshot(context.Context, string) ([]agenda.Event, error) { return nil, nil }

// testServer stands in for the api layer: it takes the user from the query
// string, as if authentication had resolved it, and hands over to the hub.
type testServer struct {
	*httptest.Server
	hub  *realtime.Hub
	errs chan error // what each Serve returned
}

func newServer(t testing.TB, opts realtime.Options, snapshot snapshotFunc) *testServer {
	t.Helper()
	return newServerWith(t, realtime.NewHub(opts), snapshot)
}

func newServerWith(t testing.TB, hub *realtime.Hub, snapshot snapshotFunc) *testServer {
	t.Helper()
	ts := &testServer{hub: hub, errs: make(chan error, 100)}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := r.URL.Query().Get("user")
		err := hub.Serve(w, r, user, func(ctx context.Context, yield func(agenda.Event) bool) error {
			events, err := snapshot(ctx, user)
			for _, ev := range events {
				if !yield(ev) {
					break
				}
			}
			return err
		})
		select {
		case ts.errs <- err:
		default: // a benchmark's thousands of connections: nobody asks
		}
	}))
	t.Cleanup(func() {
		hub.Close()
		ts.Server.Close()
	})
	return ts
}

func (ts *testServer) url(user string) string {
	return "ws" + strings.TrimPrefix(ts.URL, "http") + "/ws?user=" + url.QueryEscape(user)
}

// dial opens a connection for user and reads its snapshot, so that it is
// registered when dial returns.
func (ts *testServer) dial(t testing.TB, user string) *websocket.Conn {
	t.Helper()
	c := ts.dialOnly(t, user, nil)
	if m := read(t, c); m.Type != realtime.TypeSnapshot {
		t.Fatalf("first message for %s is %q, want a snapshot", user, m.Type)
	}
	return c
}

func (ts *testServer) dialOnly(t testing.TB, user string, header http.Header) *websocket.Conn {
	t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(ts.url(user), header)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial as %s: %v (HTTP %d)", user, err, status)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// serveErr returns what the next Serve to end returned.
func (ts *testServer) serveErr(t testing.TB) error {
	t.Helper()
	select {
	case err := <-ts.errs:
		return err
	case <-time.After(waitTimeout):
		t.Fatal("timed out waiting for Serve to return")
		return nil
	}
}

func read(t testing.TB, c *websocket.Conn) realtime.Message {
	t.Helper()
	m, err := readMessage(c)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return m
}

func readMessage(c *websocket.Conn) (realtime.Message, error) {
	c.SetReadDeadline(time.Now().Add(waitTimeout))
	var m realtime.Message
	err := c.ReadJSON(&m)
	return m, err
}

// readClose reads until the connection fails and returns the close code the
// server sent, or 1006 when the socket went without one.
func readClose(t testing.TB, c *websocket.Conn) int {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitTimeout))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("connection ended with %v, want a close", err)
		}
		return ce.Code
	}
}

// reader reads c on its own goroutine, as a browser tab does.
type reader struct {
	msgs chan realtime.Message
	err  chan error
}

func startReader(c *websocket.Conn) *reader {
	r := &reader{msgs: make(chan realtime.Message, 1024), err: make(chan error, 1)}
	go func() {
		for {
			c.SetReadDeadline(time.Time{})
			var m realtime.Message
			if err := c.ReadJSON(&m); err != nil {
				r.err <- err
				return
			}
			r.msgs <- m
		}
	}()
	return r
}

func (r *reader) next(t testing.TB) realtime.Message {
	t.Helper()
	select {
	case m := <-r.msgs:
		return m
	case err := <-r.err:
		t.Fatalf("connection failed: %v", err)
	case <-time.After(waitTimeout):
		t.Fatal("timed out waiting for a message")
	}
	return realtime.Message{}
}

// wait waits for ch to be closed, for at most waitTimeout.
func wait(t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitTimeout):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// eventually waits until cond holds, polling, for at most waitTimeout.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// noLeaks fails t unless the goroutine count comes back to base.
func noLeaks(t testing.TB, base int) {
	t.Helper()
	eventually(t, fmt.Sprintf("goroutines to come back to %d", base), func() bool {
		return runtime.NumGoroutine() <= base
	})
}

var day = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// change returns the n-th change of user's agenda: a create, an update or a
// delete, in turn.
func change(user string, n int) agenda.Change {
	types := []agenda.ChangeType{agenda.EventCreated, agenda.EventUpdated, agenda.EventDeleted}
	start := day.Add(time.Duration(n) * time.Hour)
	return agenda.Change{
		Type: types[n%len(types)],
		Event: agenda.Event{
			ID: fmt.Sprintf("%s-%d", user, n), UserID: user, Title: fmt.Sprintf("event %d", n),
			Start: start, TimeZone: "Europe/Paris", CreatedAt: day, UpdatedAt: start,
		},
	}
}

// expect fails t unless m is the message for ch.
func expect(t testing.TB, m realtime.Message, ch agenda.Change) {
	t.Helper()
	if m.Type != string(ch.Type) || m.Event == nil || m.Event.ID != ch.Event.ID {
		t.Fatalf("got %s, want %s %s", describe(m), ch.Type, ch.Event.ID)
	}
	if m.Event.Title != ch.Event.Title || !m.Event.Start.Equal(ch.Event.Start) {
		t.Fatalf("got %v, want %v", *m.Event, ch.Event)
	}
}

func describe(m realtime.Message) string {
	switch {
	case m.Event != nil:
		return m.Type + " " + m.Event.ID
	case m.Type == realtime.TypeSnapshot:
		return fmt.Sprintf("snapshot of %d events", len(m.Events))
	default:
		return fmt.Sprintf("%q", m.Type)
	}
}
