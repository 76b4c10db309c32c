package contract

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v3"

	"github.com/agenda-gpt/agenda"
)

// TestSpecLintForChatGPT checks openapi.yaml against what ChatGPT's action
// importer and runtime accept (see GPT-ACTIONS.md).
func TestSpecLintForChatGPT(t *testing.T) {
	var raw map[string]any
	if err := yaml.Unmarshal(agenda.OpenAPI, &raw); err != nil {
		t.Fatal(err)
	}
	if raw["openapi"] != "3.1.0" {
		t.Errorf("openapi is %v, want exactly 3.1.0", raw["openapi"])
	}
	doc, err := parse()
	if err != nil {
		t.Fatalf("openapi.yaml does not load and validate: %v", err)
	}
	if len(doc.Servers) != 1 || !strings.HasPrefix(doc.Servers[0].URL, "https://") {
		t.Errorf("want exactly one absolute https server URL, got %v", doc.Servers)
	}
	if n := len(doc.Components.SecuritySchemes); n != 1 {
		t.Errorf("want one security scheme, got %d", n)
	}

	ids := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for _, p := range item.Parameters {
			lintParameter(t, path, p.Value)
		}
		for method, op := range item.Operations() {
			where := method + " " + path
			if op.OperationID == "" || ids[op.OperationID] {
				t.Errorf("%s: operationId %q is empty or not unique", where, op.OperationID)
			}
			ids[op.OperationID] = true
			if n := utf8.RuneCountInString(op.Summary); n == 0 || n > 300 {
				t.Errorf("%s: summary is %d characters, want 1..300", where, n)
			}
			if n := utf8.RuneCountInString(op.Description); n == 0 || n > 300 {
				t.Errorf("%s: description is %d characters, want 1..300", where, n)
			}
			c, ok := op.Extensions["x-openai-isConsequential"].(bool)
			if !ok {
				t.Errorf("%s: x-openai-isConsequential must be set to true or false", where)
			}
			if want := method == "DELETE"; c != want {
				t.Errorf("%s: x-openai-isConsequential = %v, want %v", where, c, want)
			}
			for _, p := range op.Parameters {
				lintParameter(t, where, p.Value)
			}
		}
	}
	for _, want := range []string{"listEvents", "createEvent", "getEvent", "updateEvent", "deleteEvent"} {
		if !ids[want] {
			t.Errorf("operation %s is missing", want)
		}
	}
	for name, s := range doc.Components.Schemas {
		lintSchema(t, "#/components/schemas/"+name, s.Value)
	}
}

func lintParameter(t *testing.T, where string, p *openapi3.Parameter) {
	t.Helper()
	if p.In == "header" || p.In == "cookie" {
		t.Errorf("%s: parameter %s is in %s; ChatGPT ignores header and cookie parameters", where, p.Name, p.In)
	}
	if p.Schema != nil && p.Schema.Value.Type.Is("array") {
		t.Errorf("%s: parameter %s is an array; ChatGPT serialises them inconsistently", where, p.Name)
	}
	if n := utf8.RuneCountInString(p.Description); n == 0 || n > 700 {
		t.Errorf("%s: parameter %s description is %d characters, want 1..700", where, p.Name, n)
	}
}

func lintSchema(t *testing.T, where string, s *openapi3.Schema) {
	t.Helper()
	if s == nil {
		return
	}
	if len(s.OneOf) > 0 || len(s.AnyOf) > 0 {
		t.Errorf("%s: oneOf/anyOf are poorly handled by ChatGPT; flatten them", where)
	}
	if len(s.PatternProperties) > 0 {
		t.Errorf("%s: patternProperties makes ChatGPT's calls fail", where)
	}
	if s.Type != nil && len(*s.Type) > 1 {
		t.Errorf("%s: type arrays (like [string, null]) are poorly handled; use one type", where)
	}
	if s.Type.Is("object") && len(s.Properties) == 0 {
		t.Errorf("%s: object schemas need properties", where)
	}
	if s.Description == "" && !strings.Contains(where, "/items") {
		t.Errorf("%s: no description", where)
	}
	for name, p := range s.Properties {
		lintSchema(t, where+"/properties/"+name, p.Value)
	}
	if s.Items != nil && s.Items.Ref == "" {
		lintSchema(t, where+"/items", s.Items.Value)
	}
}

// TestSpecExamplesValidate proves every example in the spec is valid under
// its own schema, so a model copying one sends a valid request.
func TestSpecExamplesValidate(t *testing.T) {
	doc, err := parse()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	checked := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			params := append(openapi3.Parameters{}, item.Parameters...)
			params = append(params, op.Parameters...)
			for _, p := range params {
				if p.Value.Example != nil {
					checked++
					if err := p.Value.Schema.Value.VisitJSON(p.Value.Example); err != nil {
						t.Errorf("%s %s parameter %s example: %v", method, path, p.Value.Name, err)
					}
				}
			}
			var media []*openapi3.MediaType
			if op.RequestBody != nil {
				media = append(media, op.RequestBody.Value.Content.Get("application/json"))
			}
			for _, r := range op.Responses.Map() {
				if mt := r.Value.Content.Get("application/json"); mt != nil {
					media = append(media, mt)
				}
			}
			for _, mt := range media {
				if mt != nil && mt.Example != nil {
					checked++
					if err := mt.Schema.Value.VisitJSON(normalise(t, mt.Example)); err != nil {
						t.Errorf("%s %s body example: %v", method, path, err)
					}
				}
			}
		}
	}
	for name, s := range doc.Components.Schemas {
		for prop, p := range s.Value.Properties {
			if p.Value.Example != nil {
				checked++
				if err := p.Value.VisitJSON(p.Value.Example); err != nil {
					t.Errorf("%s.%s example: %v", name, prop, err)
				}
			}
		}
	}
	if checked < 20 {
		t.Errorf("only %d examples checked; the spec should carry examples for its parameters, bodies and fields", checked)
	}
	_ = ctx
}

// normalise round-trips a YAML example through JSON, as a client would send it.
func normalise(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestServedSpecHasDeploymentURLs checks the spec served at /openapi.yaml and
// /openapi.json names BASE_URL and the provider's endpoints.
func TestServedSpecHasDeploymentURLs(t *testing.T) {
	docs, err := mustLoad(t).Served("https://agenda.test", "https://auth.agenda.test/oidc/auth", "https://auth.agenda.test/oidc/token")
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string][]byte{"yaml": docs.YAML, "json": docs.JSON} {
		loaded, err := openapi3.NewLoader().LoadFromData(text)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := loaded.Servers[0].URL; got != "https://agenda.test" {
			t.Errorf("%s: server URL %q", name, got)
		}
		flow := loaded.Components.SecuritySchemes["logto"].Value.Flows.AuthorizationCode
		if flow.AuthorizationURL != "https://auth.agenda.test/oidc/auth" || flow.TokenURL != "https://auth.agenda.test/oidc/token" {
			t.Errorf("%s: OAuth URLs %q %q", name, flow.AuthorizationURL, flow.TokenURL)
		}
		if loaded.OpenAPI != "3.1.0" {
			t.Errorf("%s: openapi %q", name, loaded.OpenAPI)
		}
	}
}

// parse reads openapi.yaml as Load does, without the table.
func parse() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(agenda.OpenAPI)
	if err != nil {
		return nil, err
	}
	return doc, doc.Validate(context.Background())
}
