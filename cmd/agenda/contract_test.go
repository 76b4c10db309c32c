package main

import (
	"strings"
	"testing"

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
