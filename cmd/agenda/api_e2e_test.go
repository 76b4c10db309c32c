package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agenda-gpt/agenda"
)

// TestEndToEndOpaqueToken walks every operation with an opaque token got the
// way ChatGPT gets it, checked at the provider's /oidc/me.
func TestEndToEndOpaqueToken(t *testing.T) {
	idp := startIdP(t)
	app := startApp(t, idp, nil)
	tok := app.token("alice", gptOpaqueClient)
	if strings.Count(tok, ".") == 2 {
		t.Fatalf("expected an opaque token from %s, got a JWT", gptOpaqueClient)
	}
	crud(t, app, tok)
}

// TestEndToEndJWT does the same with a JWT for the API resource, verified
// locally: the provider's userinfo is never asked.
func TestEndToEndJWT(t *testing.T) {
	idp := startIdP(t)
	app := startApp(t, idp, nil)
	tok := app.token("alice", gptJWTClient, "read", "write", "offline_access")
	if strings.Count(tok, ".") != 2 {
		t.Fatalf("expected a JWT from %s", gptJWTClient)
	}
	before := idp.UserinfoCalls()
	crud(t, app, tok)
	if n := idp.UserinfoCalls() - before; n != 0 {
		t.Errorf("JWT mode made %d userinfo calls, want 0", n)
	}
}

func crud(t *testing.T, app *testApp, tok string) {
	t.Helper()
	r := app.call("POST", "/api/events", tok, map[string]any{
		"title": "Dentist", "start": "2026-12-01T09:00:00+01:00", "end": "2026-12-01T09:30:00+01:00",
		"time_zone": "Europe/Paris", "location": "Paris", "notes": "Bring card",
	})
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	ev := r.event(t)
	if ev.ID == "" || ev.Title != "Dentist" || !ev.Start.Equal(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)) {
		t.Fatalf("created %+v", ev)
	}
	if !strings.Contains(string(r.Body), `"start":"2026-12-01T09:00:00+01:00"`) {
		t.Errorf("start not rendered in the event's zone: %s", r.Body)
	}
	if loc := r.Header.Get("Location"); loc != "/api/events/"+ev.ID {
		t.Errorf("Location %q", loc)
	}

	r = app.call("GET", "/api/events/"+ev.ID, tok, nil)
	if r.Status != http.StatusOK || r.event(t).ID != ev.ID {
		t.Fatalf("get: %d %s", r.Status, r.Body)
	}

	r = app.call("GET", "/api/events?from=2026-12-01T00:00:00%2B01:00&to=2026-12-02T00:00:00%2B01:00", tok, nil)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), ev.ID) {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	r = app.call("GET", "/api/events?q=DENT", tok, nil)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), ev.ID) {
		t.Fatalf("search: %d %s", r.Status, r.Body)
	}
	r = app.call("GET", "/api/events?from=2026-12-02T00:00:00%2B01:00", tok, nil)
	if r.Status != http.StatusOK || strings.Contains(string(r.Body), ev.ID) {
		t.Fatalf("list after the event: %d %s", r.Status, r.Body)
	}

	r = app.call("PATCH", "/api/events/"+ev.ID, tok, map[string]any{
		"start": "2026-12-01T10:00:00+01:00", "end": "", "location": "",
	})
	if r.Status != http.StatusOK {
		t.Fatalf("update: %d %s", r.Status, r.Body)
	}
	up := r.event(t)
	if up.End != nil || up.Location != "" || up.Notes != "Bring card" || up.Title != "Dentist" || up.Start.UTC().Hour() != 9 {
		t.Errorf("after patch: %+v (end %v)", up, up.End)
	}

	if r = app.call("DELETE", "/api/events/"+ev.ID, tok, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if r = app.call("GET", "/api/events/"+ev.ID, tok, nil); r.Status != http.StatusNotFound {
		t.Fatalf("get after delete: %d", r.Status)
	}
}

// TestUsersCannotReachEachOther: bob can neither see, change nor delete
// alice's event, and is told it does not exist.
func TestUsersCannotReachEachOther(t *testing.T) {
	idp := startIdP(t)
	app := startApp(t, idp, nil)
	alice, bob := app.token("alice", gptOpaqueClient), app.token("bob", gptOpaqueClient)
	ev := app.call("POST", "/api/events", alice, map[string]any{"title": "Private", "start": "2026-12-01T09:00:00Z"}).event(t)

	for _, c := range []struct{ method, body string }{
		{"GET", ""}, {"PATCH", `{"title":"Hijacked"}`}, {"DELETE", ""},
	} {
		var body any
		if c.body != "" {
			body = c.body
		}
		r := app.call(c.method, "/api/events/"+ev.ID, bob, body)
		if r.Status != http.StatusNotFound {
			t.Errorf("bob %s alice's event: %d %s", c.method, r.Status, r.Body)
		}
	}
	if r := app.call("GET", "/api/events", bob, nil); strings.Contains(string(r.Body), ev.ID) {
		t.Errorf("bob's list shows alice's event: %s", r.Body)
	}
	if got := app.call("GET", "/api/events/"+ev.ID, alice, nil).event(t); got.Title != "Private" {
		t.Errorf("alice's event changed: %+v", got)
	}
}

// TestScopes: with RBAC, read is needed for GET and write for the rest; a
// user whose role lacks write gets 403 with insufficient_scope.
func TestScopes(t *testing.T) {
	idp := startIdP(t)
	app := startApp(t, idp, nil)
	reader := app.token(readerUser, gptJWTClient, "read", "write", "offline_access")
	if r := app.call("GET", "/api/events", reader, nil); r.Status != http.StatusOK {
		t.Fatalf("reader list: %d %s", r.Status, r.Body)
	}
	r := app.call("POST", "/api/events", reader, map[string]any{"title": "x", "start": "2026-12-01T09:00:00Z"})
	if r.Status != http.StatusForbidden {
		t.Fatalf("reader create: %d %s", r.Status, r.Body)
	}
	if h := r.Header.Get("WWW-Authenticate"); !strings.Contains(h, `error="insufficient_scope"`) || !strings.Contains(h, `scope="write"`) {
		t.Errorf("WWW-Authenticate %q", h)
	}
	if p := r.problem(t); !strings.Contains(p.Detail, "write") {
		t.Errorf("detail %q", p.Detail)
	}
}

// TestErrorStatuses covers every status the contract names, each with a
// problem whose detail says what to fix.
func TestErrorStatuses(t *testing.T) {
	idp := startIdP(t)
	app := startApp(t, idp, nil)
	tok := app.token("alice", gptOpaqueClient)
	start := "2026-12-01T09:00:00+01:00"
	cases := []struct {
		name         string
		method, path string
		token        string
		body         any
		status       int
		detail       string
	}{
		{"malformed JSON", "POST", "/api/events", tok, `{"title": "x",`, 400, "not valid JSON"},
		{"wrong type", "POST", "/api/events", tok, `{"title": 5, "start": "` + start + `"}`, 400, "title must be a string"},
		{"missing title", "POST", "/api/events", tok, `{"start": "` + start + `"}`, 400, "title is required"},
		{"empty title", "POST", "/api/events", tok, `{"title": "", "start": "` + start + `"}`, 400, "title must be a string of 1 to 200"},
		{"no offset", "POST", "/api/events", tok, `{"title": "x", "start": "2026-12-01T09:00:00"}`, 400, "start must be an RFC 3339 date-time with a UTC offset"},
		{"unknown field", "POST", "/api/events", tok, `{"title": "x", "start": "` + start + `", "when": "now"}`, 400, `unknown field "when"`},
		{"end before start", "POST", "/api/events", tok, `{"title": "x", "start": "` + start + `", "end": "2026-12-01T08:00:00+01:00"}`, 400, "is before start"},
		{"Z for local time", "POST", "/api/events", tok, `{"title": "x", "start": "2026-12-01T09:00:00Z", "time_zone": "Europe/Paris"}`, 400,
			"2026-12-01T09:00:00Z is 10:00 in Europe/Paris; for 09:00 local time send 2026-12-01T09:00:00+01:00"},
		{"unknown zone", "POST", "/api/events", tok, `{"title": "x", "start": "` + start + `", "time_zone": "Mars/Olympus"}`, 400, "not an IANA time zone"},
		{"notes too long", "POST", "/api/events", tok, map[string]any{"title": "x", "start": start, "notes": strings.Repeat("n", 4001)}, 400, "notes must be a string of at most 4000"},
		{"limit too high", "GET", "/api/events?limit=500", tok, nil, 400, "limit must be a whole number from 1 to 200"},
		{"bad from", "GET", "/api/events?from=tomorrow", tok, nil, 400, "from must be an RFC 3339 date-time"},
		{"from after to", "GET", "/api/events?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z", tok, nil, 400, "must be before to"},
		{"bad cursor", "GET", "/api/events?cursor=nonsense", tok, nil, 400, "cursor is not valid"},
		{"no token", "GET", "/api/events", "", nil, 401, "no access token"},
		{"unknown token", "GET", "/api/events", "not-a-real-token", nil, 401, "does not accept this access token"},
		{"unknown id", "GET", "/api/events/evt_nope", tok, nil, 404, `no event with id "evt_nope"`},
		{"too large", "POST", "/api/events", tok, `{"title":"x","start":"` + start + `","notes":"` + strings.Repeat("a", 1<<20) + `"}`, 413, "over"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := app.call(c.method, c.path, c.token, c.body)
			if r.Status != c.status {
				t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
			}
			p := r.problem(t)
			if p.Status != c.status || !strings.Contains(p.Detail, c.detail) {
				t.Errorf("detail %q, want it to contain %q", p.Detail, c.detail)
			}
			if c.status == 401 {
				// RFC 6750 §3.1: no error code when no credentials came.
				want := `Bearer error="invalid_token", error_description=`
				if c.token == "" {
					want = `Bearer realm="agenda"`
				}
				h := r.Header.Get("WWW-Authenticate")
				if !strings.HasPrefix(h, want) {
					t.Errorf("WWW-Authenticate %q, want it to begin %q", h, want)
				}
				if !rfc6750Challenge.MatchString(h) {
					t.Errorf("WWW-Authenticate %q has characters RFC 6750 does not allow in its values", h)
				}
			}
		})
	}
	if r := app.call("GET", "/api/events", tok, nil); r.Status != 200 || strings.Contains(string(r.Body), `"title":"x"`) {
		t.Errorf("a refused request stored something: %s", r.Body)
	}
}

// TestJWTRefusals: expired, wrong audience, another issuer's keys, and a
// JWT sent to an app without LOGTO_API_RESOURCE.
func TestJWTRefusals(t *testing.T) {
	idp := startIdP(t)
	app := startApp(t, idp, nil)
	now := time.Now()
	claims := func(over map[string]any) map[string]any {
		c := map[string]any{"iss": idp.URL + "/oidc", "sub": "alice", "aud": apiResource, "scope": "read write",
			"client_id": gptJWTClient, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": fmt.Sprint(now.UnixNano())}
		for k, v := range over {
			c[k] = v
		}
		return c
	}
	mint := func(over map[string]any) string {
		tok, err := idp.MintAccessToken(claims(over))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	for _, c := range []struct {
		name, token, detail string
	}{
		{"valid", mint(nil), ""},
		{"expired", mint(map[string]any{"exp": now.Add(-time.Minute).Unix()}), "expired at"},
		{"wrong audience", mint(map[string]any{"aud": apiResource + "/"}), `expects "` + apiResource + `"`},
		{"other issuer", mint(map[string]any{"iss": "https://evil.example/oidc"}), "another issuer"},
		{"not yet valid", mint(map[string]any{"nbf": now.Add(time.Hour).Unix()}), "not valid yet"},
		{"tampered", mint(nil)[:20] + "x" + mint(nil)[21:], ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := app.call("GET", "/api/events", c.token, nil)
			if c.name == "valid" {
				if r.Status != 200 {
					t.Fatalf("valid JWT refused: %d %s", r.Status, r.Body)
				}
				return
			}
			if r.Status != 401 {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			if p := r.problem(t); !strings.Contains(p.Detail, c.detail) {
				t.Errorf("detail %q, want %q", p.Detail, c.detail)
			}
		})
	}

	t.Run("key rotation", func(t *testing.T) {
		if err := idp.RotateKey(); err != nil {
			t.Fatal(err)
		}
		if r := app.call("GET", "/api/events", mint(map[string]any{"jti": "rotated"}), nil); r.Status != 200 {
			t.Errorf("token signed with a new key refused: %d %s", r.Status, r.Body)
		}
	})

	t.Run("no API resource set", func(t *testing.T) {
		plain := startApp(t, idp, map[string]string{"LOGTO_API_RESOURCE": ""})
		r := plain.call("GET", "/api/events", mint(nil), nil)
		if r.Status != 401 || !strings.Contains(r.problem(t).Detail, "LOGTO_API_RESOURCE") {
			t.Errorf("%d %s", r.Status, r.Body)
		}
	})
}

// TestTokenCache: repeated and concurrent calls with one token make one
// userinfo call, counted at the provider.
func TestTokenCache(t *testing.T) {
	idp := startIdP(t)
	app := startApp(t, idp, nil)
	tok := app.token("alice", gptOpaqueClient)
	before := idp.UserinfoCalls()
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := app.call("GET", "/api/events", tok, nil); r.Status != 200 {
				t.Errorf("%d %s", r.Status, r.Body)
			}
		}()
	}
	wg.Wait()
	app.call("GET", "/api/events", tok, nil)
	if n := idp.UserinfoCalls() - before; n != 1 {
		t.Errorf("%d userinfo calls for 21 API calls with one token, want 1", n)
	}
	// A refused token is remembered too, briefly.
	before = idp.UserinfoCalls()
	app.call("GET", "/api/events", "bogus", nil)
	app.call("GET", "/api/events", "bogus", nil)
	if n := idp.UserinfoCalls() - before; n != 1 {
		t.Errorf("%d userinfo calls for a refused token asked twice, want 1", n)
	}
}

// TestIdentityProviderFaults: an outage is a 503 with Retry-After, never a
// 401 or a 500; a token the provider names nobody for is a 401; and the
// server keeps answering health checks and cached tokens meanwhile.
func TestIdentityProviderFaults(t *testing.T) {
	idp := startIdP(t)
	app := startApp(t, idp, nil)
	cachedTok := app.token("alice", gptOpaqueClient)
	if r := app.call("GET", "/api/events", cachedTok, nil); r.Status != 200 {
		t.Fatalf("warm-up: %d", r.Status)
	}
	fresh := map[string]string{}
	for _, m := range []string{faultDown, faultSlow, faultError, faultMalformed, faultNoSubject} {
		fresh[m] = app.token("user-"+m, gptOpaqueClient)
	}
	for _, c := range []struct {
		mode   string
		status int
	}{
		{faultDown, 503}, {faultSlow, 503}, {faultError, 503}, {faultMalformed, 503}, {faultNoSubject, 401},
	} {
		t.Run(c.mode, func(t *testing.T) {
			idp.faults.set(c.mode)
			defer idp.faults.set(faultNone)
			done := make(chan response, 1)
			go func() { done <- app.call("GET", "/api/events", fresh[c.mode], nil) }()
			if r := app.call("GET", "/healthz", "", nil); r.Status != 200 {
				t.Errorf("healthz during %s: %d", c.mode, r.Status)
			}
			if r := app.call("GET", "/api/events", cachedTok, nil); r.Status != 200 {
				t.Errorf("cached token during %s: %d %s", c.mode, r.Status, r.Body)
			}
			r := <-done
			if r.Status != c.status {
				t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
			}
			if c.status == 503 && r.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			r.problem(t)
		})
	}
	if r := app.call("GET", "/api/events", fresh[faultError], nil); r.Status != 200 {
		t.Errorf("after the outage the same token works again: %d %s", r.Status, r.Body)
	}
}

// TestJWKSOutage: a JWT signed with a key the app has not seen, while the
// key set cannot be fetched, is a 503, not a 401.
func TestJWKSOutage(t *testing.T) {
	idp := startIdP(t)
	app := startApp(t, idp, nil)
	if err := idp.RotateKey(); err != nil {
		t.Fatal(err)
	}
	tok := app.token("alice", gptJWTClient, "read", "write")
	idp.faults.set(faultJWKSDown)
	r := app.call("GET", "/api/events", tok, nil)
	idp.faults.set(faultNone)
	if r.Status != 503 {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
}

// rfc6750Challenge is a Bearer challenge whose quoted values keep to the
// characters RFC 6750 §3 allows: %x20-21 / %x23-5B / %x5D-7E.
var rfc6750Challenge = regexp.MustCompile(`^Bearer [a-z_]+="[\x20\x21\x23-\x5b\x5d-\x7e]*"(, [a-z_]+="[\x20\x21\x23-\x5b\x5d-\x7e]*")*$`)

// TestIdempotentCreate: the same request_id (or Idempotency-Key) returns the
// first event; a different event under the same key is a 409.
func TestIdempotentCreate(t *testing.T) {
	idp := startIdP(t)
	app := startApp(t, idp, nil)
	tok := app.token("alice", gptOpaqueClient)
	body := map[string]any{"title": "Gym", "start": "2026-12-02T18:00:00Z", "request_id": "req-1"}
	first := app.call("POST", "/api/events", tok, body)
	again := app.call("POST", "/api/events", tok, body)
	if first.Status != 201 || again.Status != 201 || first.event(t).ID != again.event(t).ID {
		t.Fatalf("retry made another event: %s / %s", first.Body, again.Body)
	}
	if again.Header.Get("Idempotent-Replayed") != "true" {
		t.Error("replay not marked")
	}
	body["title"] = "Swim"
	if r := app.call("POST", "/api/events", tok, body); r.Status != http.StatusConflict {
		t.Errorf("reused key for another event: %d %s", r.Status, r.Body)
	}
	hdr := map[string]any{"title": "Run", "start": "2026-12-03T07:00:00Z"}
	a := app.call("POST", "/api/events", tok, hdr, "Idempotency-Key", "key-2")
	b := app.call("POST", "/api/events", tok, hdr, "Idempotency-Key", "key-2")
	if a.event(t).ID != b.event(t).ID {
		t.Error("Idempotency-Key header ignored")
	}
	// Another user with the same key gets their own event.
	other := app.call("POST", "/api/events", app.token("bob", gptOpaqueClient), map[string]any{"title": "Gym", "start": "2026-12-02T18:00:00Z", "request_id": "req-1"})
	if other.Status != 201 || other.event(t).ID == first.event(t).ID {
		t.Errorf("request_id shared across users: %s", other.Body)
	}
}

// TestPagination walks a long list with next_cursor.
func TestPagination(t *testing.T) {
	idp := startIdP(t)
	app := startApp(t, idp, nil)
	tok := app.token("alice", gptOpaqueClient)
	base := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i := 0; i < 7; i++ {
		app.call("POST", "/api/events", tok, map[string]any{"title": fmt.Sprint("e", i), "start": base.Add(time.Duration(i%3) * time.Hour).Format(time.RFC3339)})
	}
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; pages < 10; pages++ {
		r := app.call("GET", "/api/events?limit=3&cursor="+cursor, tok, nil)
		var page struct {
			Events     []agenda.Event `json:"events"`
			NextCursor string         `json:"next_cursor"`
		}
		if err := json.Unmarshal(r.Body, &page); err != nil || r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		for _, e := range page.Events {
			if seen[e.ID] {
				t.Errorf("%s seen twice", e.ID)
			}
			seen[e.ID] = true
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(seen) != 7 {
		t.Errorf("saw %d events, want 7", len(seen))
	}
}

// TestRateLimit: past the per-user budget, 429 with Retry-After; another
// user is not affected.
func TestRateLimit(t *testing.T) {
	idp := startIdP(t)
	app := startApp(t, idp, map[string]string{"RATE_LIMIT": "0.1", "RATE_BURST": "3"})
	alice := app.token("alice", gptOpaqueClient)
	var last response
	for i := 0; i < 4; i++ {
		last = app.call("GET", "/api/events", alice, nil)
	}
	if last.Status != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Fatalf("4th call: %d %v", last.Status, last.Header)
	}
	last.problem(t)
	if r := app.call("GET", "/api/events", app.token("bob", gptOpaqueClient), nil); r.Status != 200 {
		t.Errorf("bob limited by alice's calls: %d", r.Status)
	}
}

// TestLogsCarryNoSecrets: after every kind of call, the log holds no token
// and no Authorization header, but does say why a token was refused.
func TestLogsCarryNoSecrets(t *testing.T) {
	idp := startIdP(t)
	app := startApp(t, idp, nil)
	opaque := app.token("alice", gptOpaqueClient)
	jwt := app.token("alice", gptJWTClient, "read", "write")
	app.call("GET", "/api/events", opaque, nil)
	app.call("POST", "/api/events", jwt, map[string]any{"title": "x", "start": "2026-12-01T09:00:00Z"})
	app.call("GET", "/api/events", "secret-bogus-token-value", nil)
	expired, _ := idp.MintAccessToken(map[string]any{"iss": idp.URL + "/oidc", "sub": "alice", "aud": apiResource,
		"client_id": gptJWTClient, "exp": time.Now().Add(-time.Hour).Unix(), "iat": time.Now().Add(-2 * time.Hour).Unix()})
	app.call("GET", "/api/events", expired, nil)
	logs := app.logs.String()
	for _, secret := range []string{opaque, jwt, "secret-bogus-token-value", expired, clientSecret, "Bearer "} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains a secret (%.12s...)", secret)
		}
	}
	for _, want := range []string{"auth_failure=", "token_client_id=" + gptJWTClient, "token_expiry=", "user=alice", "request_id="} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %q", want)
		}
	}
}

// TestPrivacyContact: PRIVACY_CONTACT reaches the privacy page, the one
// place people learn how to have their data deleted.
func TestPrivacyContact(t *testing.T) {
	t.Parallel()
	for contact, want := range map[string]string{
		"privacy@example.com": `<a href="mailto:privacy@example.com">privacy@example.com</a>`,
		"":                    "",
	} {
		app := startApp(t, nil, map[string]string{"PRIVACY_CONTACT": contact})
		r := app.call("GET", "/privacy", "", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("/privacy: %d", r.Status)
		}
		has := strings.Contains(string(r.Body), "write to <a href=")
		if want == "" && has || want != "" && !strings.Contains(string(r.Body), want) {
			t.Errorf("PRIVACY_CONTACT=%q: the page does not show %q:\n%s", contact, want, r.Body)
		}
	}
}
