package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/agenda-gpt/agenda"
	"github.com/agenda-gpt/agenda/contract"
)

// unused stands in for the dependencies a route listing never calls.
type unused struct{ agenda.EventService }

func (unused) Authenticate(context.Context, string, string) (agenda.Identity, error) {
	return agenda.Identity{}, nil
}

func (unused) Admit(*http.Request) error { return nil }

func (unused) Serve(http.ResponseWriter, *http.Request, string, func(context.Context, func(agenda.Event) bool) error) error {
	return nil
}

// TestRoutesMatchSpec: every route served under /api is in openapi.yaml and
// every operation there is served.
func TestRoutesMatchSpec(t *testing.T) {
	sp, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewServer(Deps{Events: unused{}, Auth: unused{}, Hub: unused{}, Contract: sp})
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, r := range e.Routes() {
		if strings.HasPrefix(r.Path, "/api/") && r.Method != echo.RouteNotFound && !strings.HasSuffix(r.Path, "*") {
			served[r.Method+" "+specPath(r.Path)] = true
		}
	}
	inSpec := map[string]bool{}
	doc, err := openapi3.NewLoader().LoadFromData(agenda.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			inSpec[method+" "+path] = true
		}
	}
	for k := range served {
		if !inSpec[k] {
			t.Errorf("%s is served but not in openapi.yaml", k)
		}
	}
	for k := range inSpec {
		if !served[k] {
			t.Errorf("%s is in openapi.yaml but not served", k)
		}
	}
	if len(inSpec) != 5 {
		t.Errorf("%d operations in the spec, want 5", len(inSpec))
	}
}

// specPath turns echo's /api/events/:id into the spec's /api/events/{id}.
func specPath(p string) string {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		if name, ok := strings.CutPrefix(part, ":"); ok {
			parts[i] = "{" + name + "}"
		}
	}
	return strings.Join(parts, "/")
}
