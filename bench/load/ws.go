package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// wsResult is one scenario of many open WebSockets.
type wsResult struct {
	name       string
	users      int
	conns      int
	rssBefore  int64
	rssAfter   int64
	openTime   time.Duration
	pushes     int
	deliveries int
	lat        []time.Duration // sorted: from sending the create to the change read by a client
}

func (r wsResult) perConn() int64 { return (r.rssAfter - r.rssBefore) / int64(r.conns) }

func (r wsResult) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[min(len(r.lat)-1, int(float64(len(r.lat))*p))]
}

// wsLoad holds the clients' side of a scenario.
type wsLoad struct {
	sent      []atomic.Int64 // when push n was sent, in Unix nanoseconds
	remaining atomic.Int64   // deliveries still awaited for the current push
	done      chan struct{}  // signalled when remaining reaches zero

	mu  sync.Mutex
	lat []time.Duration
}

// arrived records that a client read push n.
func (l *wsLoad) arrived(n int, at time.Time) {
	if n < 0 || n >= len(l.sent) {
		return
	}
	l.mu.Lock()
	l.lat = append(l.lat, at.Sub(time.Unix(0, l.sent[n].Load())))
	l.mu.Unlock()
	if l.remaining.Add(-1) == 0 {
		l.done <- struct{}{}
	}
}

// pushNumber finds the n of a change to an event titled "push-n".
func pushNumber(msg []byte) int {
	const key = `"title":"push-`
	i := bytes.Index(msg, []byte(key))
	if i < 0 {
		return -1
	}
	rest := msg[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return -1
	}
	n, err := strconv.Atoi(string(rest[:j]))
	if err != nil {
		return -1
	}
	return n
}

// runWS opens conns WebSockets spread over the users (tokens[i] is user
// i's), measures the server's RSS before and after, then creates pushes
// events one at a time through the API and times each change's arrival at
// every connection of its owner.
func runWS(ctx context.Context, name string, srv *server, tokens []string, conns, pushes int) (wsResult, error) {
	res := wsResult{name: name, users: len(tokens), conns: conns, pushes: pushes}
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	dialer := &websocket.Dialer{HandshakeTimeout: 20 * time.Second, ReadBufferSize: 512, WriteBufferSize: 512}

	// Warm the server's upgrade path before the baseline.
	for i := range min(10, len(tokens)) {
		c, err := dialWS(ctx, dialer, wsURL, tokens[i])
		if err != nil {
			return res, err
		}
		c.Close()
	}
	var err error
	if res.rssBefore, err = srv.rssBytes(); err != nil {
		return res, err
	}

	load := &wsLoad{sent: make([]atomic.Int64, pushes), done: make(chan struct{}, 1)}
	open := make([]*websocket.Conn, conns)
	var wg sync.WaitGroup
	var firstErr error
	var errMu sync.Mutex
	sem := make(chan struct{}, 64) // dials in flight: below the listen backlog
	start := time.Now()
	for i := range conns {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := dialWS(ctx, dialer, wsURL, tokens[i%len(tokens)])
			if err != nil {
				errMu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("connection %d: %w", i, err)
				}
				errMu.Unlock()
				return
			}
			open[i] = c
		})
	}
	wg.Wait()
	res.openTime = time.Since(start)
	defer func() {
		for _, c := range open {
			if c != nil {
				c.Close()
			}
		}
	}()
	if firstErr != nil {
		return res, firstErr
	}
	if res.rssAfter, err = srv.rssBytes(); err != nil {
		return res, err
	}
	for _, c := range open {
		go readPushes(c, load)
	}

	// One push at a time, each awaited at every connection of its owner.
	client := newClient(1)
	perUser := conns / len(tokens)
	for n := range pushes {
		user := n % len(tokens)
		w := &worker{base: srv.URL, token: tokens[user], client: client}
		load.remaining.Store(int64(perUser))
		load.sent[n].Store(time.Now().UnixNano())
		body := fmt.Sprintf(`{"title":"push-%d","start":"2026-12-24T18:00:00Z"}`, n)
		if err := w.do(http.MethodPost, eventsPath, []byte(body), http.StatusCreated); err != nil {
			return res, err
		}
		select {
		case <-load.done:
		case <-time.After(20 * time.Second):
			return res, fmt.Errorf("push %d: %d of %d connections still waiting after 20 s", n, load.remaining.Load(), perUser)
		}
	}
	load.mu.Lock()
	res.lat = slices.Clone(load.lat)
	load.mu.Unlock()
	slices.Sort(res.lat)
	res.deliveries = len(res.lat)
	return res, nil
}

// dialWS connects as the token's user and reads the snapshot.
func dialWS(ctx context.Context, d *websocket.Dialer, url, token string) (*websocket.Conn, error) {
	c, resp, err := d.DialContext(ctx, url, http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("upgrade: %d: %w", resp.StatusCode, err)
		}
		return nil, err
	}
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, msg, err := c.ReadMessage()
	if err != nil || !bytes.Contains(msg, []byte(`"type":"snapshot"`)) {
		c.Close()
		return nil, fmt.Errorf("snapshot: %v %.100s", err, msg)
	}
	c.SetReadDeadline(time.Time{})
	return c, nil
}

func readPushes(c *websocket.Conn, load *wsLoad) {
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			return
		}
		if n := pushNumber(msg); n >= 0 {
			load.arrived(n, time.Now())
		}
	}
}

// raiseFileLimit lifts the soft limit on open files to the hard one (Go
// does this at start-up too; saying it here keeps the need visible) and
// returns it.
func raiseFileLimit(need uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, err
		}
	}
	if lim.Cur < need {
		return lim.Cur, errors.New("open-file limit too low")
	}
	return lim.Cur, nil
}
