package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzEventBodies sends arbitrary create and update bodies through the real
// router, middleware, validation and SQLite store: whatever arrives, the
// answer is never a 5xx, and a 2xx always carries a valid event. The seed
// corpus runs in every `go test`; `go test -fuzz FuzzEventBodies` explores.
func FuzzEventBodies(f *testing.F) {
	for _, seed := range []string{
		`{"title":"Dentist","start":"2026-12-01T09:00:00+01:00","time_zone":"Europe/Paris"}`,
		`{"title":"x","start":"2026-12-01T09:00:00Z","end":"2026-12-01T08:00:00Z"}`,
		`{"title":"","start":""}`,
		`{"title":null,"start":null,"end":null}`,
		`{"title":"x","start":"2026-12-01T09:00:00Z","time_zone":"Local"}`,
		`{"title":"x","start":"9999-12-31T23:59:59+14:00","end":"9999-12-31T23:59:59-12:00"}`,
		`{"title":"x","start":"0001-01-01T00:00:00Z"}`,
		`{"title":"x","start":"2026-02-30T25:61:61Z"}`,
		`{"title":"\u0000\ud800","start":"2026-12-01T09:00:00Z","notes":"<script>"}`,
		`{"title":{"a":[1,2,{"b":null}]},"start":[]}`,
		`{"end":""}`, `{"all_day":"yes"}`, `{"request_id":12}`, `[]`, `"x"`, `null`, ``, `{`, `{"title":"x"}{}`,
		`{"title":"x","start":"2026-12-01T09:00:00.123456789+05:45","time_zone":"Asia/Kathmandu"}`,
	} {
		f.Add(seed, true)
		f.Add(seed, false)
	}
	idp := startIdP(f)
	app := startApp(f, idp, map[string]string{"RATE_LIMIT": "1000000", "RATE_BURST": "1000000"})
	tok := app.token("fuzzer", gptOpaqueClient)
	seedEvent := app.call("POST", "/api/events", tok, map[string]any{"title": "target", "start": "2026-12-01T09:00:00Z"})
	var target struct{ ID string }
	if err := json.Unmarshal(seedEvent.Body, &target); err != nil || target.ID == "" {
		f.Fatalf("seed event: %s", seedEvent.Body)
	}

	f.Fuzz(func(t *testing.T, body string, create bool) {
		method, path := http.MethodPost, "/api/events"
		if !create {
			method, path = http.MethodPatch, "/api/events/"+target.ID
		}
		req := httptest.NewRequest(method, path, bytes.NewBufferString(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		app.app.handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s with %q: %d %s", method, path, body, rec.Code, rec.Body)
		}
		if rec.Code < 300 {
			var ev struct {
				ID, Title, Start string
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &ev); err != nil || ev.ID == "" || ev.Title == "" || ev.Start == "" {
				t.Fatalf("%s with %q: %d but not an event: %s", method, body, rec.Code, rec.Body)
			}
		}
	})
}
