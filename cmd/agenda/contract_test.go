package main

import (
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
)

// TestContractRoutesMatchSpec: every route served under /api is in
// openapi.yaml and every operation there is served.
func TestContractRoutesMatchSpec(t *testing.T) {
	idp := startIdP(t)
	app := startApp(t, idp, nil)
	e := app.app.handler.(*echo.Echo)
	served := map[string]bool{}
	for _, r := range e.Routes() {
		if !strings.HasPrefix(r.Path, "/api/") || r.Method == echo.RouteNotFound {
			continue
		}
		key := r.Method + " " + toSpecPath(r.Path)
		served[key] = true
	}
	spec := map[string]bool{}
	sp := mustSpec(t)
	for path, item := range sp.Paths.Map() {
		for method := range item.Operations() {
			spec[method+" "+path] = true
		}
	}
	for k := range served {
		if !spec[k] {
			t.Errorf("%s is served but not in openapi.yaml", k)
		}
	}
	for k := range spec {
		if !served[k] {
			t.Errorf("%s is in openapi.yaml but not served", k)
		}
	}
	if len(spec) != 5 {
		t.Errorf("%d operations in the spec, want 5", len(spec))
	}
}

func toSpecPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, ":") {
			parts[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

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
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200} {
		r := app.call("GET", path, "", nil)
		if r.Status != want {
			t.Errorf("%s: %d", path, r.Status)
		}
		if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: security headers missing: %v", path, r.Header)
		}
	}
	app.app.store.Close()
	if r := app.call("GET", "/readyz", "", nil); r.Status != 503 {
		t.Errorf("/readyz with the database closed: %d", r.Status)
	}
}
