package realtime_test

import (
	"bytes"
	"fmt"
	"net"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agenda-gpt/agenda/realtime"
)

// BenchmarkPushLatency measures the time from Publish to the whole message
// having been read by the client, one change at a time, with n connections
// open, one per user.
func BenchmarkPushLatency(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
			ts := newServer(b, realtime.Options{}, emptySnapshot)
			users, arrivals := openListeners(b, ts, n)
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				k := i % n
				ch := change(users[k], i)
				start := time.Now()
				ts.hub.Publish(ch)
				lat = append(lat, (<-arrivals[k]).Sub(start))
			}
			b.StopTimer()
			reportLatency(b, lat)
		})
	}
}

// BenchmarkPushBurst publishes one change to each of n users at once and
// measures each message's time from its Publish to its arrival: the hub
// under load rather than idle.
func BenchmarkPushBurst(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
			ts := newServer(b, realtime.Options{}, emptySnapshot)
			users, arrivals := openListeners(b, ts, n)
			lat := make([]time.Duration, 0, b.N*n)
			sent := make([]time.Time, n)
			b.ResetTimer()
			for i := range b.N {
				for k, user := range users {
					ch := change(user, i)
					sent[k] = time.Now()
					ts.hub.Publish(ch)
				}
				for k := range users {
					lat = append(lat, (<-arrivals[k]).Sub(sent[k]))
				}
			}
			b.StopTimer()
			reportLatency(b, lat)
			b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkPublish measures what Publish costs the store's goroutine, which
// calls it inside its write critical section.
func BenchmarkPublish(b *testing.B) {
	for _, tabs := range []int{0, 1, 3} {
		b.Run(fmt.Sprintf("tabs=%d", tabs), func(b *testing.B) {
			// A queue as long as the run: this measures Publish, not
			// whether the pumps keep up with a loop that does nothing else.
			ts := newServer(b, realtime.Options{QueueSize: b.N + 1}, emptySnapshot)
			for range tabs {
				c := ts.dial(b, "alice")
				go func() {
					for {
						if _, _, err := c.NextReader(); err != nil {
							return
						}
					}
				}()
			}
			ch := change("alice", 1)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				ts.hub.Publish(ch)
			}
			b.StopTimer()
			if d := ts.hub.Dropped(); d != 0 {
				b.Fatalf("%d connections dropped", d)
			}
		})
	}
}

// BenchmarkConnectionMemory opens n idle connections and reports the Go
// heap and stack they hold, and their goroutines. Clients are bare TCP
// sockets that did the handshake by hand, so nearly all that is counted is
// the server's; a client's socket is a few hundred bytes. Each process holds
// both ends, so n is bounded by half the file descriptor limit.
func BenchmarkConnectionMemory(b *testing.B) {
	for _, n := range []int{1000, 8000} {
		b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
			ts := newServer(b, realtime.Options{}, emptySnapshot)
			addr := strings.TrimPrefix(ts.URL, "http://")
			var heap, stacks, goroutines float64
			for range b.N {
				b.StopTimer()
				heap0, stacks0 := memory()
				g0 := runtime.NumGoroutine()
				b.StartTimer()
				conns := make([]net.Conn, n)
				for i := range conns {
					conns[i] = rawDial(b, addr, fmt.Sprintf("user-%d", i))
				}
				b.StopTimer()
				if got := ts.hub.Connections(); got != n {
					b.Fatalf("Connections() = %d, want %d", got, n)
				}
				heap1, stacks1 := memory()
				heap += float64(heap1-heap0) / float64(n)
				stacks += float64(stacks1-stacks0) / float64(n)
				goroutines += float64(runtime.NumGoroutine()-g0) / float64(n)
				for _, c := range conns {
					c.Close()
				}
				eventually(b, "the connections to end", func() bool { return ts.hub.Connections() == 0 })
				b.StartTimer()
			}
			b.ReportMetric((heap+stacks)/float64(b.N), "B/conn")
			b.ReportMetric(heap/float64(b.N), "heap-B/conn")
			b.ReportMetric(stacks/float64(b.N), "stack-B/conn")
			b.ReportMetric(goroutines/float64(b.N), "goroutines/conn")
		})
	}
}

// openListeners opens one connection for each of n users, each read on its
// own goroutine, which reports when each message has arrived.
func openListeners(b *testing.B, ts *testServer, n int) ([]string, []chan time.Time) {
	b.Helper()
	users := make([]string, n)
	arrivals := make([]chan time.Time, n)
	for k := range users {
		users[k] = fmt.Sprintf("user-%d", k)
		arrivals[k] = make(chan time.Time, 16)
		c := ts.dial(b, users[k])
		go func() {
			for {
				c.SetReadDeadline(time.Time{})
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
				arrivals[k] <- time.Now()
			}
		}()
	}
	return users, arrivals
}

func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	at := func(p float64) float64 {
		return float64(lat[int(float64(len(lat)-1)*p)].Nanoseconds()) / 1e3
	}
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
}

// memory returns the live heap and the goroutine stacks, in bytes.
func memory() (heap, stacks int64) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc), int64(m.StackInuse)
}

// rawDial opens a WebSocket by hand and returns once the snapshot has
// arrived, when the server has registered the connection and gone idle.
func rawDial(b *testing.B, addr, user string) net.Conn {
	b.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(c, "GET /ws?user=%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", user, addr)
	c.SetReadDeadline(time.Now().Add(waitTimeout))
	buf := make([]byte, 0, 512)
	for {
		n, err := c.Read(buf[len(buf):cap(buf)])
		if err != nil {
			b.Fatalf("handshake: %v", err)
		}
		buf = buf[:len(buf)+n]
		end := bytes.Index(buf, []byte("\r\n\r\n")) + 4
		if end < 4 || len(buf) < end+2 {
			continue
		}
		if !bytes.HasPrefix(buf, []byte("HTTP/1.1 101 ")) {
			b.Fatalf("handshake: %s", buf)
		}
		if len(buf) >= end+2+int(buf[end+1]&0x7f) { // a small unmasked frame
			return c
		}
	}
}
