package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/agenda-gpt/agenda"
)

// TestToolInputsMatchOpenAPI runs one table of arguments through both
// validations: each tool's input schema, as tools/list advertises it (JSON
// Schema 2020-12, date-time asserted), and the OpenAPI request validation
// the API applies to the same operation, with the arguments spread over
// path, query and body as the operation describes them. Both must accept and
// reject alike. The rules a schema cannot say (an IANA zone that exists, an
// offset that matches it, end after start) are the domain's, for both.
func TestToolInputsMatchOpenAPI(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	cases := []struct {
		tool string
		args string
		ok   bool
		// apiIgnores marks arguments the API, reading a query string,
		// ignores and a tool refuses: an unknown argument.
		apiIgnores bool
	}{
		{tool: "create_event", args: `{"title":"Dentist","start":"2026-12-01T09:00:00+01:00"}`, ok: true},
		{tool: "create_event", args: `{"title":"Dentist","start":"2026-12-01T09:00:00+01:00","end":"2026-12-01T09:30:00+01:00","time_zone":"Europe/Paris","all_day":false,"location":"Paris","notes":"card","request_id":"r-1"}`, ok: true},
		{tool: "create_event", args: `{"title":"Dentist","start":"2026-12-01T09:00:00.250Z"}`, ok: true},
		{tool: "create_event", args: `{"title":"` + strings.Repeat("é", 200) + `","start":"2026-12-01T09:00:00Z"}`, ok: true},
		{tool: "create_event", args: `{"title":"` + strings.Repeat("é", 201) + `","start":"2026-12-01T09:00:00Z"}`},
		{tool: "create_event", args: `{"title":"x","start":"2026-12-01T09:00:00Z","notes":"` + long(4000) + `"}`, ok: true},
		{tool: "create_event", args: `{"title":"x","start":"2026-12-01T09:00:00Z","notes":"` + long(4001) + `"}`},
		{tool: "create_event", args: `{"title":"x","start":"2026-12-01T09:00:00Z","location":"` + long(201) + `"}`},
		{tool: "create_event", args: `{"title":"x","start":"2026-12-01T09:00:00Z","time_zone":"` + long(65) + `"}`},
		{tool: "create_event", args: `{"title":"x","start":"2026-12-01T09:00:00Z","request_id":"` + long(201) + `"}`},
		{tool: "create_event", args: `{"title":"x","start":"2026-12-01T09:00:00Z","time_zone":"Mars/Olympus_Mons"}`, ok: true}, // the domain refuses it
		{tool: "create_event", args: `{"title":"x","start":"2026-12-01T09:00:00Z","end":"2026-11-01T09:00:00Z"}`, ok: true},    // the domain refuses it
		{tool: "create_event", args: `{"start":"2026-12-01T09:00:00Z"}`},
		{tool: "create_event", args: `{"title":"x"}`},
		{tool: "create_event", args: `{}`},
		{tool: "create_event", args: `{"title":"","start":"2026-12-01T09:00:00Z"}`},
		{tool: "create_event", args: `{"title":null,"start":"2026-12-01T09:00:00Z"}`},
		{tool: "create_event", args: `{"title":"x","start":"tomorrow at nine"}`},
		{tool: "create_event", args: `{"title":"x","start":"2026-12-01T09:00:00"}`},
		{tool: "create_event", args: `{"title":"x","start":"2026-12-01 09:00:00+01:00"}`},
		{tool: "create_event", args: `{"title":"x","start":"2026-02-30T09:00:00+01:00"}`},
		{tool: "create_event", args: `{"title":"x","start":"2026-12-01T24:00:00+01:00"}`},
		{tool: "create_event", args: `{"title":"x","start":20261201}`},
		{tool: "create_event", args: `{"title":"x","start":"2026-12-01T09:00:00Z","end":""}`},
		{tool: "create_event", args: `{"title":"x","start":"2026-12-01T09:00:00Z","all_day":"yes"}`},
		{tool: "create_event", args: `{"title":"x","start":"2026-12-01T09:00:00Z","colour":"blue"}`},

		{tool: "update_event", args: `{"id":"evt_1"}`, ok: true},
		{tool: "update_event", args: `{"id":"evt_1","end":""}`, ok: true},
		{tool: "update_event", args: `{"id":"evt_1","start":"2026-12-01T10:00:00+01:00","end":"2026-12-01T10:30:00+01:00","location":"","notes":"","time_zone":""}`, ok: true},
		{tool: "update_event", args: `{"id":"evt_1","end":"half past ten"}`},
		{tool: "update_event", args: `{"id":"evt_1","start":""}`},
		{tool: "update_event", args: `{"id":"evt_1","title":""}`},
		{tool: "update_event", args: `{"id":"evt_1","all_day":null}`},
		{tool: "update_event", args: `{"id":"evt_1","request_id":"r-1"}`},
		{tool: "update_event", args: `{"title":"x"}`},
		{tool: "update_event", args: `{"id":""}`},
		{tool: "update_event", args: `{"id":"` + long(65) + `"}`},

		{tool: "get_event", args: `{"id":"evt_1"}`, ok: true},
		{tool: "get_event", args: `{"id":"` + long(64) + `"}`, ok: true},
		{tool: "get_event", args: `{"id":"` + long(65) + `"}`},
		{tool: "get_event", args: `{"id":""}`},
		{tool: "get_event", args: `{}`},
		{tool: "get_event", args: `{"id":"evt_1","verbose":true}`, apiIgnores: true},
		{tool: "delete_event", args: `{"id":"evt_1"}`, ok: true},
		{tool: "delete_event", args: `{"id":""}`},

		{tool: "list_events", args: `{}`, ok: true},
		{tool: "list_events", args: `{"from":"2026-12-01T00:00:00+01:00","to":"2026-12-08T00:00:00+01:00","q":"dentist","limit":20,"cursor":"abc"}`, ok: true},
		{tool: "list_events", args: `{"limit":1}`, ok: true},
		{tool: "list_events", args: `{"limit":200}`, ok: true},
		{tool: "list_events", args: `{"limit":0}`},
		{tool: "list_events", args: `{"limit":201}`},
		{tool: "list_events", args: `{"limit":2.5}`},
		{tool: "list_events", args: `{"limit":"ten"}`},
		{tool: "list_events", args: `{"from":"2026-12-01"}`},
		{tool: "list_events", args: `{"to":"next week"}`},
		{tool: "list_events", args: `{"q":"` + long(200) + `"}`, ok: true},
		{tool: "list_events", args: `{"q":"` + long(201) + `"}`},
		{tool: "list_events", args: `{"cursor":"` + long(512) + `"}`, ok: true},
		{tool: "list_events", args: `{"cursor":"` + long(513) + `"}`},
		{tool: "list_events", args: `{"date":"2026-12-01"}`, apiIgnores: true},
	}

	spec, err := parseOpenAPI(agenda.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	doc := loadDoc(t)
	covered := map[string]bool{}
	for _, c := range cases {
		tl := findTool(t, c.tool)
		covered[c.tool] = true
		advertised := advertisedInput(t, spec, tl)
		var args map[string]any
		if err := json.Unmarshal([]byte(c.args), &args); err != nil {
			t.Fatalf("%s %s: %v", c.tool, c.args, err)
		}
		toolErr := advertised.validate(args)
		apiErr := validateAsAPI(t, doc, tl.operation, args)
		name := fmt.Sprintf("%s %.80s", c.tool, c.args)
		switch {
		case c.apiIgnores:
			if toolErr == nil || apiErr != nil {
				t.Errorf("%s: tool error %v, API error %v; want the tool to refuse what the API ignores", name, toolErr, apiErr)
			}
		case c.ok && (toolErr != nil || apiErr != nil):
			t.Errorf("%s: want both to accept; tool: %v; API: %v", name, toolErr, apiErr)
		case !c.ok && (toolErr == nil || apiErr == nil):
			t.Errorf("%s: want both to refuse; tool: %v; API: %v", name, toolErr, apiErr)
		}
	}
	for _, tl := range tools {
		if !covered[toolName(tl.operation)] {
			t.Errorf("no case for %s", toolName(tl.operation))
		}
	}
}

// TestToolSchemasFollowOpenAPI: every property of a body schema and every
// parameter is an argument, with its constraints and description, and the
// operation names in descriptions are tool names.
func TestToolSchemasFollowOpenAPI(t *testing.T) {
	spec, err := parseOpenAPI(agenda.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	doc := loadDoc(t)
	for _, tl := range tools {
		def, in, err := tl.definition(spec)
		if err != nil {
			t.Fatalf("%s: %v", tl.operation, err)
		}
		op := operation(t, doc, tl.operation)
		want := map[string]*openapi3.Schema{}
		var required []string
		if op.operation.RequestBody != nil {
			body := op.operation.RequestBody.Value.Content.Get("application/json").Schema.Value
			for name, p := range body.Properties {
				want[name] = p.Value
			}
			required = append(required, body.Required...)
		}
		for _, p := range append(op.item.Parameters, op.operation.Parameters...) {
			want[p.Value.Name] = p.Value.Schema.Value
			if p.Value.Required {
				required = append(required, p.Value.Name)
			}
		}
		if len(want) != len(in.schema.Properties) {
			t.Errorf("%s: %d arguments, openapi.yaml has %d", def.Name, len(in.schema.Properties), len(want))
		}
		for name, w := range want {
			got := in.schema.Properties[name]
			switch {
			case got == nil:
				t.Errorf("%s: no argument %s", def.Name, name)
				continue
			case !w.Type.Is(got.Type), got.Format != w.Format, got.Pattern != w.Pattern,
				fmt.Sprint(deref(got.MaxLength)) != fmt.Sprint(deref(w.MaxLength)),
				fmt.Sprint(deref(got.Minimum)) != fmt.Sprint(deref(w.Min)),
				fmt.Sprint(deref(got.Maximum)) != fmt.Sprint(deref(w.Max)):
				t.Errorf("%s: argument %s differs from openapi.yaml: %+v", def.Name, name, got)
			case got.Description == "":
				t.Errorf("%s: argument %s has no description", def.Name, name)
			}
		}
		slices.Sort(required)
		got := slices.Clone(in.schema.Required)
		slices.Sort(got)
		if !slices.Equal(got, required) {
			t.Errorf("%s: required %v, openapi.yaml %v", def.Name, got, required)
		}
		raw, _ := json.Marshal(def)
		for _, opID := range []string{"listEvents", "getEvent", "createEvent", "updateEvent", "deleteEvent"} {
			if strings.Contains(string(raw), opID) {
				t.Errorf("%s mentions the operation %s instead of its tool", def.Name, opID)
			}
		}
	}
}

// TestConversionRefusesWhatItDoesNotKnow: a keyword the conversion does
// not understand stops it, rather than being dropped from the tools.
func TestConversionRefusesWhatItDoesNotKnow(t *testing.T) {
	raw := strings.Replace(string(agenda.OpenAPI), "          minLength: 1\n          maxLength: 200\n          description: Short name of the event, 1 to 200 characters.",
		"          minLength: 1\n          maxLength: 200\n          enum: [Dentist]\n          description: Short name of the event, 1 to 200 characters.", 1)
	if raw == string(agenda.OpenAPI) {
		t.Fatal("the test's edit of openapi.yaml did not apply")
	}
	spec, err := parseOpenAPI([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := spec.inputSchema("createEvent"); err == nil || !strings.Contains(err.Error(), `"enum"`) {
		t.Errorf("enum in NewEvent: %v", err)
	}
}

// TestExplanations: a refused argument is named, with what it must be.
func TestExplanations(t *testing.T) {
	spec, err := parseOpenAPI(agenda.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ tool, args, want string }{
		{"create_event", `{"title":"","start":"2026-12-01T09:00:00Z"}`, "title must be a string of 1 to 200 characters"},
		{"create_event", `{"title":"x","start":"2026-02-30T09:00:00Z"}`, "start must be an RFC 3339 date-time with a UTC offset, like 2026-12-01T09:00:00+01:00"},
		{"create_event", `{"start":"2026-12-01T09:00:00Z"}`, "title is required: Short name of the event, 1 to 200 characters."},
		{"create_event", `{"title":"x","start":"2026-12-01T09:00:00Z","colour":"blue"}`, `unknown field "colour"; the fields are all_day, end, location, notes, request_id, start, time_zone, title`},
		{"update_event", `{"id":"e","end":"soon"}`, "end must be an RFC 3339 date-time with a UTC offset, like 2026-12-01T09:00:00+01:00, or an empty string to remove it"},
		{"update_event", `{"id":"e","all_day":"yes"}`, "all_day must be true or false"},
		{"list_events", `{"limit":0}`, "limit must be a whole number from 1 to 200"},
		{"list_events", `{"q":"` + strings.Repeat("a", 201) + `"}`, "q must be a string of at most 200 characters"},
		{"get_event", `[1]`, "the arguments must be a JSON object, as the tool's input schema describes"},
	} {
		_, in, err := findTool(t, c.tool).definition(spec)
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		err = in.check(json.RawMessage(c.args), &v)
		if agenda.ErrorCode(err) != agenda.EINVALID || agenda.ErrorMessage(err) != c.want {
			t.Errorf("%s %s:\n got %v\nwant %s", c.tool, c.args, err, c.want)
		}
	}
}

func findTool(t *testing.T, name string) tool {
	t.Helper()
	for _, tl := range tools {
		if toolName(tl.operation) == name {
			return tl
		}
	}
	t.Fatalf("no tool %s", name)
	return tool{}
}

// advertisedInput is the tool's input schema as a client receives it: the
// JSON of tools/list, read back and resolved.
func advertisedInput(t *testing.T, spec *openAPI, tl tool) *input {
	t.Helper()
	def, _, err := tl.definition(spec)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(def.InputSchema)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	s, err := toSchema(m)
	if err != nil {
		t.Fatal(err)
	}
	in, err := newInput(s)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func loadDoc(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(agenda.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return doc
}

type specOperation struct {
	path, method string
	item         *openapi3.PathItem
	operation    *openapi3.Operation
}

func operation(t *testing.T, doc *openapi3.T, id string) specOperation {
	t.Helper()
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == id {
				return specOperation{path: path, method: method, item: item, operation: op}
			}
		}
	}
	t.Fatalf("no operation %s", id)
	return specOperation{}
}

// validateAsAPI builds the request the API would get for these arguments
// and validates it the way api.validateRequest does.
func validateAsAPI(t *testing.T, doc *openapi3.T, operationID string, args map[string]any) error {
	t.Helper()
	op := operation(t, doc, operationID)
	in := map[string]string{}
	for _, p := range append(op.item.Parameters, op.operation.Parameters...) {
		in[p.Value.Name] = p.Value.In
	}
	path, query, body := op.path, url.Values{}, map[string]any{}
	params := map[string]string{}
	for name, v := range args {
		switch in[name] {
		case "path":
			s := fmt.Sprint(v)
			params[name] = s
			path = strings.ReplaceAll(path, "{"+name+"}", url.PathEscape(s))
		case "query":
			query.Set(name, fmt.Sprint(v))
		default:
			if op.operation.RequestBody == nil {
				query.Set(name, fmt.Sprint(v)) // where an unknown argument would go
			} else {
				body[name] = v
			}
		}
	}
	var rd *bytes.Reader
	if op.operation.RequestBody != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(op.method, "http://agenda.test"+path+"?"+query.Encode(), rd)
	if err != nil {
		t.Fatal(err)
	}
	if op.operation.RequestBody != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: params,
		Route:      &routers.Route{Spec: doc, Path: op.path, PathItem: op.item, Method: op.method, Operation: op.operation},
		Options:    &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, SkipSettingDefaults: true},
	})
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
