package mcpserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/jsonschema-go/jsonschema"
	"go.yaml.in/yaml/v3"

	"github.com/agenda-gpt/agenda"
)

// openAPI is openapi.yaml as a plain tree, read once at start-up to make the
// tools: a tool is an operation, its input schema the operation's parameters
// and JSON body in one object, its output schema the success response. So
// the tools cannot drift from the contract the API enforces.
type openAPI struct {
	root     map[string]any
	toolRefs *strings.Replacer // "listEvents" → "list_events" in descriptions
}

func parseOpenAPI(raw []byte) (*openAPI, error) {
	var root map[string]any
	if err := yaml.Unmarshal(raw, &root); err != nil {
		return nil, err
	}
	o := &openAPI{root: root}
	var pairs []string
	for _, item := range o.mapAt("paths") {
		for _, op := range asMap(item) {
			if id, ok := asMap(op)["operationId"].(string); ok {
				pairs = append(pairs, id, toolName(id))
			}
		}
	}
	o.toolRefs = strings.NewReplacer(pairs...)
	return o, nil
}

// toolName is the snake_case form of an operationId: listEvents → list_events.
func toolName(operationID string) string {
	var b strings.Builder
	for i, r := range operationID {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// instructions is the API's description, which says what the GPT must know
// before any call (ask the time zone, send offsets); MCP clients put the
// server's instructions in front of the model the same way.
func (o *openAPI) instructions() string {
	d, _ := o.mapAt("info")["description"].(string)
	return strings.TrimSpace(d)
}

func (o *openAPI) version() string {
	v, _ := o.mapAt("info")["version"].(string)
	return v
}

// operation finds an operation by operationId, with the parameters of its
// path item and its own.
func (o *openAPI) operation(id string) (op map[string]any, params []any, err error) {
	for _, item := range o.mapAt("paths") {
		item := asMap(item)
		for method, candidate := range item {
			candidate := asMap(candidate)
			if method == "parameters" || candidate["operationId"] != id {
				continue
			}
			params = append(asSlice(item["parameters"]), asSlice(candidate["parameters"])...)
			return candidate, params, nil
		}
	}
	return nil, nil, fmt.Errorf("no operation %q", id)
}

// inputSchema is one object schema for everything an operation takes: its
// path and query parameters and the properties of its JSON body. Path
// parameters are required. Unknown arguments are refused, as the body
// schemas already refuse unknown fields, so a misspelt argument is an error
// the model sees instead of a filter silently ignored.
func (o *openAPI) inputSchema(operationID string) (*jsonschema.Schema, error) {
	op, params, err := o.operation(operationID)
	if err != nil {
		return nil, err
	}
	schema := map[string]any{"type": "object", "properties": map[string]any{}}
	if s := asMap(asMap(asMap(op["requestBody"])["content"])["application/json"])["schema"]; s != nil {
		if schema, err = o.convert(s, 0); err != nil {
			return nil, fmt.Errorf("%s: request body: %w", operationID, err)
		}
	}
	props := asMap(schema["properties"])
	if props == nil {
		props = map[string]any{}
	}
	required := asSlice(schema["required"])
	for _, p := range params {
		p := o.resolve(p)
		if err := onlyKeys(p, "name", "in", "required", "description", "schema", "example"); err != nil {
			return nil, fmt.Errorf("%s: parameter: %w", operationID, err)
		}
		name, _ := p["name"].(string)
		if in := p["in"]; in != "path" && in != "query" {
			return nil, fmt.Errorf("%s: parameter %s is in %v; only path and query parameters become arguments", operationID, name, in)
		}
		if _, dup := props[name]; dup {
			return nil, fmt.Errorf("%s: parameter %s has the name of a body field", operationID, name)
		}
		prop, err := o.convert(p["schema"], 0)
		if err != nil {
			return nil, fmt.Errorf("%s: parameter %s: %w", operationID, name, err)
		}
		if d, ok := p["description"].(string); ok {
			prop["description"] = o.describe(d)
		}
		if ex, ok := p["example"]; ok && prop["examples"] == nil {
			prop["examples"] = []any{ex}
		}
		props[name] = prop
		if p["in"] == "path" || p["required"] == true {
			required = append(required, name)
		}
	}
	schema["properties"] = props
	if len(required) > 0 {
		schema["required"] = required
	}
	schema["additionalProperties"] = false
	return toSchema(schema)
}

// outputSchema is the schema of the operation's 200 or 201 JSON response;
// nil when it answers with no body.
func (o *openAPI) outputSchema(operationID string) (*jsonschema.Schema, error) {
	op, _, err := o.operation(operationID)
	if err != nil {
		return nil, err
	}
	for _, status := range []string{"200", "201"} {
		s := asMap(asMap(asMap(asMap(op["responses"])[status])["content"])["application/json"])["schema"]
		if s == nil {
			continue
		}
		m, err := o.convert(s, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: response %s: %w", operationID, status, err)
		}
		return toSchema(m)
	}
	return nil, nil
}

// schemaKeys are the OpenAPI schema keywords the conversion understands.
// Anything else in openapi.yaml stops the server at start-up (and fails the
// tests), so a new keyword cannot be dropped from the tools unnoticed.
var schemaKeys = []string{
	"$ref", "type", "description", "format", "pattern", "minLength", "maxLength", "minimum", "maximum",
	"default", "example", "properties", "required", "additionalProperties", "items",
}

// convert turns an OpenAPI 3.1 schema into JSON Schema 2020-12: references
// are inlined, example becomes examples, and operation names in
// descriptions become tool names.
func (o *openAPI) convert(v any, depth int) (map[string]any, error) {
	if depth > 8 {
		return nil, errors.New("schema nested too deeply (a reference cycle?)")
	}
	s := asMap(v)
	if s == nil {
		return nil, fmt.Errorf("not a schema: %v", v)
	}
	if err := onlyKeys(s, schemaKeys...); err != nil {
		return nil, err
	}
	if ref, ok := s["$ref"].(string); ok {
		if len(s) > 1 {
			return nil, fmt.Errorf("$ref %s has siblings", ref)
		}
		target := o.resolve(s)
		if target == nil {
			return nil, fmt.Errorf("unresolved $ref %s", ref)
		}
		return o.convert(target, depth+1)
	}
	out := map[string]any{}
	for k, val := range s {
		switch k {
		case "example":
			out["examples"] = []any{val}
		case "description":
			out[k] = o.describe(val.(string))
		case "properties":
			props := map[string]any{}
			for name, p := range asMap(val) {
				c, err := o.convert(p, depth+1)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
				props[name] = c
			}
			out[k] = props
		case "items":
			c, err := o.convert(val, depth+1)
			if err != nil {
				return nil, fmt.Errorf("items: %w", err)
			}
			out[k] = c
		case "additionalProperties":
			if _, ok := val.(bool); !ok {
				return nil, errors.New("additionalProperties other than true or false")
			}
			out[k] = val
		default:
			out[k] = val
		}
	}
	return out, nil
}

// resolve follows a local $ref ("#/components/schemas/Event"); anything
// else is returned as it is.
func (o *openAPI) resolve(v any) map[string]any {
	m := asMap(v)
	ref, ok := m["$ref"].(string)
	if !ok {
		return m
	}
	var node any = o.root
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		node = asMap(node)[part]
	}
	return asMap(node)
}

func (o *openAPI) describe(d string) string {
	return o.toolRefs.Replace(strings.TrimSpace(d))
}

func (o *openAPI) mapAt(key string) map[string]any { return asMap(o.root[key]) }

func onlyKeys(m map[string]any, allowed ...string) error {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(allowed, k) {
			return fmt.Errorf("keyword %q is not understood by mcpserver/schema.go; teach it there so the tools keep matching openapi.yaml", k)
		}
	}
	return nil
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

func asSlice(v any) []any { s, _ := v.([]any); return s }

func toSchema(m map[string]any) (*jsonschema.Schema, error) {
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	var s jsonschema.Schema
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// input is a tool's argument schema: what tools/list advertises and what a
// call is checked against before anything else runs.
type input struct {
	schema   *jsonschema.Schema
	resolved *jsonschema.Resolved
	fields   map[string]*jsonschema.Resolved // each property alone, to say which one is wrong
}

func newInput(s *jsonschema.Schema) (*input, error) {
	opts := &jsonschema.ResolveOptions{ValidateDefaults: true}
	resolved, err := s.Resolve(opts)
	if err != nil {
		return nil, err
	}
	in := &input{schema: s, resolved: resolved, fields: map[string]*jsonschema.Resolved{}}
	for name, p := range s.Properties {
		if in.fields[name], err = p.Resolve(opts); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return in, nil
}

// dateTime is the date-time check kin-openapi applies to the API, so a tool
// accepts exactly the times the API accepts (JSON Schema validators treat
// format as a mere annotation unless told to assert it).
var dateTime = openapi3.SchemaStringFormats["date-time"]

// check validates a call's arguments and decodes them into v. Its errors are
// agenda.EINVALID with a message that names the argument and says what it
// must look like, in the words the API uses.
func (in *input) check(args json.RawMessage, v any) error {
	m := map[string]any{}
	if len(args) > 0 && string(args) != "null" {
		if err := json.Unmarshal(args, &m); err != nil {
			return errorf("the arguments must be a JSON object, as the tool's input schema describes")
		}
	}
	if err := in.validate(m); err != nil {
		return errorf("%s", in.explain(m))
	}
	if len(args) == 0 {
		return nil
	}
	if err := json.Unmarshal(args, v); err != nil {
		return errorf("the arguments must be a JSON object, as the tool's input schema describes")
	}
	return nil
}

// validate is JSON Schema validation with the date-time format asserted.
func (in *input) validate(m map[string]any) error {
	if err := in.resolved.Validate(m); err != nil {
		return err
	}
	for name, val := range m {
		if err := checkFormat(in.schema.Properties[name], val); err != nil {
			return err
		}
	}
	return nil
}

func checkFormat(s *jsonschema.Schema, v any) error {
	str, ok := v.(string)
	if s == nil || !ok || s.Format != "date-time" {
		return nil
	}
	return dateTime.Validate(str)
}

// explain finds the first thing wrong with m, in a stable order: unknown
// arguments, missing ones, then each argument by name.
func (in *input) explain(m map[string]any) string {
	names := slices.Sorted(maps.Keys(in.schema.Properties))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if _, ok := in.schema.Properties[k]; !ok {
			return fmt.Sprintf("unknown field %q; the fields are %s", k, strings.Join(names, ", "))
		}
	}
	for _, k := range in.schema.Required {
		if _, ok := m[k]; !ok {
			return fmt.Sprintf("%s is required: %s", k, in.schema.Properties[k].Description)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		p := in.schema.Properties[k]
		if in.fields[k].Validate(m[k]) != nil || checkFormat(p, m[k]) != nil {
			return fmt.Sprintf("%s %s", k, expectation(p))
		}
	}
	return "the arguments do not match the tool's input schema"
}

// expectation says what a value of schema s must look like.
func expectation(s *jsonschema.Schema) string {
	x := agenda.Expectation{Type: s.Type, Format: s.Format, Pattern: s.Pattern, Min: s.Minimum, Max: s.Maximum, MaxLength: s.MaxLength}
	if s.MinLength != nil {
		x.MinLength = *s.MinLength
	}
	return x.String()
}
