package postgres

import (
	"context"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"

	"github.com/agenda-gpt/agenda"
	"github.com/agenda-gpt/agenda/store/storetest"
)

// TestPostgresUnreachableIsUnavailable: once the server refuses
// connections, every call fails with EUNAVAILABLE, which the API answers
// with 503 and Retry-After, not with an internal error. The store reaches
// the server through a proxy on loopback; stopping the proxy ends the
// connections and leaves the port closed.
func TestPostgresUnreachableIsUnavailable(t *testing.T) {
	ctx := context.Background()
	u, err := url.Parse(storetest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, u.Host)
	u.Host = p.ln.Addr().String()
	s, _ := mustOpen(t, u.String(), nil)
	e := mustCreate(t, s, "alice", agenda.NewEvent{Title: "before", Start: at(9, 0)})

	p.stop()
	_, err = s.GetEvent(ctx, "alice", e.ID)
	wantUnavailable(t, err)
	_, err = s.ListEvents(ctx, "alice", agenda.ListQuery{})
	wantUnavailable(t, err)
	_, _, err = s.CreateEvent(ctx, "alice", agenda.NewEvent{Title: "after", Start: at(9, 0)})
	wantUnavailable(t, err)
	_, err = s.UpdateEvent(ctx, "alice", e.ID, agenda.EventPatch{Title: ptr("after")})
	wantUnavailable(t, err)
	wantUnavailable(t, s.DeleteEvent(ctx, "alice", e.ID))
	wantUnavailable(t, s.Ping(ctx))
}

func wantUnavailable(t *testing.T, err error) {
	t.Helper()
	if agenda.ErrorCode(err) != agenda.EUNAVAILABLE {
		t.Fatalf("got %v, want %s", err, agenda.EUNAVAILABLE)
	}
}

// proxy forwards loopback connections to a PostgreSQL server until stopped.
type proxy struct {
	ln      net.Listener
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   []net.Conn
	stopped bool
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			if !p.track(c, up) {
				return
			}
			p.wg.Go(func() { io.Copy(up, c); up.Close() })
			p.wg.Go(func() { io.Copy(c, up); c.Close() })
		}
	})
	t.Cleanup(p.stop)
	return p
}

// track remembers the pair, or closes it and reports false once stopped.
func (p *proxy) track(c ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		for _, c := range c {
			c.Close()
		}
		return false
	}
	p.conns = append(p.conns, c...)
	return true
}

// stop closes the port and every connection through it.
func (p *proxy) stop() {
	p.mu.Lock()
	p.stopped = true
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}
