package main

import (
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestServedSpecAndHealth: the spec is importable by URL with this
// deployment's URLs, health checks answer, and responses carry the security
// headers.
func TestServedSpecAndHealth(t *testing.T) {
	idp := startIdP(t)
	app := startApp(t, idp, nil)
	for _, path := range []string{"/openapi.yaml", "/openapi.json"} {
		r := app.call("GET", path, "", nil)
		if r.Status != 200 {
			t.Fatalf("%s: %d", path, r.Status)
		}
		doc, err := openapi3.NewLoader().LoadFromData(r.Body)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(doc.Servers) != 1 || doc.Servers[0].URL != app.URL {
			t.Errorf("%s: servers %v, want %s", path, doc.Servers, app.URL)
		}
		flow := doc.Components.SecuritySchemes["logto"].Value.Flows.AuthorizationCode
		if flow.AuthorizationURL != idp.URL+"/oidc/auth" || flow.TokenURL != idp.URL+"/oidc/token" {
			t.Errorf("%s: OAuth URLs %s %s", path, flow.AuthorizationURL, flow.TokenURL)
		}
	}
	// Every kind of response carries the security headers, each once with
	// its one value: set in one place.
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/": 200, "/privacy": 200, "/static/agenda.js": 200, "/api/events": 401, "/nope": 404, "/openapi.yaml": 200} {
		r := app.call("GET", path, "", nil)
		if r.Status != want {
			t.Errorf("%s: %d", path, r.Status)
		}
		for name, value := range map[string]string{
			"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
			"Cross-Origin-Opener-Policy": "same-origin", "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
		} {
			if got := r.Header.Values(name); len(got) != 1 || got[0] != value {
				t.Errorf("%s: %s is %q, want once %q", path, name, got, value)
			}
		}
	}
	app.app.store.Close()
	if r := app.call("GET", "/readyz", "", nil); r.Status != 503 {
		t.Errorf("/readyz with the database closed: %d", r.Status)
	}
}
