package contract

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Operation is one row of the table bound to its operation in openapi.yaml.
type Operation struct {
	Row

	// Input is everything the operation takes as one object: its path and
	// query parameters and the fields of its JSON body. Unknown arguments
	// are refused, so a misspelt one is an error the model sees instead of
	// a filter silently ignored.
	input *openapi3.Schema
	// PathParams and QueryParams name the arguments that come from the
	// URL; the rest are the body's. HasBody tells whether it takes one.
	PathParams, QueryParams []string
	HasBody                 bool

	inputJSON, outputJSON map[string]any
}

// InputSchema is the arguments' JSON Schema (2020-12), with references
// inlined: an MCP tool's inputSchema.
func (op *Operation) InputSchema() map[string]any { return op.inputJSON }

// OutputSchema is the JSON Schema of the success response's body; nil when
// the operation answers with no body.
func (op *Operation) OutputSchema() map[string]any { return op.outputJSON }

func bind(doc *openapi3.T, row Row, toolNames *strings.Replacer) (*Operation, error) {
	item := doc.Paths.Find(row.Path)
	if item == nil {
		return nil, fmt.Errorf("no path %s in openapi.yaml", row.Path)
	}
	spec := item.GetOperation(row.Method)
	if spec == nil || spec.OperationID != row.ID {
		return nil, fmt.Errorf("%s %s is not operation %s in openapi.yaml", row.Method, row.Path, row.ID)
	}
	if got := specScopes(doc, spec); !slices.Equal(got, []string{row.Scope}) {
		return nil, fmt.Errorf("the table says scope %q, openapi.yaml says %v", row.Scope, got)
	}
	op := &Operation{Row: row}
	in := &openapi3.Schema{
		Type:                 &openapi3.Types{openapi3.TypeObject},
		Properties:           openapi3.Schemas{},
		AdditionalProperties: openapi3.AdditionalProperties{Has: new(false)},
	}
	if body := spec.RequestBody; body != nil {
		media := body.Value.Content.Get("application/json")
		if media == nil || media.Schema == nil {
			return nil, errors.New("a request body other than application/json")
		}
		op.HasBody = true
		for name, p := range media.Schema.Value.Properties {
			in.Properties[name] = p
		}
		in.Required = append(in.Required, media.Schema.Value.Required...)
	}
	for _, ref := range append(slices.Clone(item.Parameters), spec.Parameters...) {
		p := ref.Value
		if p.In != openapi3.ParameterInPath && p.In != openapi3.ParameterInQuery {
			// ChatGPT ignores header and cookie parameters.
			return nil, fmt.Errorf("parameter %s is in %s; only path and query parameters become arguments", p.Name, p.In)
		}
		if _, dup := in.Properties[p.Name]; dup {
			return nil, fmt.Errorf("parameter %s has the name of a body field", p.Name)
		}
		s := *p.Schema.Value
		s.Description = p.Description
		if s.Example == nil {
			s.Example = p.Example
		}
		in.Properties[p.Name] = &openapi3.SchemaRef{Value: &s}
		if p.In == openapi3.ParameterInPath {
			op.PathParams = append(op.PathParams, p.Name)
		} else {
			op.QueryParams = append(op.QueryParams, p.Name)
		}
		if p.Required {
			in.Required = append(in.Required, p.Name)
		}
	}
	op.input = in
	var err error
	if op.inputJSON, err = jsonSchema(in, toolNames); err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	for _, status := range []int{http.StatusOK, http.StatusCreated} {
		resp := spec.Responses.Status(status)
		if resp == nil || resp.Value.Content.Get("application/json") == nil {
			continue
		}
		if op.outputJSON, err = jsonSchema(resp.Value.Content.Get("application/json").Schema.Value, toolNames); err != nil {
			return nil, fmt.Errorf("response %d: %w", status, err)
		}
		break
	}
	return op, nil
}

// specScopes are the scopes the operation's security requirement names.
func specScopes(doc *openapi3.T, op *openapi3.Operation) []string {
	reqs := doc.Security
	if op.Security != nil {
		reqs = *op.Security
	}
	var scopes []string
	for _, req := range reqs {
		for _, s := range req {
			scopes = append(scopes, s...)
		}
	}
	return scopes
}

// jsonSchema writes an OpenAPI 3.1 schema as plain JSON Schema 2020-12:
// references inlined, example as examples, and operation ids in
// descriptions as tool names. Unions are refused: ChatGPT handles them
// poorly, so the spec keeps to flat objects.
func jsonSchema(s *openapi3.Schema, toolNames *strings.Replacer) (map[string]any, error) {
	if len(s.OneOf)+len(s.AnyOf)+len(s.AllOf) > 0 || s.Not != nil {
		return nil, errors.New("oneOf, anyOf, allOf and not are not supported; flatten the schema")
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if len(s.Properties) > 0 {
		props := map[string]any{}
		for name, p := range s.Properties {
			if props[name], err = jsonSchema(p.Value, toolNames); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
		m["properties"] = props
	}
	if s.Items != nil {
		if m["items"], err = jsonSchema(s.Items.Value, toolNames); err != nil {
			return nil, fmt.Errorf("items: %w", err)
		}
	}
	if s.AdditionalProperties.Schema != nil {
		return nil, errors.New("additionalProperties other than true or false")
	}
	if ex, ok := m["example"]; ok {
		delete(m, "example")
		m["examples"] = []any{ex}
	}
	if d, ok := m["description"].(string); ok {
		m["description"] = toolNames.Replace(strings.TrimSpace(d))
	}
	return m, nil
}
