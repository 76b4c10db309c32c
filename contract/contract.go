// Package contract is openapi.yaml, parsed once. From that one parse it
// serves the documents GPT builders import (with this deployment's URLs),
// gives each operation's arguments and result as JSON Schema (the MCP
// tools' schemas), and validates an operation's arguments with errors
// worded for a model. With the table in operations.go it is everything the
// REST API and the MCP tools share: both gather a call's arguments into one
// map and then do the same four steps, scope, validate, call, render.
package contract

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v3"

	"github.com/agenda-gpt/agenda"
)

// Contract is the parsed openapi.yaml with its operations.
type Contract struct {
	doc        *openapi3.T
	operations []*Operation
	byID       map[string]*Operation
}

// Load parses the embedded openapi.yaml and binds each row of Operations
// to its operation in the spec. A row whose method, path or scope
// disagrees with the spec, or an operation without a row, stops it: the
// table and the contract cannot drift apart.
func Load() (*Contract, error) {
	return load(agenda.OpenAPI, Operations)
}

func load(raw []byte, rows []Row) (*Contract, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("contract: openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("contract: openapi.yaml: %w", err)
	}
	c := &Contract{doc: doc, byID: map[string]*Operation{}}
	names := c.toolNames(rows)
	for _, row := range rows {
		op, err := bind(doc, row, names)
		if err != nil {
			return nil, fmt.Errorf("contract: %s: %w", row.ID, err)
		}
		c.operations = append(c.operations, op)
		c.byID[row.ID] = op
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if c.byID[op.OperationID] == nil {
				return nil, fmt.Errorf("contract: %s %s (%s) is in openapi.yaml but has no row in Operations", method, path, op.OperationID)
			}
		}
	}
	return c, nil
}

// toolNames rewrites operation ids into tool names in the descriptions MCP
// clients read ("call listEvents first" becomes "call list_events first").
func (c *Contract) toolNames(rows []Row) *strings.Replacer {
	var pairs []string
	for _, r := range rows {
		pairs = append(pairs, r.ID, r.Tool.Name)
	}
	return strings.NewReplacer(pairs...)
}

// Operations lists the operations in the table's order.
func (c *Contract) Operations() []*Operation { return c.operations }

// Operation finds an operation by its operationId; nil if there is none.
func (c *Contract) Operation(id string) *Operation { return c.byID[id] }

// Instructions is the API's description: what a model must know before any
// call (ask the time zone, send offsets). MCP clients show it to the model
// as the server's instructions.
func (c *Contract) Instructions() string { return strings.TrimSpace(c.doc.Info.Description) }

// Version is the API's version.
func (c *Contract) Version() string { return c.doc.Info.Version }

// Documents are openapi.yaml as this deployment serves it.
type Documents struct {
	YAML, JSON []byte
}

// Served fills in this deployment's URLs: the server is baseURL and the
// OAuth URLs are the identity provider's, so a builder who imports the
// schema by URL finds the right values already there.
func (c *Contract) Served(baseURL, authorizationURL, tokenURL string) (Documents, error) {
	doc := *c.doc
	doc.Servers = openapi3.Servers{{URL: baseURL}}
	schemes := openapi3.SecuritySchemes{}
	for name, ref := range doc.Components.SecuritySchemes {
		scheme := *ref.Value
		if scheme.Flows != nil && scheme.Flows.AuthorizationCode != nil {
			flows := *scheme.Flows
			code := *flows.AuthorizationCode
			code.AuthorizationURL, code.TokenURL = authorizationURL, tokenURL
			flows.AuthorizationCode = &code
			scheme.Flows = &flows
		}
		schemes[name] = &openapi3.SecuritySchemeRef{Value: &scheme}
	}
	components := *doc.Components
	components.SecuritySchemes = schemes
	doc.Components = &components

	js, err := json.MarshalIndent(&doc, "", "  ")
	if err != nil {
		return Documents{}, fmt.Errorf("contract: %w", err)
	}
	// YAML from the JSON tree: the same document, in the form builders
	// paste into the GPT editor.
	var tree yaml.Node
	if err := yaml.Unmarshal(js, &tree); err != nil {
		return Documents{}, fmt.Errorf("contract: %w", err)
	}
	clearStyle(&tree)
	var buf strings.Builder
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&tree); err != nil {
		return Documents{}, fmt.Errorf("contract: %w", err)
	}
	return Documents{YAML: []byte(buf.String()), JSON: js}, nil
}

// clearStyle drops the JSON flow style the tree was read with, so the YAML
// is written in block style.
func clearStyle(n *yaml.Node) {
	n.Style &^= yaml.FlowStyle | yaml.DoubleQuotedStyle
	for _, c := range n.Content {
		clearStyle(c)
	}
}
