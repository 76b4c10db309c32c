package contract

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/agenda-gpt/agenda"
)

func mustLoad(t *testing.T) *Contract {
	t.Helper()
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func byTool(t *testing.T, c *Contract, name string) *Operation {
	t.Helper()
	for _, op := range c.Operations() {
		if op.Tool.Name == name {
			return op
		}
	}
	t.Fatalf("no tool %s", name)
	return nil
}

// TestValidate runs one table of arguments through the one validation both
// faces use, and through the input schema as tools/list advertises it (JSON
// Schema 2020-12, read back by a JSON Schema library): both accept and
// refuse alike, so a client that checks its arguments first is never
// surprised. The rules a schema cannot say (an IANA zone that exists, an
// offset that matches it, end after start) are the domain's.
func TestValidate(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	cases := []struct {
		tool string
		args string
		ok   bool
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
		{tool: "get_event", args: `{"id":"evt_1","verbose":true}`},
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
		{tool: "list_events", args: `{"date":"2026-12-01"}`},
	}

	c := mustLoad(t)
	covered := map[string]bool{}
	for _, tc := range cases {
		op := byTool(t, c, tc.tool)
		covered[tc.tool] = true
		var args map[string]any
		if err := json.Unmarshal([]byte(tc.args), &args); err != nil {
			t.Fatalf("%s %s: %v", tc.tool, tc.args, err)
		}
		err := op.Validate(args)
		advertisedErr := advertised(t, op).Validate(args)
		if advertisedErr == nil {
			advertisedErr = checkDateTimes(op, args)
		}
		name := fmt.Sprintf("%s %.80s", tc.tool, tc.args)
		switch {
		case tc.ok && (err != nil || advertisedErr != nil):
			t.Errorf("%s: want it accepted; Validate: %v; advertised schema: %v", name, err, advertisedErr)
		case !tc.ok && (err == nil || advertisedErr == nil):
			t.Errorf("%s: want it refused; Validate: %v; advertised schema: %v", name, err, advertisedErr)
		case err != nil && agenda.ErrorCode(err) != agenda.EINVALID:
			t.Errorf("%s: %v, want %s", name, err, agenda.EINVALID)
		}
	}
	for _, op := range c.Operations() {
		if !covered[op.Tool.Name] {
			t.Errorf("no case for %s", op.Tool.Name)
		}
	}
}

// advertised is an operation's input schema as an MCP client receives it:
// its JSON, read back and resolved.
func advertised(t *testing.T, op *Operation) *jsonschema.Resolved {
	t.Helper()
	raw, err := json.Marshal(op.InputSchema())
	if err != nil {
		t.Fatal(err)
	}
	var s jsonschema.Schema
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	r, err := s.Resolve(&jsonschema.ResolveOptions{ValidateDefaults: true})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// checkDateTimes asserts format date-time, which JSON Schema validators
// treat as an annotation unless told otherwise, as RFC 3339 says it.
func checkDateTimes(op *Operation, args map[string]any) error {
	props := op.InputSchema()["properties"].(map[string]any)
	for name, v := range args {
		s, _ := props[name].(map[string]any)
		if str, ok := v.(string); ok && s["format"] == "date-time" {
			if _, err := agenda.ParseTime(name, str); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestExplanations: a refused argument is named, with what it must be.
func TestExplanations(t *testing.T) {
	c := mustLoad(t)
	for _, tc := range []struct{ tool, args, want string }{
		{"create_event", `{"title":"","start":"2026-12-01T09:00:00Z"}`, "title must be a string of 1 to 200 characters"},
		{"create_event", `{"title":"x","start":"2026-02-30T09:00:00Z"}`, "start must be an RFC 3339 date-time with a UTC offset, like 2026-12-01T09:00:00+01:00"},
		{"create_event", `{"start":"2026-12-01T09:00:00Z"}`, "title is required: Short name of the event, 1 to 200 characters."},
		{"create_event", `{"title":"x","start":"2026-12-01T09:00:00Z","colour":"blue"}`, `unknown field "colour"; the fields are all_day, end, location, notes, request_id, start, time_zone, title`},
		{"update_event", `{"id":"e","end":"soon"}`, "end must be an RFC 3339 date-time with a UTC offset, like 2026-12-01T09:00:00+01:00, or an empty string to remove it"},
		{"update_event", `{"id":"e","all_day":"yes"}`, "all_day must be true or false"},
		{"list_events", `{"limit":0}`, "limit must be a whole number from 1 to 200"},
		{"list_events", `{"q":"` + strings.Repeat("a", 201) + `"}`, "q must be a string of at most 200 characters"},
	} {
		var args map[string]any
		if err := json.Unmarshal([]byte(tc.args), &args); err != nil {
			t.Fatal(err)
		}
		err := byTool(t, c, tc.tool).Validate(args)
		if agenda.ErrorCode(err) != agenda.EINVALID || agenda.ErrorMessage(err) != tc.want {
			t.Errorf("%s %s:\n got %v\nwant %s", tc.tool, tc.args, err, tc.want)
		}
	}
}
