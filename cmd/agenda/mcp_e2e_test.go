package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/agenda-gpt/agenda"
	"github.com/agenda-gpt/agenda/devidp"
)

// The MCP tests run the app in development mode: its provider under /oidc
// knows the MCP resource by the URL clients connect to (BASE_URL/mcp), as a
// Logto API resource would, and the API resource besides, so a test can hold
// a valid token for the wrong audience.

// mcpWait bounds every wait of these tests; none comes near it.
const mcpWait = 10 * time.Second

// mcpCallback is where the public MCP client's sign-in returns; sign-in
// stops at the redirect, so nothing needs to listen there.
const mcpCallback = "http://127.0.0.1:1/callback"

func startMCPApp(t testing.TB) *testApp {
	t.Helper()
	return startApp(t, nil, map[string]string{"LOGTO_API_RESOURCE": apiResource})
}

func (ta *testApp) mcpResource() string { return ta.URL + "/mcp" }

// devToken signs user in with the public MCP client (PKCE) and returns an
// access token for resource with the given scopes.
func (ta *testApp) devToken(user, resource string, scopes ...string) string {
	ta.t.Helper()
	tok, err := devidp.SignIn(context.Background(), &http.Client{Timeout: 10 * time.Second}, ta.URL+"/oidc",
		devidp.ClientCredentials{ID: devMCPClientID}, mcpCallback, user, scopes, resource)
	if err != nil {
		ta.t.Fatalf("sign in %s for %s: %v", user, resource, err)
	}
	return tok.AccessToken
}

// withToken sends a bearer token on every request, as an MCP client does
// once signed in.
type withToken struct{ token string }

func (wt withToken) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+wt.token)
	return http.DefaultTransport.RoundTrip(r)
}

// mcpSession connects the SDK's own client to endpoint over streamable
// HTTP with token. It is closed when the test ends.
func mcpSession(t testing.TB, endpoint, token string) *mcp.ClientSession {
	t.Helper()
	s, err := connectMCP(endpoint, &mcp.StreamableClientTransport{
		Endpoint: endpoint, HTTPClient: &http.Client{Transport: withToken{token}}, MaxRetries: -1,
	})
	if err != nil {
		t.Fatalf("connect to %s: %v", endpoint, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func connectMCP(endpoint string, transport *mcp.StreamableClientTransport) (*mcp.ClientSession, error) {
	ctx, cancel := context.WithTimeout(context.Background(), mcpWait)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "agenda-tests", Version: "1.0.0"}, nil)
	return client.Connect(ctx, transport, nil)
}

func callTool(t testing.TB, s *mcp.ClientSession, name string, args any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), mcpWait)
	defer cancel()
	res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("call %s: %v", name, err)
	}
	return res
}

// succeed and fail check the outcome of a call and return its text.
func succeed(t testing.TB, res *mcp.CallToolResult) string {
	t.Helper()
	if res.IsError {
		t.Fatalf("tool error: %s", textOf(res))
	}
	return textOf(res)
}

func fail(t testing.TB, res *mcp.CallToolResult) string {
	t.Helper()
	if !res.IsError {
		t.Fatalf("want a tool error, got %s", textOf(res))
	}
	return textOf(res)
}

func textOf(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// structured is a result's structured content as JSON.
func structured(t testing.TB, res *mcp.CallToolResult) []byte {
	t.Helper()
	raw, err := json.Marshal(res.StructuredContent)
	if err != nil || res.StructuredContent == nil {
		t.Fatalf("no structured content: %v (%s)", err, textOf(res))
	}
	return raw
}

func resultEvent(t testing.TB, res *mcp.CallToolResult) agenda.Event {
	t.Helper()
	succeed(t, res)
	var e agenda.Event
	if err := json.Unmarshal(structured(t, res), &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// sameJSON reports whether two JSON documents hold the same value.
func sameJSON(t testing.TB, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%v: %s", err, a)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return reflect.DeepEqual(x, y)
}

// TestMCPTools: the SDK's client lists the five tools, with their schemas
// and annotations, and calls each; the results are the API's JSON.
func TestMCPTools(t *testing.T) {
	t.Parallel()
	app := startMCPApp(t)
	tok := app.devToken("alice", app.mcpResource(), "read", "write")
	apiTok := app.devToken("alice", apiResource, "read", "write")
	s := mcpSession(t, app.URL+"/mcp", tok)

	ctx, cancel := context.WithTimeout(context.Background(), mcpWait)
	defer cancel()
	listed, err := s.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*mcp.Tool{}
	for _, tl := range listed.Tools {
		byName[tl.Name] = tl
	}
	type hints struct{ readOnly, destructive, idempotent bool }
	for name, want := range map[string]hints{
		"list_events":  {readOnly: true, idempotent: true},
		"get_event":    {readOnly: true, idempotent: true},
		"create_event": {},
		"update_event": {idempotent: true},
		"delete_event": {destructive: true, idempotent: true},
	} {
		tl := byName[name]
		if tl == nil {
			t.Fatalf("no tool %s in %d tools", name, len(listed.Tools))
		}
		a := tl.Annotations
		if a == nil || a.ReadOnlyHint != want.readOnly || a.DestructiveHint == nil || *a.DestructiveHint != want.destructive ||
			a.IdempotentHint != want.idempotent || a.OpenWorldHint == nil || *a.OpenWorldHint {
			t.Errorf("%s annotations %+v, want %+v and a closed world", name, a, want)
		}
		if tl.Description == "" || tl.InputSchema == nil {
			t.Errorf("%s has no description or input schema", name)
		}
	}
	for _, c := range []struct{ tool, says string }{
		{"create_event", "request_id"}, {"create_event", "time zone"}, {"list_events", "before updating or deleting"},
		{"update_event", "list_events"}, {"delete_event", "confirmed"},
	} {
		if !strings.Contains(byName[c.tool].Description, c.says) {
			t.Errorf("%s's description does not mention %q", c.tool, c.says)
		}
	}
	if len(listed.Tools) != 5 {
		t.Errorf("%d tools, want 5", len(listed.Tools))
	}

	// Create, twice with the same request_id: one event.
	args := map[string]any{
		"title": "Dentist", "start": "2026-12-01T09:00:00+01:00", "end": "2026-12-01T09:30:00+01:00",
		"time_zone": "Europe/Paris", "location": "Paris", "notes": "Bring <card> & cash", "request_id": "dentist-1",
	}
	res := callTool(t, s, "create_event", args)
	ev := resultEvent(t, res)
	if ev.ID == "" || ev.Title != "Dentist" || !ev.Start.Equal(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)) {
		t.Fatalf("created %+v", ev)
	}
	validateOutput(t, byName["create_event"], res)
	if text := textOf(res); !strings.Contains(text, "2026-12-01T09:00:00+01:00") || !strings.Contains(text, ev.ID) {
		t.Errorf("text rendering %q lacks the local start or the id", text)
	}
	again := callTool(t, s, "create_event", args)
	if resultEvent(t, again).ID != ev.ID || !strings.Contains(textOf(again), "earlier call with this request_id") {
		t.Errorf("the retried create made %s: %s", resultEvent(t, again).ID, textOf(again))
	}

	// Get: the same JSON as GET /api/events/{id}.
	res = callTool(t, s, "get_event", map[string]any{"id": ev.ID})
	validateOutput(t, byName["get_event"], res)
	r := app.call("GET", "/api/events/"+ev.ID, apiTok, nil)
	if r.Status != http.StatusOK || !sameJSON(t, structured(t, res), r.Body) {
		t.Errorf("get_event %s\n     API %s", structured(t, res), r.Body)
	}

	// List: the same JSON as GET /api/events.
	res = callTool(t, s, "list_events", map[string]any{"from": "2026-12-01T00:00:00+01:00", "to": "2026-12-02T00:00:00+01:00", "q": "dent"})
	validateOutput(t, byName["list_events"], res)
	r = app.call("GET", "/api/events?from=2026-12-01T00:00:00%2B01:00&to=2026-12-02T00:00:00%2B01:00&q=dent", apiTok, nil)
	if !sameJSON(t, structured(t, res), r.Body) || !strings.Contains(textOf(res), ev.ID) {
		t.Errorf("list_events %s\n       API %s", structured(t, res), r.Body)
	}
	if text := succeed(t, callTool(t, s, "list_events", map[string]any{"from": "2026-12-02T00:00:00+01:00"})); text != "No events." {
		t.Errorf("list after the event: %q", text)
	}

	// Update: end and location cleared, the rest kept.
	res = callTool(t, s, "update_event", map[string]any{"id": ev.ID, "start": "2026-12-01T10:00:00+01:00", "end": "", "location": ""})
	up := resultEvent(t, res)
	if up.End != nil || up.Location != "" || up.Notes != "Bring <card> & cash" || up.Start.UTC().Hour() != 9 {
		t.Errorf("after update %+v (end %v)", up, up.End)
	}

	// Delete; then the event is gone, with the API's message.
	if text := succeed(t, callTool(t, s, "delete_event", map[string]any{"id": ev.ID})); !strings.Contains(text, ev.ID) {
		t.Errorf("delete said %q", text)
	}
	gone := fail(t, callTool(t, s, "get_event", map[string]any{"id": ev.ID}))
	if p := app.call("GET", "/api/events/"+ev.ID, apiTok, nil).problem(t); p.Status != http.StatusNotFound || gone != p.Detail {
		t.Errorf("get after delete: tool %q, API %d %q", gone, p.Status, p.Detail)
	}

	// /mcp/ is the same endpoint, without a redirect.
	slash := mcpSession(t, app.URL+"/mcp/", tok)
	if text := succeed(t, callTool(t, slash, "list_events", nil)); text != "No events." {
		t.Errorf("list through /mcp/: %q", text)
	}
}

// validateOutput checks a result's structured content against the output
// schema the tool advertised.
func validateOutput(t testing.TB, tl *mcp.Tool, res *mcp.CallToolResult) {
	t.Helper()
	raw, err := json.Marshal(tl.OutputSchema)
	if err != nil {
		t.Fatal(err)
	}
	var s jsonschema.Schema
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	resolved, err := s.Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(structured(t, res), &v); err != nil {
		t.Fatal(err)
	}
	if err := resolved.Validate(v); err != nil {
		t.Errorf("%s: structured content does not match its output schema: %v", tl.Name, err)
	}
}

// TestMCPErrorsSayWhatTheAPISays: a refused tool call is a tool error whose
// text is the API's problem detail for the same request.
func TestMCPErrorsSayWhatTheAPISays(t *testing.T) {
	t.Parallel()
	app := startMCPApp(t)
	s := mcpSession(t, app.URL+"/mcp", app.devToken("alice", app.mcpResource(), "read", "write"))
	apiTok := app.devToken("alice", apiResource, "read", "write")
	ev := resultEvent(t, callTool(t, s, "create_event", map[string]any{"title": "Kept", "start": "2026-12-01T09:00:00Z"}))

	for _, c := range []struct {
		name         string
		method, path string
		tool         string
		args         map[string]any
	}{
		{"offset of another zone", "POST", "/api/events", "create_event",
			map[string]any{"title": "x", "start": "2026-12-01T09:00:00Z", "time_zone": "Europe/Paris"}},
		{"end before start", "POST", "/api/events", "create_event",
			map[string]any{"title": "x", "start": "2026-12-01T09:00:00Z", "end": "2026-12-01T08:00:00Z"}},
		{"unknown zone", "POST", "/api/events", "create_event",
			map[string]any{"title": "x", "start": "2026-12-01T09:00:00Z", "time_zone": "Mars/Olympus_Mons"}},
		{"empty title", "POST", "/api/events", "create_event", map[string]any{"title": "", "start": "2026-12-01T09:00:00Z"}},
		{"malformed start", "POST", "/api/events", "create_event", map[string]any{"title": "x", "start": "tomorrow at nine"}},
		{"unknown field", "POST", "/api/events", "create_event", map[string]any{"title": "x", "start": "2026-12-01T09:00:00Z", "colour": "blue"}},
		{"move to another zone's offset", "PATCH", "/api/events/" + ev.ID, "update_event",
			map[string]any{"id": ev.ID, "time_zone": "America/New_York", "start": "2026-12-01T09:00:00+01:00"}},
		{"update an unknown event", "PATCH", "/api/events/evt_nope", "update_event", map[string]any{"id": "evt_nope", "title": "x"}},
		{"get an unknown event", "GET", "/api/events/evt_nope", "get_event", map[string]any{"id": "evt_nope"}},
		{"delete an unknown event", "DELETE", "/api/events/evt_nope", "delete_event", map[string]any{"id": "evt_nope"}},
		{"a forged cursor", "GET", "/api/events?cursor=forged", "list_events", map[string]any{"cursor": "forged"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var body any
			if c.method == "POST" || c.method == "PATCH" {
				b := map[string]any{}
				for k, v := range c.args {
					if k != "id" {
						b[k] = v
					}
				}
				body = b
			}
			p := app.call(c.method, c.path, apiTok, body).problem(t)
			got := fail(t, callTool(t, s, c.tool, c.args))
			if got != p.Detail {
				t.Errorf("tool: %q\n API: %q (%d)", got, p.Detail, p.Status)
			}
		})
	}
	if got := resultEvent(t, callTool(t, s, "get_event", map[string]any{"id": ev.ID})); got.Title != "Kept" || got.TimeZone != "" {
		t.Errorf("a refused update changed the event: %+v", got)
	}
}

// TestMCPScopes: read lets a token list and get, write is needed to change
// anything; without it the tool says what the API's 403 says.
func TestMCPScopes(t *testing.T) {
	t.Parallel()
	app := startMCPApp(t)
	writer := mcpSession(t, app.URL+"/mcp", app.devToken("alice", app.mcpResource(), "read", "write"))
	ev := resultEvent(t, callTool(t, writer, "create_event", map[string]any{"title": "Mine", "start": "2026-12-01T09:00:00Z"}))

	reader := mcpSession(t, app.URL+"/mcp", app.devToken("alice", app.mcpResource(), "read"))
	if text := succeed(t, callTool(t, reader, "list_events", nil)); !strings.Contains(text, ev.ID) {
		t.Errorf("reader's list: %q", text)
	}
	succeed(t, callTool(t, reader, "get_event", map[string]any{"id": ev.ID}))
	forbidden := app.call("POST", "/api/events", app.devToken("alice", apiResource, "read"), map[string]any{"title": "x", "start": "2026-12-01T09:00:00Z"}).problem(t)
	for _, c := range []struct {
		tool string
		args map[string]any
	}{
		{"create_event", map[string]any{"title": "x", "start": "2026-12-01T09:00:00Z"}},
		{"update_event", map[string]any{"id": ev.ID, "title": "Changed"}},
		{"delete_event", map[string]any{"id": ev.ID}},
	} {
		if got := fail(t, callTool(t, reader, c.tool, c.args)); forbidden.Status != http.StatusForbidden || got != forbidden.Detail {
			t.Errorf("reader %s: %q; the API says %d %q", c.tool, got, forbidden.Status, forbidden.Detail)
		}
	}
	writeOnly := mcpSession(t, app.URL+"/mcp", app.devToken("alice", app.mcpResource(), "write"))
	if got := fail(t, callTool(t, writeOnly, "list_events", nil)); !strings.Contains(got, "lacks the read scope") {
		t.Errorf("write-only list: %q", got)
	}
	if got := resultEvent(t, callTool(t, writer, "get_event", map[string]any{"id": ev.ID})); got.Title != "Mine" {
		t.Errorf("the reader changed the event: %+v", got)
	}
}

// initialize is the first request an MCP client sends.
const initialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}`

// postMCP sends body to path as an MCP client would, with header.
func postMCP(t testing.TB, ta *testApp, path, body string, header http.Header) response {
	t.Helper()
	req, err := http.NewRequest("POST", ta.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := (&http.Client{Timeout: mcpWait}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// challenge parses the Bearer challenge of a 401.
func challenge(t testing.TB, r response) map[string]string {
	t.Helper()
	if r.Status != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401: %s", r.Status, r.Body)
	}
	cs, err := oauthex.ParseWWWAuthenticate(r.Header.Values("WWW-Authenticate"))
	if err != nil || len(cs) != 1 || cs[0].Scheme != "bearer" {
		t.Fatalf("WWW-Authenticate %q: %v", r.Header.Values("WWW-Authenticate"), err)
	}
	return cs[0].Params
}

// TestMCPRefusesOtherTokens: only a JWT issued for the MCP resource opens
// the endpoint. A valid token for the API, an opaque token, an expired one
// are refused with a challenge that says why; the API likewise refuses the
// MCP resource's token. No token passes through.
func TestMCPRefusesOtherTokens(t *testing.T) {
	t.Parallel()
	app := startMCPApp(t)
	metadata := app.URL + "/.well-known/oauth-protected-resource/mcp"

	r := postMCP(t, app, "/mcp", initialize, nil)
	if got, want := r.Header.Get("WWW-Authenticate"), `Bearer resource_metadata="`+metadata+`", scope="read write"`; got != want {
		t.Errorf("no token: WWW-Authenticate\n %s\nwant\n %s", got, want)
	}
	if p := challenge(t, r); p["error"] != "" {
		t.Errorf("no token: error %q; RFC 6750 wants none", p["error"])
	}

	apiTok := app.devToken("alice", apiResource, "read", "write")
	if r := app.call("GET", "/api/events", apiTok, nil); r.Status != http.StatusOK {
		t.Fatalf("the API token does not work on the API: %d %s", r.Status, r.Body)
	}
	for _, c := range []struct {
		name, header string
		says         []string
	}{
		{"a token for the API", "Bearer " + apiTok, []string{`audience "` + apiResource + `"`, `expects "` + app.mcpResource() + `"`}},
		{"an opaque token", "Bearer " + app.devToken("alice", "", "openid"), []string{"opaque", `audience "` + app.mcpResource() + `"`}},
		{"a forged token", "Bearer eyJhbGciOiJFUzM4NCJ9.eyJzdWIiOiJhbGljZSJ9.c2ln", []string{"sign in again"}},
		{"another scheme", "Basic YWxpY2U6c2VjcmV0", []string{"Bearer"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := postMCP(t, app, "/mcp", initialize, http.Header{"Authorization": {c.header}})
			p := challenge(t, r)
			if p["resource_metadata"] != metadata || p["error"] == "" {
				t.Errorf("challenge %v", p)
			}
			detail := r.problem(t).Detail
			for _, s := range c.says {
				if !strings.Contains(detail, s) || !strings.Contains(p["error_description"], strings.ReplaceAll(s, `"`, "'")) {
					t.Errorf("detail %q / error_description %q do not say %q", detail, p["error_description"], s)
				}
			}
		})
	}
	// An expired token, signed by a provider the test holds the keys of,
	// for an app whose MCP resource that provider knows.
	idp := startIdP(t)
	other := startApp(t, idp, map[string]string{"MCP_RESOURCE": apiResource})
	expired, err := idp.MintAccessToken(map[string]any{
		"iss": idp.URL + "/oidc", "sub": "alice", "aud": apiResource, "scope": "read write",
		"iat": time.Now().Add(-2 * time.Hour).Unix(), "exp": time.Now().Add(-time.Hour).Unix(),
	})
	if err != nil {
		t.Fatal(err)
	}
	r = postMCP(t, other, "/mcp", initialize, http.Header{"Authorization": {"Bearer " + expired}})
	if p := challenge(t, r); p["error"] != "invalid_token" || !strings.Contains(p["error_description"], "expired") || !strings.Contains(r.problem(t).Detail, "expired") {
		t.Errorf("an expired token: %v %s", p, r.Body)
	}

	if _, err := connectMCP(app.URL+"/mcp", &mcp.StreamableClientTransport{
		Endpoint: app.URL + "/mcp", HTTPClient: &http.Client{Transport: withToken{apiTok}}, MaxRetries: -1,
	}); err == nil {
		t.Error("the SDK client connected with the API's token")
	}

	mcpTok := app.devToken("alice", app.mcpResource(), "read", "write")
	if r := app.call("GET", "/api/events", mcpTok, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("the API accepted the MCP resource's token: %d", r.Status)
	}
	if r := postMCP(t, app, "/mcp", initialize, bearer(mcpTok)); r.Status != http.StatusOK {
		t.Errorf("the MCP resource's token: %d %s", r.Status, r.Body)
	}
}

// TestMCPUsersStayApart: bob can neither see, change nor delete alice's
// event: every request acts for the user of its own token.
func TestMCPUsersStayApart(t *testing.T) {
	t.Parallel()
	app := startMCPApp(t)
	alice := mcpSession(t, app.URL+"/mcp", app.devToken("alice", app.mcpResource(), "read", "write"))
	bob := mcpSession(t, app.URL+"/mcp", app.devToken("bob", app.mcpResource(), "read", "write"))
	ev := resultEvent(t, callTool(t, alice, "create_event", map[string]any{"title": "Private", "start": "2026-12-01T09:00:00Z"}))

	notFound := fail(t, callTool(t, alice, "get_event", map[string]any{"id": "evt_nope"}))
	for _, c := range []struct {
		tool string
		args map[string]any
	}{
		{"get_event", map[string]any{"id": ev.ID}},
		{"update_event", map[string]any{"id": ev.ID, "title": "Hijacked"}},
		{"delete_event", map[string]any{"id": ev.ID}},
	} {
		got := fail(t, callTool(t, bob, c.tool, c.args))
		if got != strings.Replace(notFound, "evt_nope", ev.ID, 1) {
			t.Errorf("bob %s alice's event: %q", c.tool, got)
		}
	}
	if text := succeed(t, callTool(t, bob, "list_events", nil)); strings.Contains(text, ev.ID) {
		t.Errorf("bob's list shows alice's event: %s", text)
	}
	if got := resultEvent(t, callTool(t, alice, "get_event", map[string]any{"id": ev.ID})); got.Title != "Private" {
		t.Errorf("alice's event changed: %+v", got)
	}

}

// TestMCPDiscovery walks from a 401 to the sign-in page as an MCP client
// does, then lets the SDK's own OAuth client do the same and sign in.
func TestMCPDiscovery(t *testing.T) {
	t.Parallel()
	app := startMCPApp(t)
	client := &http.Client{Timeout: mcpWait}
	ctx, cancel := context.WithTimeout(context.Background(), 3*mcpWait)
	defer cancel()

	// 401 → resource_metadata → the metadata, at both well-known URLs.
	metadataURL := challenge(t, postMCP(t, app, "/mcp", initialize, nil))["resource_metadata"]
	prm, err := oauthex.GetProtectedResourceMetadata(ctx, metadataURL, app.mcpResource(), client)
	if err != nil {
		t.Fatal(err)
	}
	issuer := app.URL + "/oidc"
	if prm.Resource != app.mcpResource() || !slices.Equal(prm.AuthorizationServers, []string{issuer}) ||
		!slices.Equal(prm.ScopesSupported, []string{"read", "write"}) || !slices.Equal(prm.BearerMethodsSupported, []string{"header"}) {
		t.Errorf("metadata %+v", prm)
	}
	first := app.call("GET", "/.well-known/oauth-protected-resource/mcp", "", nil)
	root := app.call("GET", "/.well-known/oauth-protected-resource", "", nil)
	if root.Status != http.StatusOK || !sameJSON(t, root.Body, first.Body) {
		t.Errorf("the root metadata differs: %d %s", root.Status, root.Body)
	}

	// authorization_servers[0] → its discovery → the authorization endpoint,
	// with S256, the only PKCE method Logto and ChatGPT accept.
	r := app.call("GET", strings.TrimPrefix(prm.AuthorizationServers[0], app.URL)+"/.well-known/openid-configuration", "", nil)
	var disco struct {
		Issuer                        string   `json:"issuer"`
		AuthorizationEndpoint         string   `json:"authorization_endpoint"`
		TokenEndpoint                 string   `json:"token_endpoint"`
		CodeChallengeMethodsSupported []string `json:"code_challenge_methods_supported"`
	}
	if err := json.Unmarshal(r.Body, &disco); err != nil || r.Status != http.StatusOK {
		t.Fatalf("discovery: %d %s", r.Status, r.Body)
	}
	if disco.Issuer != issuer || disco.AuthorizationEndpoint != issuer+"/auth" || !slices.Contains(disco.CodeChallengeMethodsSupported, "S256") {
		t.Errorf("discovery %+v", disco)
	}
	resp, err := client.Get(disco.AuthorizationEndpoint + "?" + url.Values{
		"client_id": {devMCPClientID}, "redirect_uri": {mcpCallback}, "response_type": {"code"}, "scope": {"read write"},
		"state": {"s"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGjSstw-cM"}, "code_challenge_method": {"S256"},
		"resource": {prm.Resource},
	}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasSuffix(resp.Request.URL.Path, "/oidc/login") {
		t.Errorf("the authorization endpoint led to %s (%s), not the sign-in page", resp.Request.URL, resp.Status)
	}

	// The SDK's client, with nothing but the MCP URL and a client id,
	// finds all this, signs in (PKCE, resource) and calls a tool.
	handler, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		PreregisteredClient:      &oauthex.ClientCredentials{ClientID: devMCPClientID},
		RedirectURL:              mcpCallback,
		AuthorizationCodeFetcher: signInAs("carol"),
		Client:                   client,
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := connectMCP(app.URL+"/mcp", &mcp.StreamableClientTransport{Endpoint: app.URL + "/mcp", OAuthHandler: handler, MaxRetries: -1})
	if err != nil {
		t.Fatalf("the SDK's OAuth client could not connect: %v", err)
	}
	defer s.Close()
	ev := resultEvent(t, callTool(t, s, "create_event", map[string]any{"title": "Signed in", "start": "2026-12-01T09:00:00Z"}))
	carol := app.devToken("carol", apiResource, "read")
	if got := app.call("GET", "/api/events/"+ev.ID, carol, nil); got.Status != http.StatusOK {
		t.Errorf("the event is not carol's: %d %s", got.Status, got.Body)
	}
}

// signInAs plays the user's browser for the SDK's OAuth client: it follows
// the authorization URL to the development provider's sign-in page, signs
// in as user and returns what the redirect to the client carries.
func signInAs(user string) auth.AuthorizationCodeFetcher {
	return func(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
		browser := &http.Client{Timeout: mcpWait, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		next, form := args.URL, url.Values(nil)
		for range 10 {
			method, body := "GET", io.Reader(nil)
			if form != nil {
				method, body = "POST", strings.NewReader(form.Encode())
			}
			req, err := http.NewRequestWithContext(ctx, method, next, body)
			if err != nil {
				return nil, err
			}
			if form != nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			resp, err := browser.Do(req)
			if err != nil {
				return nil, err
			}
			resp.Body.Close()
			switch loc, _ := resp.Location(); {
			case loc != nil && strings.HasPrefix(loc.String(), mcpCallback):
				q := loc.Query()
				return &auth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}, nil
			case loc != nil:
				next, form = loc.String(), nil
			case resp.StatusCode == http.StatusOK && form == nil && strings.HasSuffix(req.URL.Path, "/login"):
				form = url.Values{"id": {req.URL.Query().Get("id")}, "username": {user}}
				login := *req.URL
				login.RawQuery = ""
				next = login.String()
			default:
				return nil, fmt.Errorf("%s %s: %s", method, next, resp.Status)
			}
		}
		return nil, fmt.Errorf("too many redirects from %s", args.URL)
	}
}

// TestMCPChangesReachBrowsers: a change made through a tool is pushed to
// the owner's open connections as one made through the API is, with the
// same event JSON, and to no one else's.
func TestMCPChangesReachBrowsers(t *testing.T) {
	t.Parallel()
	app := startMCPApp(t)
	aliceTabs := []*wsClient{
		mustDialWS(t, app, "", bearer(app.devToken("alice", apiResource, "read"))),
		mustDialWS(t, app, "", bearer(app.devToken("alice", apiResource, "read"))),
	}
	bobTab := mustDialWS(t, app, "", bearer(app.devToken("bob", apiResource, "read")))
	alice := mcpSession(t, app.URL+"/mcp", app.devToken("alice", app.mcpResource(), "read", "write"))
	bob := mcpSession(t, app.URL+"/mcp", app.devToken("bob", app.mcpResource(), "read", "write"))

	start := time.Now().Add(time.Hour).Truncate(time.Second).Format(time.RFC3339)
	created := callTool(t, alice, "create_event", map[string]any{"title": "From MCP", "start": start, "notes": "a & b"})
	ev := resultEvent(t, created)
	succeed(t, callTool(t, alice, "update_event", map[string]any{"id": ev.ID, "title": "Moved by MCP"}))
	succeed(t, callTool(t, alice, "delete_event", map[string]any{"id": ev.ID}))
	// Bob's own change comes last: had any of alice's reached him, it
	// would come before.
	bobsOwn := resultEvent(t, callTool(t, bob, "create_event", map[string]any{"title": "Bob's", "start": start}))

	want := []string{
		"event.created " + ev.ID + " From MCP",
		"event.updated " + ev.ID + " Moved by MCP",
		"event.deleted " + ev.ID,
	}
	for i, tab := range aliceTabs {
		for j, w := range want {
			m := tab.next()
			if got := summary(m); got != w {
				t.Fatalf("alice's connection %d, message %d: %q, want %q", i, j, got, w)
			}
			if j == 0 {
				pushed, _ := json.Marshal(m.Event)
				if !sameJSON(t, pushed, structured(t, created)) {
					t.Errorf("pushed %s\n  tool %s", pushed, structured(t, created))
				}
			}
		}
	}
	if got, w := summary(bobTab.next()), "event.created "+bobsOwn.ID+" Bob's"; got != w {
		t.Fatalf("bob's first message %q, want %q: alice's changes leaked", got, w)
	}
}

// TestMCPTransportAnswersInPlace: /mcp and /mcp/ are the same endpoint,
// with no redirect, and GET and DELETE reach the transport, which has no
// stream and no session to offer: 405, as the spec has it.
func TestMCPTransportAnswersInPlace(t *testing.T) {
	t.Parallel()
	app := startMCPApp(t)
	tok := bearer(app.devToken("alice", app.mcpResource(), "read"))
	client := &http.Client{Timeout: mcpWait, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{"/mcp", "/mcp/"} {
		if r := postMCP(t, app, path, initialize, tok); r.Status != http.StatusOK || !bytes.Contains(r.Body, []byte(`"serverInfo"`)) {
			t.Errorf("POST %s: %d %s", path, r.Status, r.Body)
		}
		for _, method := range []string{"GET", "DELETE"} {
			req, _ := http.NewRequest(method, app.URL+path, nil)
			req.Header = tok.Clone()
			req.Header.Set("Accept", "text/event-stream")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
				t.Errorf("%s %s: %s, Allow %q", method, path, resp.Status, resp.Header.Get("Allow"))
			}
		}
	}
}

// TestMCPRateLimit: the MCP endpoint has the API's per-client budget: past
// it, 429 with Retry-After; another client is not affected.
func TestMCPRateLimit(t *testing.T) {
	t.Parallel()
	app := startApp(t, nil, map[string]string{"LOGTO_API_RESOURCE": apiResource, "RATE_LIMIT": "0.1", "RATE_BURST": "3"})
	alice := bearer(app.devToken("alice", app.mcpResource(), "read"))
	var last response
	for i := 0; i < 4; i++ {
		last = postMCP(t, app, "/mcp", initialize, alice)
	}
	if last.Status != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Fatalf("4th call: %d %v %s", last.Status, last.Header, last.Body)
	}
	if r := postMCP(t, app, "/mcp", initialize, bearer(app.devToken("bob", app.mcpResource(), "read"))); r.Status != http.StatusOK {
		t.Errorf("bob limited by alice's calls: %d %s", r.Status, r.Body)
	}
}
