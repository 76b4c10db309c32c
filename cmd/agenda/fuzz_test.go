package main

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/agenda-gpt/agenda/store/storetest"
)

// FuzzEventBodies sends arbitrary create and update bodies through the real
// router, middleware, validation and store, on SQLite and PostgreSQL: whatever arrives, the
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
		"{\"title\":\"a\u0000b\",\"start\":\"2026-12-01T09:00:00Z\"}",
		"{\"title\":\"x\",\"start\":\"2026-12-01T09:00:00Z\",\"notes\":\"\xff\xfe\",\"location\":\"\xc3\"}",
		"{\"title\":\"x\",\"start\":\"2026-12-01T09:00:00Z\",\"request_id\":\"r\u0000\",\"time_zone\":\"Europe/Paris\u0000\"}",
		`{"title":"x","start":"9999-12-31T23:59:59-01:00"}`,
	} {
		f.Add(seed, true)
		f.Add(seed, false)
	}
	apps := fuzzTargets(f, map[string]string{"RATE_LIMIT": "1000000", "RATE_BURST": "1000000"})

	f.Fuzz(func(t *testing.T, body string, create bool) {
		for _, a := range apps {
			method, path := http.MethodPost, "/api/events"
			if !create {
				method, path = http.MethodPatch, "/api/events/"+a.eventID
			}
			req := httptest.NewRequest(method, path, bytes.NewBufferString(body))
			req.Header.Set("Authorization", "Bearer "+a.opaque)
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			a.app.handler.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s: %s %s with %q: %d %s", a.engine, method, path, body, rec.Code, rec.Body)
			}
			if rec.Code < 300 {
				var ev struct {
					ID, Title, Start string
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &ev); err != nil || ev.ID == "" || ev.Title == "" || ev.Start == "" {
					t.Fatalf("%s: %s with %q: %d but not an event: %s", a.engine, method, body, rec.Code, rec.Body)
				}
			}
		}
	})
}

// fuzzTarget is one running app a fuzzer sends each input to, with a
// user's tokens and an event of theirs.
type fuzzTarget struct {
	engine string
	*testApp
	opaque, jwt string
	eventID     string
}

// fuzzTargets starts the app twice, on SQLite and on PostgreSQL, so every
// input (the seed corpus in every `go test`, and whatever -fuzz finds)
// meets both engines: odd bytes that one stores and the other refuses
// would show as a 5xx.
func fuzzTargets(f *testing.F, env map[string]string) []fuzzTarget {
	f.Helper()
	idp := startIdP(f)
	var targets []fuzzTarget
	for _, engine := range []string{"sqlite", "postgres"} {
		env := maps.Clone(env)
		if engine == "postgres" {
			env["DATABASE_URL"] = storetest.NewDatabase(f)
		}
		app := startApp(f, idp, env)
		t := fuzzTarget{engine: engine, testApp: app, opaque: app.token("fuzzer", gptOpaqueClient)}
		t.jwt = app.token("fuzzer", gptJWTClient, "read", "write", "offline_access")
		r := app.call("POST", "/api/events", t.opaque, map[string]any{"title": "target", "start": "2026-12-01T09:00:00Z"})
		var ev struct{ ID string }
		if err := json.Unmarshal(r.Body, &ev); err != nil || ev.ID == "" {
			f.Fatalf("%s: target event: %d %s", engine, r.Status, r.Body)
		}
		t.eventID = ev.ID
		targets = append(targets, t)
	}
	return targets
}
