package main

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agenda-gpt/agenda"
	"github.com/agenda-gpt/agenda/store/storetest"
)

// The benchmarks here measure the server as deployed: replica processes
// serving HTTP on loopback, next to each other on this machine, so the
// figures include HTTP, authentication (cached), JSON and the database, and
// the client's share of the CPU.
//
//	go test ./cmd/agenda -run '^$' -bench Replicas -benchtime 5s

// benchSetups are the deployments compared: one process on SQLite, and one
// or two replicas on PostgreSQL.
var benchSetups = []struct {
	name     string
	postgres bool
	replicas int
}{
	{"sqlite-1", false, 1},
	{"postgres-1", true, 1},
	{"postgres-2", true, 2},
}

// benchDatabase returns a new database of the setup's kind, holding a year
// of alice's and bob's events: four a day, and 20 on the day listed.
func benchDatabase(b *testing.B, postgres bool) string {
	b.Helper()
	url := filepath.Join(b.TempDir(), "agenda.db")
	if postgres {
		url = storetest.NewDatabase(b)
	}
	ctx := context.Background()
	s, err := openStore(ctx, url, nil, 0, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for d := range 365 {
		for h := range 4 {
			start := benchDay.AddDate(0, 0, d-180).Add(time.Duration(8+2*h) * time.Hour)
			for _, user := range []string{"alice", "bob"} {
				if _, _, err := s.CreateEvent(ctx, user, agenda.NewEvent{Title: fmt.Sprint(d, h), Start: start}); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	for i := range 16 {
		if _, _, err := s.CreateEvent(ctx, "alice", agenda.NewEvent{Title: fmt.Sprint("extra ", i), Start: benchDay.Add(time.Duration(i) * time.Hour / 2)}); err != nil {
			b.Fatal(err)
		}
	}
	return url
}

var benchDay = time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)

// BenchmarkReplicasThroughput: GPT calls from 16 concurrent clients spread
// over the replicas; list reads a day of 20 events.
func BenchmarkReplicasThroughput(b *testing.B) {
	idp := startIdP(b)
	alice := idp.token(b, "alice", gptOpaqueClient)
	for _, setup := range benchSetups {
		b.Run(setup.name, func(b *testing.B) {
			rs := startReplicas(b, idp, benchDatabase(b, setup.postgres), setup.replicas, map[string]string{"DB_MAX_CONNS": "8"})
			// Warm each replica's token cache.
			for _, r := range rs {
				mustCallAPI(b, 200, "GET", r.URL+"/api/events?limit=1", alice, nil)
			}
			list := "/api/events?from=2027-03-01T00:00:00Z&to=2027-03-02T00:00:00Z"
			b.Run("list", func(b *testing.B) {
				parallel(b, rs, func(base string) error {
					r, err := callAPI("GET", base+list, alice, nil)
					if err == nil && r.Status != 200 {
						err = fmt.Errorf("list: %d %s", r.Status, r.Body)
					}
					return err
				})
			})
			b.Run("create", func(b *testing.B) {
				body := map[string]any{"title": "Standup", "start": "2027-03-02T09:00:00Z", "end": "2027-03-02T09:15:00Z", "notes": "daily"}
				parallel(b, rs, func(base string) error {
					r, err := callAPI("POST", base+"/api/events", alice, body)
					if err == nil && r.Status != 201 {
						err = fmt.Errorf("create: %d %s", r.Status, r.Body)
					}
					return err
				})
			})
		})
	}
}

// parallel runs call from 16 goroutines, each on its own replica in turn,
// and reports requests per second.
func parallel(b *testing.B, rs []*replica, call func(base string) error) {
	var next atomic.Int64
	b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		base := rs[int(next.Add(1))%len(rs)].URL
		for pb.Next() {
			if err := call(base); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// BenchmarkReplicasPushLatency: a GPT creates events one after the other
// through replica A; a browser of the same user is connected to replica B
// (to A itself with one replica). It reports, in milliseconds, the 50th and
// 99th percentiles of the time from sending the request to the browser
// receiving the change (request→push), and from the API response to the
// browser receiving it (response→push; negative when the push arrives
// first, which it may: the change is announced at commit, before the
// response is written).
func BenchmarkReplicasPushLatency(b *testing.B) {
	idp := startIdP(b)
	alice := idp.token(b, "alice", gptOpaqueClient)
	for _, setup := range benchSetups {
		b.Run(setup.name, func(b *testing.B) {
			url := filepath.Join(b.TempDir(), "agenda.db")
			if setup.postgres {
				url = storetest.NewDatabase(b)
			}
			rs := startReplicas(b, idp, url, setup.replicas, nil)
			a, r := rs[0], rs[len(rs)-1]
			tab := openFeed(b, r.URL, alice)
			mustCallAPI(b, 201, "POST", a.URL+"/api/events", alice, map[string]any{"title": "warm-up", "start": "2027-03-02T09:00:00Z"})
			tab.nextChange(b)

			var toPush, afterResponse []time.Duration
			body := map[string]any{"title": "Standup", "start": "2027-03-02T09:00:00Z"}
			for b.Loop() {
				sent := time.Now()
				res := mustCallAPI(b, 201, "POST", a.URL+"/api/events", alice, body)
				answered := time.Now()
				m := tab.nextChange(b)
				if m.Event.ID != decodeEvent(b, res).ID {
					b.Fatalf("pushed %v, want the event just created", m.Event)
				}
				toPush = append(toPush, m.At.Sub(sent))
				afterResponse = append(afterResponse, m.At.Sub(answered))
			}
			slices.Sort(toPush)
			slices.Sort(afterResponse)
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			b.ReportMetric(ms(percentile(toPush, 50)), "req-to-push-p50-ms")
			b.ReportMetric(ms(percentile(toPush, 99)), "req-to-push-p99-ms")
			b.ReportMetric(ms(percentile(afterResponse, 50)), "resp-to-push-p50-ms")
			b.ReportMetric(ms(percentile(afterResponse, 99)), "resp-to-push-p99-ms")
		})
	}
}
