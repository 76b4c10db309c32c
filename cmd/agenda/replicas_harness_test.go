package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/agenda-gpt/agenda"
	"github.com/agenda-gpt/agenda/config"
	"github.com/agenda-gpt/agenda/realtime"
)

// The replica tests run the server as separate processes, as a deployment
// does: the test binary itself, re-executed with replicaEnv set, runs
// TestReplicaHelperProcess, which serves exactly as `agenda serve` does
// (config.Load from the environment, then serve) on a listening socket the
// test hands it as file descriptor 3. The socket exists before the process
// starts, so no port is picked and raced for, and a request sent at once
// waits in the socket's queue until the replica is ready.
const replicaEnv = "AGENDA_TEST_REPLICA"

// TestReplicaHelperProcess is the body of a replica process; run by the
// tests, it does nothing.
func TestReplicaHelperProcess(t *testing.T) {
	if os.Getenv(replicaEnv) != "1" {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	err := func() error {
		ln, err := net.FileListener(os.NewFile(3, "listener"))
		if err != nil {
			return err
		}
		cfg, err := config.Load(os.Getenv)
		if err != nil {
			return err
		}
		return serve(ctx, cfg, ln, newLogger(cfg, os.Stderr), os.Stderr)
	}()
	if err != nil {
		fmt.Fprintln(os.Stderr, "replica:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// replica is one server process.
type replica struct {
	URL  string
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{} // closed when the process has exited
}

// Pid is the replica's process id; its PostgreSQL listener is named
// agenda-listener-<pid>.
func (r *replica) Pid() int { return r.cmd.Process.Pid }

// startReplicas starts n replicas on databaseURL, signed in through idp,
// and waits until each answers /readyz.
func startReplicas(t testing.TB, idp *testIdP, databaseURL string, n int, settings map[string]string) []*replica {
	t.Helper()
	rs := make([]*replica, n)
	for i := range rs {
		rs[i] = startReplica(t, idp, databaseURL, settings)
	}
	for _, r := range rs {
		r.waitReady(t)
	}
	return rs
}

func startReplica(t testing.TB, idp *testIdP, databaseURL string, settings map[string]string) *replica {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.(*net.TCPListener).File()
	ln.Close() // f keeps the socket open and listening
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close() // the child has its own copy
	port := ln.Addr().(*net.TCPAddr).Port

	env := map[string]string{
		replicaEnv:           "1",
		"BASE_URL":           "http://127.0.0.1:" + strconv.Itoa(port),
		"PORT":               strconv.Itoa(port),
		"DATABASE_URL":       databaseURL,
		"DB_MAX_CONNS":       "4",
		"LOGTO_ENDPOINT":     idp.URL,
		"LOGTO_API_RESOURCE": apiResource,
		"LOGTO_APP_ID":       webClient,
		"LOGTO_APP_SECRET":   clientSecret,
		"SESSION_SECRET":     strings.Repeat("x", 32),
		"IDP_TIMEOUT":        "5s",
		"RATE_LIMIT":         "100000",
		"RATE_BURST":         "100000",
		"LOG_LEVEL":          "warn",
	}
	for k, v := range settings {
		env[k] = v
	}
	// Only what the process needs: a developer's own DATABASE_URL or
	// LOGTO_* must not leak into it.
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "GOCOVERDIR", "CI"} {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	r := &replica{URL: env["BASE_URL"], logs: &syncBuffer{}, done: make(chan struct{})}
	r.cmd = exec.Command(os.Args[0], "-test.run=^TestReplicaHelperProcess$")
	for k, v := range env {
		r.cmd.Env = append(r.cmd.Env, k+"="+v)
	}
	r.cmd.ExtraFiles = []*os.File{f}
	r.cmd.Stdout, r.cmd.Stderr = r.logs, r.logs
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		r.cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		r.stop(t)
		if t.Failed() {
			t.Logf("replica %s (pid %d) log:\n%s", r.URL, r.Pid(), r.logs.String())
		}
	})
	return r
}

// waitReady waits for the replica's first answer: the request queues on
// the socket until the process serves, or fails if it exits first.
func (r *replica) waitReady(t testing.TB) {
	t.Helper()
	client := &http.Client{Timeout: 60 * time.Second}
	resp, err := client.Get(r.URL + "/readyz")
	if err != nil {
		t.Fatalf("replica %s did not start: %v\n%s", r.URL, err, r.logs.String())
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("replica %s is not ready: %d\n%s", r.URL, resp.StatusCode, r.logs.String())
	}
}

// stop ends the replica with SIGTERM, as an orchestrator does, and waits.
func (r *replica) stop(t testing.TB) {
	select {
	case <-r.done:
		return
	default:
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		t.Errorf("replica %s did not stop within 30s of SIGTERM", r.URL)
		r.cmd.Process.Kill()
		<-r.done
	}
}

// kill ends the replica with SIGKILL: no shutdown at all.
func (r *replica) kill(t testing.TB) {
	if err := r.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-r.done
}

// mustCallAPI calls the API and fails the test unless the status is want.
func mustCallAPI(t testing.TB, want int, method, url, token string, body any) response {
	t.Helper()
	r, err := callAPI(method, url, token, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	if r.Status != want {
		t.Fatalf("%s %s: %d %s, want %d", method, url, r.Status, r.Body, want)
	}
	return r
}

func decodeEvent(t testing.TB, r response) agenda.Event {
	t.Helper()
	var e agenda.Event
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Fatalf("not an event: %s", r.Body)
	}
	return e
}

// feedMessage is a message a browser received, and when.
type feedMessage struct {
	realtime.Message
	At time.Time
}

// feed is a browser tab: a WebSocket of one user on one replica.
type feed struct {
	conn *websocket.Conn
	msgs chan feedMessage // closed when the connection has ended
	mu   sync.Mutex
	err  error // why it ended
}

// openFeed opens the live feed of the token's user on the replica at base and
// returns once the first snapshot has arrived: from then on the connection
// receives every change.
func openFeed(t testing.TB, base, token string) *feed {
	t.Helper()
	u := "ws" + strings.TrimPrefix(base, "http") + "/ws?from=2000-01-01T00:00:00Z"
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	conn, resp, err := d.Dial(u, http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	resp.Body.Close()
	c := &feed{conn: conn, msgs: make(chan feedMessage, 4096)}
	go c.read()
	t.Cleanup(func() { conn.Close() })
	if m := c.next(t); m.Type != realtime.TypeSnapshot {
		t.Fatalf("first message %q, want a snapshot", m.Type)
	}
	return c
}

func (c *feed) read() {
	defer close(c.msgs)
	for {
		_, b, err := c.conn.ReadMessage()
		at := time.Now()
		if err == nil {
			var m realtime.Message
			if err = json.Unmarshal(b, &m); err == nil {
				c.msgs <- feedMessage{Message: m, At: at}
				continue
			}
		}
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
		return
	}
}

// feedTimeout bounds the wait for one message: generous, since a loaded CI
// machine may be slow, yet finite.
const feedTimeout = 20 * time.Second

// next returns the next message, failing the test if none comes.
func (c *feed) next(t testing.TB) feedMessage {
	t.Helper()
	select {
	case m, ok := <-c.msgs:
		if !ok {
			c.mu.Lock()
			defer c.mu.Unlock()
			t.Fatalf("the WebSocket ended: %v", c.err)
		}
		return m
	case <-time.After(feedTimeout):
		t.Fatalf("no message within %s", feedTimeout)
	}
	panic("unreachable")
}

// nextChange returns the next message, which must be a change.
func (c *feed) nextChange(t testing.TB) feedMessage {
	t.Helper()
	m := c.next(t)
	if m.Type == realtime.TypeSnapshot || m.Event == nil {
		t.Fatalf("got a %s message, want a change", m.Type)
	}
	return m
}

// ended waits until the connection ends and returns why.
func (c *feed) ended(t testing.TB) error {
	t.Helper()
	deadline := time.After(feedTimeout)
	for {
		select {
		case _, ok := <-c.msgs:
			if !ok {
				c.mu.Lock()
				defer c.mu.Unlock()
				return c.err
			}
		case <-deadline:
			t.Fatalf("the WebSocket still runs after %s", feedTimeout)
		}
	}
}

// view is what a browser shows: the last snapshot with the changes since
// applied, by id.
type feedView map[string]agenda.Event

func (v feedView) apply(m realtime.Message) {
	switch m.Type {
	case realtime.TypeSnapshot:
		clear(v)
		for _, e := range m.Events {
			v[e.ID] = e
		}
	case string(agenda.EventDeleted):
		delete(v, m.Event.ID)
	default:
		v[m.Event.ID] = *m.Event
	}
}
