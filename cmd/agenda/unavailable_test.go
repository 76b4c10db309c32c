package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/agenda-gpt/agenda/store/storetest"
)

// TestDatabaseOutageIs503: when PostgreSQL stops answering, every API
// operation, the MCP tools and /readyz answer 503 with Retry-After and a
// detail a model can act on, never a 500. The app reaches the database through a proxy on loopback, and
// stopping the proxy closes the port.
func TestDatabaseOutageIs503(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(storetest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := storetest.StartProxy(t, u.Host)
	u.Host = proxy.Addr()
	app := startApp(t, nil, map[string]string{"DATABASE_URL": u.String(), "LOGTO_API_RESOURCE": apiResource})
	tok := app.devToken("alice", apiResource, "read", "write")
	created := app.call("POST", "/api/events", tok, map[string]any{"title": "before", "start": "2026-12-01T09:00:00Z"})
	if created.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", created.Status, created.Body)
	}
	id := created.event(t).ID
	session := mcpSession(t, app.mcpResource(), app.devToken("alice", app.mcpResource(), "read", "write"))

	proxy.Stop()
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/events", nil},
		{"GET", "/api/events/" + id, nil},
		{"POST", "/api/events", map[string]any{"title": "during", "start": "2026-12-01T10:00:00Z"}},
		{"PATCH", "/api/events/" + id, map[string]any{"title": "during"}},
		{"DELETE", "/api/events/" + id, nil},
		{"GET", "/readyz", nil},
	} {
		r := app.call(c.method, c.path, tok, c.body)
		if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
			t.Errorf("%s %s: %d (Retry-After %q) %s, want 503 with Retry-After", c.method, c.path, r.Status, r.Header.Get("Retry-After"), r.Body)
			continue
		}
		if c.path != "/readyz" {
			if p := r.problem(t); !strings.Contains(p.Detail, "try again") {
				t.Errorf("%s %s: detail %q does not say to try again", c.method, c.path, p.Detail)
			}
		}
	}
	if msg := fail(t, callTool(t, session, "list_events", map[string]any{})); !strings.Contains(msg, "try again") {
		t.Errorf("list_events during the outage: %q", msg)
	}
}
