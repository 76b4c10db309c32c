package realtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/agenda-gpt/agenda"
	"github.com/agenda-gpt/agenda/realtime"
)

// Every tab of the owner gets each change once, in publish order; no one
// else gets any of it.
func TestPublishReachesOnlyTheOwnersTabs(t *testing.T) {
	const n = 600
	ts := newServer(t, realtime.Options{QueueSize: 2 * n}, emptySnapshot)
	alice := []*websocket.Conn{ts.dial(t, "alice"), ts.dial(t, "alice"), ts.dial(t, "alice")}
	bob := ts.dial(t, "bob")
	if got := ts.hub.Connections(); got != 4 {
		t.Fatalf("Connections() = %d, want 4", got)
	}
	if got := ts.hub.UserConnections("alice"); got != 3 {
		t.Fatalf("UserConnections(alice) = %d, want 3", got)
	}

	var toAlice, toBob []agenda.Change
	for i := range n {
		ch := change("alice", i)
		ts.hub.Publish(ch)
		toAlice = append(toAlice, ch)
		if i%10 == 0 {
			ch := change("bob", i)
			ts.hub.Publish(ch)
			toBob = append(toBob, ch)
		}
		ts.hub.Publish(change("carol", i)) // no tab open: nothing to do
	}
	// A last change each, so that anything sent to the wrong user would
	// show up before it.
	last := func(user string) agenda.Change {
		ch := change(user, n)
		ch.Event.ID = user + "-last"
		return ch
	}
	ts.hub.Publish(last("alice"))
	ts.hub.Publish(last("bob"))
	toAlice = append(toAlice, last("alice"))
	toBob = append(toBob, last("bob"))

	for i, c := range alice {
		for _, want := range toAlice {
			m := read(t, c)
			if m.Event != nil && !strings.HasPrefix(m.Event.ID, "alice-") {
				t.Fatalf("alice's tab %d got %s", i, describe(m))
			}
			expect(t, m, want)
		}
	}
	for _, want := range toBob {
		expect(t, read(t, bob), want)
	}
	if got := ts.hub.Dropped(); got != 0 {
		t.Errorf("Dropped() = %d, want 0", got)
	}
}

// The connection joins its room before the snapshot is loaded, so a change
// committed while the snapshot loads is sent right after it.
func TestSnapshotComesFirstAndLosesNothing(t *testing.T) {
	loading := make(chan struct{})
	release := make(chan struct{})
	ts := newServer(t, realtime.Options{}, func(ctx context.Context, user string) ([]agenda.Event, error) {
		close(loading)
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return []agenda.Event{change(user, 0).Event}, nil
	})
	c := ts.dialOnly(t, "alice", nil)

	wait(t, loading, "the snapshot to load")
	if got := ts.hub.UserConnections("alice"); got != 1 {
		t.Fatalf("while the snapshot loads, UserConnections(alice) = %d, want 1", got)
	}
	var during []agenda.Change
	for i := 1; i <= 5; i++ {
		ch := change("alice", i)
		ts.hub.Publish(ch)
		during = append(during, ch)
	}
	close(release)

	m := read(t, c)
	if m.Type != realtime.TypeSnapshot || len(m.Events) != 1 || m.Events[0].ID != "alice-0" {
		t.Fatalf("first message is %s %v, want the snapshot of alice-0", describe(m), m.Events)
	}
	for _, want := range during {
		expect(t, read(t, c), want)
	}
}

// The bytes on the wire are what the browser's script and other Go clients
// decode.
func TestWireFormat(t *testing.T) {
	ts := newServer(t, realtime.Options{}, emptySnapshot)
	c := ts.dialOnly(t, "alice", nil)

	readRaw := func() string {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(waitTimeout))
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return string(b)
	}
	if got, want := readRaw(), `{"type":"snapshot","events":[]}`; got != want {
		t.Errorf("empty snapshot:\n got %s\nwant %s", got, want)
	}
	ch := change("alice", 1)
	ts.hub.Publish(ch)
	event, err := json.Marshal(ch.Event)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := readRaw(), `{"type":"event.updated","event":`+string(event)+`}`; got != want {
		t.Errorf("change:\n got %s\nwant %s", got, want)
	}
	if strings.Contains(string(event), "alice\"") {
		t.Errorf("the event's wire form carries its owner: %s", event)
	}
}

func TestOrigin(t *testing.T) {
	allowed := []string{"http://localhost:8080", "HTTPS://Agenda.Example.com/"}
	tests := []struct {
		name    string
		allowed []string
		origin  string // "SAME" for the test server's own origin
		ok      bool
	}{
		{"listed", allowed, "http://localhost:8080", true},
		{"listed, spelt differently in the options", allowed, "https://agenda.example.com", true},
		{"absent: not a browser", allowed, "", true},
		{"another site", allowed, "https://evil.example", false},
		{"another port", allowed, "http://localhost:9090", false},
		{"another scheme", allowed, "https://localhost:8080", false},
		{"opaque", allowed, "null", false},
		{"own host, not listed", allowed, "SAME", false},
		{"own host, no list", nil, "SAME", true},
		{"another site, no list", nil, "https://evil.example", false},
		{"absent, no list", nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newServer(t, realtime.Options{AllowedOrigins: tt.allowed}, emptySnapshot)
			header := http.Header{}
			switch tt.origin {
			case "":
			case "SAME":
				header.Set("Origin", ts.URL)
			default:
				header.Set("Origin", tt.origin)
			}
			c, resp, err := websocket.DefaultDialer.Dial(ts.url("alice"), header)
			if tt.ok {
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				defer c.Close()
				if m := read(t, c); m.Type != realtime.TypeSnapshot {
					t.Fatalf("first message is %s", describe(m))
				}
				return
			}
			if err == nil {
				c.Close()
				t.Fatal("dial succeeded, want 403")
			}
			if resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("dial: %v, response %v; want 403", err, resp)
			}
			if err := ts.serveErr(t); agenda.ErrorCode(err) != agenda.EFORBIDDEN || !strings.Contains(agenda.ErrorMessage(err), "ALLOWED_ORIGINS") {
				t.Errorf("Serve returned %v, want EFORBIDDEN naming ALLOWED_ORIGINS", err)
			}
			if got := ts.hub.Connections(); got != 0 {
				t.Errorf("Connections() = %d after a refusal", got)
			}
		})
	}
}

// A tab that stops reading is dropped once its queue fills, and neither the
// publisher nor the other tabs wait for it.
func TestStalledClientIsDropped(t *testing.T) {
	ts := newServer(t, realtime.Options{QueueSize: 8}, emptySnapshot)
	base := runtime.NumGoroutine()
	stalled := ts.dial(t, "alice") // never read again, until the end
	alice := startReader(ts.dial(t, "alice"))
	bob := startReader(ts.dial(t, "bob"))

	// Big changes fill the socket buffers of the stalled tab quickly. Each
	// is awaited on the healthy tabs before the next, so that only the
	// stalled tab can fall behind; Publish itself never waits for anyone,
	// or this loop would hang.
	notes := strings.Repeat("n", agenda.MaxNotesLength)
	publish := func(i int) {
		t.Helper()
		a := change("alice", i)
		a.Event.Notes = notes
		ts.hub.Publish(a)
		b := change("bob", i)
		ts.hub.Publish(b)
		expect(t, alice.next(t), a)
		expect(t, bob.next(t), b)
	}
	i := 0
	for ; ts.hub.UserConnections("alice") == 2; i++ {
		if i == 50_000 { // 200 MB: far beyond any socket buffer
			t.Fatal("the stalled tab was never dropped")
		}
		publish(i)
	}
	t.Logf("dropped after %d changes", i)
	for end := i + 20; i < end; i++ {
		publish(i)
	}

	if got := ts.hub.Dropped(); got != 1 {
		t.Errorf("Dropped() = %d, want 1", got)
	}
	// The stalled tab finds its connection closed once it reads again:
	// with 1013 when the close frame got through, else cut.
	if code := readClose(t, stalled); code != websocket.CloseTryAgainLater && code != websocket.CloseAbnormalClosure {
		t.Errorf("stalled tab closed with %d, want 1013 or 1006", code)
	}
	ts.hub.Close()
	noLeaks(t, base)
}

// A tab that is merely behind, not stalled, is told why it was dropped.
func TestOverflowCloseCode(t *testing.T) {
	loading := make(chan struct{})
	release := make(chan struct{})
	ts := newServer(t, realtime.Options{QueueSize: 1}, func(ctx context.Context, user string) ([]agenda.Event, error) {
		close(loading)
		<-release
		return nil, nil
	})
	// While the snapshot loads nothing is sent, so the queue fills at
	// once; the close frame then goes out on an idle socket.
	c := ts.dialOnly(t, "alice", nil)
	wait(t, loading, "the snapshot to load")
	ts.hub.Publish(change("alice", 1))
	ts.hub.Publish(change("alice", 2))
	if got := ts.hub.UserConnections("alice"); got != 0 {
		t.Fatalf("UserConnections(alice) = %d after an overflow, want 0", got)
	}
	close(release)
	if code := readClose(t, c); code != websocket.CloseTryAgainLater {
		t.Errorf("closed with %d, want 1013", code)
	}
	if err := ts.serveErr(t); !errors.Is(err, realtime.ErrTooSlow) {
		t.Errorf("Serve returned %v, want ErrTooSlow", err)
	}
}

// Connections that end, however they end, leave no goroutine behind.
func TestNoGoroutineLeaks(t *testing.T) {
	ts := newServer(t, realtime.Options{}, func(ctx context.Context, user string) ([]agenda.Event, error) {
		if user == "slow" { // loads until the client gives up
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return nil, nil
	})
	base := runtime.NumGoroutine()

	var polite, abrupt []*websocket.Conn
	for i := range 20 {
		user := []string{"alice", "bob", "carol", "dan"}[i%4]
		if i%2 == 0 {
			polite = append(polite, ts.dial(t, user))
		} else {
			abrupt = append(abrupt, ts.dial(t, user))
		}
	}
	slow := ts.dialOnly(t, "slow", nil)
	eventually(t, "21 connections", func() bool { return ts.hub.Connections() == 21 })
	// Handlers return once their snapshot is sent; what stays is the
	// connections' own goroutines.
	eventually(t, "at most 2 goroutines per connection", func() bool {
		return runtime.NumGoroutine()-base <= 2*21
	})

	for _, c := range polite {
		msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "tab closed")
		c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(waitTimeout))
		readClose(t, c) // the server's answer
		c.Close()
	}
	for _, c := range abrupt {
		c.NetConn().Close()
	}
	slow.Close()

	eventually(t, "no connections", func() bool { return ts.hub.Connections() == 0 })
	noLeaks(t, base)
	for range 21 {
		if err := ts.serveErr(t); err != nil {
			t.Errorf("Serve returned %v for a client that left", err)
		}
	}
}

// Close says "going away" to every client, waits for their connections to
// end, and refuses new ones.
func TestClose(t *testing.T) {
	ts := newServer(t, realtime.Options{}, emptySnapshot)
	base := runtime.NumGoroutine()
	conns := []*websocket.Conn{ts.dial(t, "alice"), ts.dial(t, "alice"), ts.dial(t, "bob")}

	closed := make(chan struct{})
	go func() {
		ts.hub.Close()
		close(closed)
	}()
	for i, c := range conns {
		if code := readClose(t, c); code != websocket.CloseGoingAway {
			t.Errorf("client %d closed with %d, want 1001", i, code)
		}
	}
	wait(t, closed, "Close to return")
	if got := ts.hub.Connections(); got != 0 {
		t.Errorf("Connections() = %d after Close", got)
	}
	for range conns {
		if err := ts.serveErr(t); err != nil {
			t.Errorf("Serve returned %v on Close", err)
		}
	}
	noLeaks(t, base)

	_, resp, err := websocket.DefaultDialer.Dial(ts.url("alice"), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial after Close: %v, %v; want 503", err, resp)
	}
	if err := ts.serveErr(t); agenda.ErrorCode(err) != agenda.EUNAVAILABLE {
		t.Errorf("Serve after Close returned %v, want EUNAVAILABLE", err)
	}
	ts.hub.Close() // a second Close is harmless
}

// Close does not wait for a snapshot that honours its context.
func TestCloseStopsSnapshotLoad(t *testing.T) {
	loading := make(chan struct{})
	ts := newServer(t, realtime.Options{}, func(ctx context.Context, user string) ([]agenda.Event, error) {
		close(loading)
		<-ctx.Done()
		return nil, ctx.Err()
	})
	c := ts.dialOnly(t, "alice", nil)
	wait(t, loading, "the snapshot to load")
	closed := make(chan struct{})
	go func() {
		ts.hub.Close()
		close(closed)
	}()
	if code := readClose(t, c); code != websocket.CloseGoingAway {
		t.Errorf("closed with %d, want 1001", code)
	}
	wait(t, closed, "Close to return")
	if err := ts.serveErr(t); err != nil {
		t.Errorf("Serve returned %v, want nil", err)
	}
}

// Resync sends every connection a fresh snapshot of its own user.
func TestResync(t *testing.T) {
	var loads atomic.Int64
	ts := newServer(t, realtime.Options{}, func(ctx context.Context, user string) ([]agenda.Event, error) {
		return []agenda.Event{change(user, int(loads.Add(1))).Event}, nil
	})
	conns := map[string]*websocket.Conn{"alice": ts.dial(t, "alice"), "bob": ts.dial(t, "bob")}

	ts.hub.Resync()
	for user, c := range conns {
		m := read(t, c)
		if m.Type != realtime.TypeSnapshot || len(m.Events) != 1 || !strings.HasPrefix(m.Events[0].ID, user+"-") {
			t.Fatalf("%s got %s %v after Resync, want a snapshot of their own", user, describe(m), m.Events)
		}
	}
	if got := loads.Load(); got != 4 {
		t.Errorf("%d snapshot loads, want 4 (2 on connect, 2 on Resync)", got)
	}
	ch := change("alice", 100)
	ts.hub.Publish(ch)
	expect(t, read(t, conns["alice"]), ch)
}

// A snapshot that cannot be loaded closes the connection so that the
// client tries again, and Serve reports why.
func TestSnapshotFailure(t *testing.T) {
	boom := errors.New("database is down")
	ts := newServer(t, realtime.Options{}, func(context.Context, string) ([]agenda.Event, error) {
		return nil, boom
	})
	c := ts.dialOnly(t, "alice", nil)
	if code := readClose(t, c); code != websocket.CloseInternalServerErr {
		t.Errorf("closed with %d, want 1011", code)
	}
	if err := ts.serveErr(t); !errors.Is(err, boom) {
		t.Errorf("Serve returned %v, want the snapshot's error", err)
	}
}

// What clients send is ignored, up to a small limit.
func TestClientMessages(t *testing.T) {
	ts := newServer(t, realtime.Options{}, emptySnapshot)
	c := ts.dial(t, "alice")
	if err := c.WriteMessage(websocket.TextMessage, []byte(`{"hello":"server"}`)); err != nil {
		t.Fatal(err)
	}
	ch := change("alice", 1)
	ts.hub.Publish(ch)
	expect(t, read(t, c), ch)

	if err := c.WriteMessage(websocket.TextMessage, make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	if code := readClose(t, c); code != websocket.CloseMessageTooBig {
		t.Errorf("closed with %d, want 1009", code)
	}
}

// The server pings; a client that answers stays, one that does not goes.
func TestKeepAlive(t *testing.T) {
	hub := realtime.NewHub(realtime.Options{})
	hub.SetKeepAlive(50*time.Millisecond, 500*time.Millisecond)
	ts := newServerWith(t, hub, emptySnapshot)

	alive := ts.dial(t, "alive")
	var pings atomic.Int64
	alive.SetPingHandler(func(data string) error {
		pings.Add(1)
		return alive.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	r := startReader(alive)
	ts.dial(t, "silent") // reads nothing, so answers no ping

	eventually(t, "the silent client to be dropped", func() bool { return hub.UserConnections("silent") == 0 })
	eventually(t, "20 pings, twice the pong wait", func() bool { return pings.Load() >= 20 })
	if got := hub.UserConnections("alive"); got != 1 {
		t.Fatalf("UserConnections(alive) = %d, want 1", got)
	}
	ch := change("alive", 1)
	hub.Publish(ch)
	expect(t, r.next(t), ch)
}

// Concurrent publishers are serialised: every tab sees the same order, and
// each publisher's changes in the order it made them.
func TestConcurrentPublishers(t *testing.T) {
	const publishers, each = 4, 100
	ts := newServer(t, realtime.Options{QueueSize: publishers * each}, emptySnapshot)
	tabs := []*websocket.Conn{ts.dial(t, "alice"), ts.dial(t, "alice")}

	done := make(chan struct{})
	for p := range publishers {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range each {
				ts.hub.Publish(change("alice", p*each+i))
			}
		}()
	}
	for range publishers {
		<-done
	}

	var orders [][]string
	for _, c := range tabs {
		var ids []string
		last := map[int]int{} // publisher → last index seen
		for range publishers * each {
			m := read(t, c)
			var n int
			if _, err := fmt.Sscanf(m.Event.ID, "alice-%d", &n); err != nil {
				t.Fatalf("unexpected %s", describe(m))
			}
			if prev, ok := last[n/each]; ok && n <= prev {
				t.Fatalf("publisher %d's change %d came after its change %d", n/each, n, prev)
			}
			last[n/each] = n
			ids = append(ids, m.Event.ID)
		}
		orders = append(orders, ids)
	}
	if !slices.Equal(orders[0], orders[1]) {
		t.Error("the two tabs saw the changes in different orders")
	}
}

// Requests that cannot become a connection are answered, and Serve says why.
func TestServeRefusals(t *testing.T) {
	ts := newServer(t, realtime.Options{}, emptySnapshot)
	tests := []struct {
		name   string
		user   string
		status int
	}{
		{"not a WebSocket handshake", "alice", http.StatusBadRequest},
		{"no user", "", http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Get(ts.URL + "/ws?user=" + tt.user)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if err := ts.serveErr(t); err == nil {
				t.Error("Serve returned nil")
			}
		})
	}
}

// A user past MaxPerUser makes room: the oldest connection is closed with
// CloseTooManyConnections, the others and other users' stay (issue 14,
// item 1).
func TestMaxPerUser(t *testing.T) {
	ts := newServer(t, realtime.Options{MaxPerUser: 2}, emptySnapshot)
	first := ts.dial(t, "alice")
	second := ts.dial(t, "alice")
	bob := ts.dial(t, "bob")
	third := ts.dial(t, "alice")
	if code := readClose(t, first); code != realtime.CloseTooManyConnections {
		t.Errorf("the oldest connection closed with %d, want %d", code, realtime.CloseTooManyConnections)
	}
	if got := ts.hub.UserConnections("alice"); got != 2 {
		t.Errorf("UserConnections(alice) = %d, want 2", got)
	}
	fourth := ts.dial(t, "alice")
	if code := readClose(t, second); code != realtime.CloseTooManyConnections {
		t.Errorf("the next oldest closed with %d, want %d", code, realtime.CloseTooManyConnections)
	}
	ts.hub.Publish(change("alice", 1))
	ts.hub.Publish(change("bob", 2))
	expect(t, read(t, third), change("alice", 1))
	expect(t, read(t, fourth), change("alice", 1))
	expect(t, read(t, bob), change("bob", 2))
}

// Past MaxConnections in all, Admit and Serve refuse with EUNAVAILABLE
// before the upgrade, so the process keeps descriptors to answer requests
// (issue 14, item 2).
func TestMaxConnections(t *testing.T) {
	ts := newServer(t, realtime.Options{MaxConnections: 2}, emptySnapshot)
	ts.dial(t, "alice")
	ts.dial(t, "bob")
	<-ts.errs
	<-ts.errs
	_, resp, err := websocket.DefaultDialer.Dial(ts.url("carol"), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a third connection: %v %v, want 503", err, resp)
	}
	if err := ts.serveErr(t); agenda.ErrorCode(err) != agenda.EUNAVAILABLE || !strings.Contains(agenda.ErrorMessage(err), "as many live connections") {
		t.Errorf("Serve returned %v, want EUNAVAILABLE", err)
	}
}

// A snapshot is cut at SnapshotMaxBytes, says so, and keeps the earliest
// events whole; the snapshot function is stopped rather than read to its
// end (issue 14, item 1).
func TestSnapshotByteBound(t *testing.T) {
	big := strings.Repeat(`"`, agenda.MaxNotesLength) // escaped: twice as long
	const total = 2000
	var yielded atomic.Int64
	ts := newServerWith(t, realtime.NewHub(realtime.Options{}), nil)
	ts.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := ts.hub.Serve(w, r, "alice", func(ctx context.Context, yield func(agenda.Event) bool) error {
			for i := range total {
				ev := change("alice", i).Event
				ev.Notes = big
				yielded.Add(1)
				if !yield(ev) {
					return nil
				}
			}
			return nil
		})
		ts.errs <- err
	})
	c := ts.dialOnly(t, "alice", nil)
	c.SetReadDeadline(time.Now().Add(waitTimeout))
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	var m realtime.Message
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("a cut snapshot is not JSON: %v", err)
	}
	if len(b) > realtime.SnapshotMaxBytes || !m.Truncated || len(m.Events) == 0 || len(m.Events) >= total {
		t.Fatalf("snapshot of %d bytes, %d events, truncated %v; want at most %d bytes, cut", len(b), len(m.Events), m.Truncated, realtime.SnapshotMaxBytes)
	}
	for i, ev := range m.Events {
		if ev.ID != change("alice", i).Event.ID || ev.Notes != big {
			t.Fatalf("event %d of the snapshot is %s, want the %dth, whole", i, ev.ID, i)
		}
	}
	if n := yielded.Load(); n != int64(len(m.Events))+1 {
		t.Errorf("the snapshot function produced %d events for %d sent, want it stopped after one more", n, len(m.Events))
	}
	// Below the bound, the same message carries no truncated field.
	small := newServer(t, realtime.Options{}, func(context.Context, string) ([]agenda.Event, error) {
		return []agenda.Event{change("alice", 1).Event}, nil
	})
	sc := small.dialOnly(t, "alice", nil)
	sc.SetReadDeadline(time.Now().Add(waitTimeout))
	if _, b, err := sc.ReadMessage(); err != nil || strings.Contains(string(b), "truncated") {
		t.Errorf("a small snapshot: %v %.80s", err, b)
	}
}

// A window with more than SnapshotMaxEvents events is cut to its earliest
// ones and says so, like one cut at SnapshotMaxBytes.
func TestSnapshotEventBound(t *testing.T) {
	ts := newServer(t, realtime.Options{}, func(context.Context, string) ([]agenda.Event, error) {
		events := make([]agenda.Event, realtime.SnapshotMaxEvents+500)
		for i := range events {
			events[i] = change("alice", i).Event
		}
		return events, nil
	})
	m := read(t, ts.dialOnly(t, "alice", nil))
	if len(m.Events) != realtime.SnapshotMaxEvents || !m.Truncated || m.Events[0].ID != change("alice", 0).Event.ID {
		t.Errorf("snapshot of %d events, truncated %v; want the first %d, truncated", len(m.Events), m.Truncated, realtime.SnapshotMaxEvents)
	}
}

// One user's snapshots are built two at a time, however many tabs open at
// once, so that tabs slow to read cannot hold the whole snapshot budget;
// another user's are not held up (issue 14, item 1).
func TestSnapshotsPerUser(t *testing.T) {
	var running, most atomic.Int64
	release := make(chan struct{})
	started := make(chan string, 16)
	ts := newServer(t, realtime.Options{}, func(ctx context.Context, user string) ([]agenda.Event, error) {
		if user == "bob" {
			started <- user
			return nil, nil
		}
		n := running.Add(1)
		defer running.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		started <- user
		<-release
		return nil, nil
	})
	var conns []*websocket.Conn
	for range 4 {
		conns = append(conns, ts.dialOnly(t, "alice", nil))
	}
	<-started
	<-started // two of alice's are loading; the others wait for them
	bob := ts.dialOnly(t, "bob", nil)
	if u := <-started; u != "bob" {
		t.Fatalf("a third snapshot of alice's started (%s) while two were loading", u)
	}
	read(t, bob)
	close(release)
	for _, c := range conns {
		read(t, c)
	}
	if n := most.Load(); n != 2 {
		t.Errorf("%d of alice's snapshots were built at once, want 2", n)
	}
}
