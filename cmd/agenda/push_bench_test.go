package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"
)

// BenchmarkPushLatency measures how long after the API has answered a
// change the change reaches the user's open WebSockets, with 1, 100 and
// 1,000 connections open: all of one user's, or 1,000 spread over 100 users
// (ten tabs each; the changes rotate over the users). Every connection of
// the changed user counts once per change; p50 and p99 are over all of
// those. A push that arrives before the response counts as 0: the page
// shows the change no later than the GPT hears it is made. early-% is the
// share of such pushes.
//
// Client and server share the machine, so the figures include the clients'
// own reading: an upper bound for a server with the machine to itself.
func BenchmarkPushLatency(b *testing.B) {
	for _, c := range []struct{ conns, users int }{
		{1, 1}, {100, 1}, {1000, 1}, {1000, 100},
	} {
		b.Run(fmt.Sprintf("conns=%d/users=%d", c.conns, c.users), func(b *testing.B) {
			benchPush(b, c.conns, c.users)
		})
	}
}

func benchPush(b *testing.B, conns, users int) {
	idp := startIdP(b)
	app := startApp(b, idp, map[string]string{"RATE_LIMIT": "1000000", "RATE_BURST": "1000000"})
	tokens := make([]string, users)
	for i := range tokens {
		tokens[i] = app.token("user"+strconv.Itoa(i), gptOpaqueClient)
	}
	// Each reader notes when a message's first frame arrives: the moment
	// a browser would have it.
	arrivals := make(chan time.Time, conns)
	for i := range conns {
		ws := mustDialWS(b, app, "", bearer(tokens[i%users]))
		ws.conn.SetReadDeadline(time.Time{}) // the wait below bounds it
		go func() {
			for {
				_, r, err := ws.conn.NextReader()
				if err != nil {
					return
				}
				at := time.Now()
				io.Copy(io.Discard, r)
				arrivals <- at
			}
		}()
	}
	perUser := conns / users
	client := &http.Client{Timeout: wsWait}
	body := []byte(`{"title":"Pushed","start":"` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `"}`)
	lat := make([]time.Duration, 0, b.N*perUser)

	b.ResetTimer()
	for i := range b.N {
		req, _ := http.NewRequest("POST", app.URL+"/api/events", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tokens[i%users])
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		answered := time.Now()
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("create: %s", resp.Status)
		}
		timeout := time.After(wsWait)
		for range perUser {
			select {
			case at := <-arrivals:
				lat = append(lat, at.Sub(answered))
			case <-timeout:
				b.Fatalf("change %d: %d of %d connections got it within %s", i, len(lat)-i*perUser, perUser, wsWait)
			}
		}
	}
	b.StopTimer()

	early := 0
	for i, d := range lat {
		if d < 0 {
			lat[i] = 0
			early++
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(percentile(lat, 50))/1e3, "p50-µs")
	b.ReportMetric(float64(percentile(lat, 99))/1e3, "p99-µs")
	b.ReportMetric(100*float64(early)/float64(len(lat)), "early-%")
}

// percentile returns the p-th percentile of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, len(sorted)*p/100)]
}
