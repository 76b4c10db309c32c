package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// The API benchmarks run requests through the real router, middleware,
// validation, token cache and SQLite store, in process (no network), so the
// cost of each layer shows next to the bare Echo handler below:
//
//	go test -run XXX -bench 'API|BareEcho' -benchmem ./cmd/agenda
func benchApp(b *testing.B) (*testApp, string) {
	b.Helper()
	idp := startIdP(b)
	app := startApp(b, idp, map[string]string{"RATE_LIMIT": "1000000", "RATE_BURST": "1000000", "LOG_LEVEL": "error"})
	tok := app.token("bench", gptOpaqueClient)
	app.call("GET", "/api/events", tok, nil) // warm the token cache
	return app, tok
}

func serveBench(b *testing.B, h http.Handler, method, path, tok string, body []byte, want int) {
	b.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != want {
		b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
	}
}

// BenchmarkAPIListEvents lists a window of 20 events.
func BenchmarkAPIListEvents(b *testing.B) {
	app, tok := benchApp(b)
	start := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	for i := 0; i < 20; i++ {
		app.call("POST", "/api/events", tok, map[string]any{"title": fmt.Sprint("event ", i), "start": start.Add(time.Duration(i) * time.Hour).Format(time.RFC3339)})
	}
	path := "/api/events?from=2026-12-01T00:00:00Z&to=2026-12-03T00:00:00Z&limit=20"
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			serveBench(b, app.app.handler, "GET", path, tok, nil, 200)
		}
	})
}

// BenchmarkAPICreateEvent creates events one request at a time, in parallel.
func BenchmarkAPICreateEvent(b *testing.B) {
	app, tok := benchApp(b)
	body := []byte(`{"title":"Dentist","start":"2026-12-01T09:00:00+01:00","end":"2026-12-01T09:30:00+01:00","time_zone":"Europe/Paris","location":"Paris"}`)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			serveBench(b, app.app.handler, "POST", "/api/events", tok, body, 201)
		}
	})
}

// BenchmarkBareEcho is the ceiling: an Echo handler that returns a list of
// 20 events as JSON with no auth, no validation and no database.
func BenchmarkBareEcho(b *testing.B) {
	e := echo.New()
	payload := bytes.Repeat([]byte(`{"id":"evt_2m4k7q9x3b5n8p1r6t0v2w4y6a","title":"event","start":"2026-12-01T09:00:00+01:00","time_zone":"Europe/Paris","all_day":false,"location":"","notes":"","created_at":"2026-11-20T14:03:11Z","updated_at":"2026-11-20T14:03:11Z"},`), 20)
	payload = append(append([]byte(`{"events":[`), payload[:len(payload)-1]...), []byte(`],"next_cursor":""}`)...)
	e.GET("/api/events", func(c echo.Context) error { return c.JSONBlob(200, payload) })
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			serveBench(b, e, "GET", "/api/events", "", nil, 200)
		}
	})
}
