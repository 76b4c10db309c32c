package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agenda-gpt/agenda"
	"github.com/agenda-gpt/agenda/contract"
	"github.com/agenda-gpt/agenda/store/sqlite"
)

// The tests in this package run the API on a real SQLite file over real
// HTTP. Token verification has its own tests in package auth and the
// end-to-end ones in cmd/agenda; here a token names its identity.
type tokens map[string]agenda.Identity

func (t tokens) Authenticate(_ context.Context, token, _ string) (agenda.Identity, error) {
	if id, ok := t[token]; ok {
		return id, nil
	}
	return agenda.Identity{}, agenda.Errorf(agenda.EUNAUTHORIZED, "the access token is not valid")
}

var testTokens = tokens{
	"alice":        {UserID: "alice"},
	"alice-writes": {UserID: "alice", Scopes: []string{agenda.ScopeWrite}},
	"alice-reads":  {UserID: "alice", Scopes: []string{agenda.ScopeRead}},
}

// testAPI is the API of one fresh database.
type testAPI struct {
	t   *testing.T
	url string
}

func startAPI(t *testing.T) *testAPI {
	t.Helper()
	events, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "agenda.db"), nil, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { events.Close() })
	c, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewServer(Deps{Events: events, Auth: testTokens, Hub: unused{}, Contract: c})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &testAPI{t: t, url: srv.URL}
}

type reply struct {
	status int
	header http.Header
	body   string
}

// problem is the reply's problem+json body; it fails the test if there is
// none.
func (r reply) problem(t *testing.T) Problem {
	t.Helper()
	var p Problem
	if r.header.Get("Content-Type") != problemContentType || json.Unmarshal([]byte(r.body), &p) != nil {
		t.Fatalf("%d %q is not problem+json", r.status, r.body)
	}
	return p
}

// do sends body (raw, as given) with the headers, as "Bearer token" when
// token is not empty.
func (a *testAPI) do(method, path, token, body string, header ...string) reply {
	a.t.Helper()
	req, err := http.NewRequest(method, a.url+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, string(b)}
}

// count is how many events alice has.
func (a *testAPI) count() int {
	a.t.Helper()
	r := a.do(http.MethodGet, "/api/events?limit=200", "alice", "")
	var page struct{ Events []json.RawMessage }
	if r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &page) != nil {
		a.t.Fatalf("list: %d %s", r.status, r.body)
	}
	return len(page.Events)
}

// create makes an event for alice and returns its id.
func (a *testAPI) create(body string) string {
	a.t.Helper()
	r := a.do(http.MethodPost, "/api/events", "alice", body)
	var ev struct{ ID string }
	if r.status != http.StatusCreated || json.Unmarshal([]byte(r.body), &ev) != nil {
		a.t.Fatalf("create: %d %s", r.status, r.body)
	}
	return ev.ID
}

const dentist = `{"title": "Dentist", "start": "2026-12-01T09:00:00+01:00"}`

// TestMalformedBodies: a body that is not exactly one UTF-8 JSON object is
// refused with 400 and a detail that says what to send, and nothing is
// stored or changed (issue 14, items 9 and 13).
func TestMalformedBodies(t *testing.T) {
	a := startAPI(t)
	id := a.create(dentist)
	cases := []struct {
		name, body, contentType, want string
	}{
		{"trailing garbage", dentist + ` trailing`, "application/json", "nothing after it"},
		{"two objects", dentist + dentist, "application/json", "nothing after it"},
		{"two objects on two lines", dentist + "\n" + dentist, "application/json", "nothing after it"},
		{"invalid UTF-8 in a value", "{\"title\": \"Den\xfftist\", \"start\": \"2026-12-01T09:00:00+01:00\"}", "application/json", "not valid UTF-8"},
		{"invalid UTF-8 in a key", "{\"ti\xc3tle\": \"Dentist\", \"start\": \"2026-12-01T09:00:00+01:00\"}", "application/json", "not valid UTF-8"},
		{"a declared UTF-16 body", dentist, "application/json; charset=utf-16", "must be UTF-8"},
		{"a declared Latin-1 body", dentist, "application/json; charset=ISO-8859-1", "must be UTF-8"},
		{"not JSON at all", `title=Dentist`, "application/json", "not valid JSON"},
		{"an array", `[` + dentist + `]`, "application/json", "must be a JSON object"},
		{"no content type", dentist, "", "Content-Type: application/json"},
		{"a form", dentist, "application/x-www-form-urlencoded", "Content-Type: application/json"},
	}
	for _, tc := range cases {
		for _, route := range []struct{ method, path string }{
			{http.MethodPost, "/api/events"},
			{http.MethodPatch, "/api/events/" + id},
		} {
			r := a.do(route.method, route.path, "alice", tc.body, "Content-Type", tc.contentType)
			if r.status != http.StatusBadRequest {
				t.Errorf("%s to %s %s: %d %s, want 400", tc.name, route.method, route.path, r.status, r.body)
				continue
			}
			if p := r.problem(t); !strings.Contains(p.Detail, tc.want) {
				t.Errorf("%s to %s: detail %q does not say %q", tc.name, route.method, p.Detail, tc.want)
			}
		}
	}
	if n := a.count(); n != 1 {
		t.Errorf("%d events after the refused bodies, want the 1 created", n)
	}
	r := a.do(http.MethodGet, "/api/events/"+id, "alice", "")
	if !strings.Contains(r.body, `"title":"Dentist"`) {
		t.Errorf("the event changed: %s", r.body)
	}
}

// TestNULInQuery: q=%00 is refused on SQLite too, where it used to match
// every event (issue 14, item 13).
func TestNULInQuery(t *testing.T) {
	a := startAPI(t)
	a.create(dentist)
	for _, q := range []string{"%00", "a%00b", "%FF"} {
		r := a.do(http.MethodGet, "/api/events?q="+q, "alice", "")
		if r.status != http.StatusBadRequest {
			t.Errorf("q=%s: %d %s, want 400", q, r.status, r.body)
			continue
		}
		if p := r.problem(t); !strings.Contains(p.Detail, "q") {
			t.Errorf("q=%s: detail %q does not name q", q, p.Detail)
		}
	}
}

// TestWriteOnlyTokens: a token granted write but not read can change events
// without reading them: an empty patch is refused, and a write answers with
// the id alone (issue 14, item 10).
func TestWriteOnlyTokens(t *testing.T) {
	a := startAPI(t)
	id := a.create(`{"title": "Secret", "start": "2026-12-01T09:00:00+01:00", "notes": "private"}`)

	r := a.do(http.MethodPatch, "/api/events/"+id, "alice-writes", `{}`)
	if r.status != http.StatusBadRequest || !strings.Contains(r.problem(t).Detail, "nothing to change") {
		t.Errorf("empty patch: %d %s, want 400 nothing to change", r.status, r.body)
	}
	if strings.Contains(r.body, "private") || strings.Contains(r.body, "Secret") {
		t.Errorf("empty patch revealed the event: %s", r.body)
	}
	// Also for a token that may read: an empty patch is a mistake.
	if r := a.do(http.MethodPatch, "/api/events/"+id, "alice", `{}`); r.status != http.StatusBadRequest {
		t.Errorf("empty patch with a full token: %d %s, want 400", r.status, r.body)
	}

	writes := []struct{ method, path, body string }{
		{http.MethodPatch, "/api/events/" + id, `{"location": "Room 4"}`},
		{http.MethodPost, "/api/events", `{"title": "New", "start": "2026-12-02T09:00:00+01:00", "notes": "also private"}`},
	}
	for _, w := range writes {
		r := a.do(w.method, w.path, "alice-writes", w.body)
		if r.status >= 300 {
			t.Fatalf("%s %s with a write-only token: %d %s", w.method, w.path, r.status, r.body)
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(r.body), &got); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got["id"] == nil {
			t.Errorf("%s %s with a write-only token answered %s, want only the id", w.method, w.path, r.body)
		}
		// The same write by a token that may read shows the event.
		full := a.do(w.method, w.path, "alice", w.body)
		if !strings.Contains(full.body, `"title"`) {
			t.Errorf("%s %s with a full token answered %s, want the event", w.method, w.path, full.body)
		}
	}
	if r := a.do(http.MethodGet, "/api/events/"+id, "alice-writes", ""); r.status != http.StatusForbidden {
		t.Errorf("read with a write-only token: %d, want 403", r.status)
	}
}

// fakeMCP stands in for the MCP server: it answers with the identity the
// API put in the request's context.
type fakeMCP struct{}

func (fakeMCP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, ok := agenda.FromContext(r.Context())
	if !ok {
		http.Error(w, "no identity", http.StatusInternalServerError)
		return
	}
	io.WriteString(w, id.UserID)
}
func (fakeMCP) Metadata() http.Handler { return http.NotFoundHandler() }
func (fakeMCP) MetadataURL() string {
	return "https://agenda.test/.well-known/oauth-protected-resource/mcp"
}

// startAPIWith is startAPI with the MCP endpoint and changed limits.
func startAPIWith(t *testing.T, change func(*Deps)) *testAPI {
	t.Helper()
	c, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	d := Deps{Events: unused{}, Auth: testTokens, Hub: unused{}, Contract: c, MCP: fakeMCP{}, MCPAuth: testTokens}
	change(&d)
	e, err := NewServer(d)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &testAPI{t: t, url: srv.URL}
}

// TestChallenges: every 401 and 403, on /api, /ws and /mcp, carries the
// one challenge format: no error code without credentials (RFC 6750 §3.1),
// invalid_token for a refused token, insufficient_scope with the scope for
// a 403, resource_metadata on /mcp, and only the characters RFC 6750
// allows (issue 14, item 11; issue 10).
func TestChallenges(t *testing.T) {
	a := startAPIWith(t, func(*Deps) {})
	const metadata = `resource_metadata="https://agenda.test/.well-known/oauth-protected-resource/mcp"`
	for _, tc := range []struct {
		name, method, path, token string
		status                    int
		want                      string
	}{
		{"/api without a token", "GET", "/api/events", "", 401, `Bearer realm="agenda"`},
		{"/api with a refused token", "GET", "/api/events", "bogus", 401, `Bearer error="invalid_token", error_description="the access token is not valid"`},
		{"/api without the read scope", "GET", "/api/events", "alice-writes", 403, `Bearer error="insufficient_scope", error_description="the access token lacks the read scope; ask for it when signing in (scope: read write), and check that the user's Logto role grants it", scope="read"`},
		{"/ws without a token", "GET", "/ws", "", 401, `Bearer realm="agenda"`},
		{"/ws with a refused token", "GET", "/ws", "bogus", 401, `Bearer error="invalid_token", error_description="the access token is not valid"`},
		{"/ws without the read scope", "GET", "/ws", "alice-writes", 403, `Bearer error="insufficient_scope"`},
		{"/mcp without a token", "POST", "/mcp", "", 401, `Bearer ` + metadata + `, scope="read write"`},
		{"/mcp with a refused token", "POST", "/mcp", "bogus", 401, `Bearer error="invalid_token", error_description="the access token is not valid", ` + metadata + `, scope="read write"`},
	} {
		r := a.do(tc.method, tc.path, tc.token, "")
		if r.status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, r.status, r.body, tc.status)
			continue
		}
		r.problem(t)
		h := r.header.Get("WWW-Authenticate")
		if !strings.HasPrefix(h, tc.want) {
			t.Errorf("%s: WWW-Authenticate\n %s\nwant it to begin\n %s", tc.name, h, tc.want)
		}
		if strings.ContainsAny(h[len("Bearer "):], "\\") || strings.Count(h, `"`)%2 != 0 {
			t.Errorf("%s: WWW-Authenticate %s has characters RFC 6750 does not allow", tc.name, h)
		}
	}
	// A message with quotes in it keeps to the allowed characters.
	r := a.do("GET", "/api/events", "", "", "Authorization", "Basic YWxpY2U6c2VjcmV0")
	if h := r.header.Get("WWW-Authenticate"); !strings.Contains(h, `error_description="the Authorization header must be 'Bearer <access token>'"`) {
		t.Errorf("another scheme: WWW-Authenticate %s", h)
	}
	if r := a.do("POST", "/mcp", "alice", ""); r.status != http.StatusOK || r.body != "alice" {
		t.Errorf("/mcp with a good token: %d %q, want the identity handed on", r.status, r.body)
	}
}

// TestMCPRateLimitIsPerUser: /mcp's budget is the verified user's, so two
// tokens of one user share it, and refused tokens never reach it (issue
// 14, item 14).
func TestMCPRateLimitIsPerUser(t *testing.T) {
	tokens := tokens{"alice-1": {UserID: "alice"}, "alice-2": {UserID: "alice"}, "bob": {UserID: "bob"}}
	a := startAPIWith(t, func(d *Deps) {
		d.MCPAuth, d.RateLimit, d.RateBurst = tokens, 0.001, 3
	})
	for i, tok := range []string{"alice-1", "alice-2", "alice-1"} {
		if r := a.do("POST", "/mcp", tok, ""); r.status != http.StatusOK {
			t.Fatalf("call %d: %d %s", i, r.status, r.body)
		}
	}
	if r := a.do("POST", "/mcp", "alice-2", ""); r.status != http.StatusTooManyRequests {
		t.Errorf("alice's fourth call, with her other token: %d, want 429", r.status)
	}
	if r := a.do("POST", "/mcp", "bob", ""); r.status != http.StatusOK {
		t.Errorf("bob, within his own budget: %d", r.status)
	}
	for i := range 5 {
		if r := a.do("POST", "/mcp", fmt.Sprintf("random-%d", i), ""); r.status != http.StatusUnauthorized {
			t.Errorf("a random token: %d, want 401 before any budget", r.status)
		}
	}
}

// TestRetriedCreateEveryField: through the API, a create retried with the
// same request_id and any one field of the body changed is 409, and the
// identical body answers with the first event (issue 10's defect: some
// fields used to be left out of the comparison). Every property of the
// create body in openapi.yaml has a case.
func TestRetriedCreateEveryField(t *testing.T) {
	a := startAPI(t)
	base := map[string]any{
		"title": "Flight", "start": "2026-12-01T09:00:00Z", "end": "2026-12-01T11:00:00Z",
		"time_zone": "UTC", "all_day": false, "location": "Gate 4", "notes": "window seat",
	}
	changes := map[string]any{
		"title": "Train", "start": "2026-12-01T09:01:00Z", "end": "2026-12-01T11:01:00Z",
		"time_zone": "Africa/Abidjan", "all_day": true, "location": "Gate 5", "notes": "aisle seat",
	}
	c, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	props, _ := c.Operation("createEvent").InputSchema()["properties"].(map[string]any)
	if len(props) == 0 {
		t.Fatal("createEvent has no input properties")
	}
	for name := range props {
		if _, ok := changes[name]; !ok && name != "request_id" {
			t.Errorf("no case changes %s: add one", name)
		}
	}
	for field, value := range changes {
		body := map[string]any{"request_id": "retry " + field}
		for k, v := range base {
			body[k] = v
		}
		raw, _ := json.Marshal(body)
		first := a.do(http.MethodPost, "/api/events", "alice", string(raw))
		again := a.do(http.MethodPost, "/api/events", "alice", string(raw))
		if first.status != http.StatusCreated || again.status != http.StatusCreated || first.body != again.body || again.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("%s: the identical retry: %d %s / %d %s", field, first.status, first.body, again.status, again.body)
		}
		body[field] = value
		raw, _ = json.Marshal(body)
		if r := a.do(http.MethodPost, "/api/events", "alice", string(raw)); r.status != http.StatusConflict {
			t.Errorf("%s changed under the same request_id: %d %s, want 409", field, r.status, r.body)
		}
	}
}

// refusingHub refuses every WebSocket as from a foreign origin.
type refusingHub struct{ unused }

func (refusingHub) Admit(*http.Request) error {
	return agenda.Errorf(agenda.EFORBIDDEN, "pages from origin \"https://evil.example\" may not open this feed")
}

// limitedTokens refuses every token as the auth package does once an
// address has spent its budget of refused tokens.
type limitedTokens struct{}

func (limitedTokens) Authenticate(context.Context, string, string) (agenda.Identity, error) {
	return agenda.Identity{}, agenda.Errorf(agenda.ERATELIMIT, "too many refused access tokens from this address; wait 10 second(s)")
}

// TestRefusalHeaders: a 403 that no token could cure (an origin) carries
// no insufficient_scope challenge, and a 429 from the refused-token budget
// carries its Retry-After (issue 14, items 5 and 11).
func TestRefusalHeaders(t *testing.T) {
	a := startAPIWith(t, func(d *Deps) { d.Hub = refusingHub{} })
	r := a.do("GET", "/ws", "alice", "")
	if r.status != http.StatusForbidden || r.header.Get("WWW-Authenticate") != "" {
		t.Errorf("/ws from a foreign origin: %d, WWW-Authenticate %q; want 403 without a challenge", r.status, r.header.Get("WWW-Authenticate"))
	}
	r.problem(t)

	b := startAPIWith(t, func(d *Deps) { d.Auth, d.RefusalRetryAfter = limitedTokens{}, 10 })
	r = b.do("GET", "/api/events", "anything", "")
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "10" {
		t.Errorf("a spent refusal budget: %d, Retry-After %q; want 429 with 10", r.status, r.header.Get("Retry-After"))
	}
}
