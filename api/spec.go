package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	"go.yaml.in/yaml/v3"

	"github.com/agenda-gpt/agenda"
)

// Spec is openapi.yaml as served to GPT builders (with this deployment's
// URLs filled in) and as used to validate requests.
type Spec struct {
	doc      *openapi3.T
	validate *openapi3.T // doc, read as OpenAPI 3.0 for request validation
	yamlText []byte
	jsonText []byte
}

// NewSpec fills the embedded openapi.yaml with the deployment's URLs: the
// server is BASE_URL, the OAuth URLs are the provider's, so a builder can
// import the schema by URL and find the right values already there.
func NewSpec(baseURL, authorizationURL, tokenURL string) (*Spec, error) {
	doc, err := loadSpec()
	if err != nil {
		return nil, fmt.Errorf("api: openapi.yaml: %w", err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(agenda.OpenAPI, &root); err != nil {
		return nil, fmt.Errorf("api: openapi.yaml: %w", err)
	}
	for path, value := range map[string]string{
		"servers.0.url": baseURL,
		"components.securitySchemes.logto.flows.authorizationCode.authorizationUrl": authorizationURL,
		"components.securitySchemes.logto.flows.authorizationCode.tokenUrl":         tokenURL,
	} {
		if err := setYAML(&root, path, value); err != nil {
			return nil, fmt.Errorf("api: openapi.yaml: %s: %w", path, err)
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&root); err != nil {
		return nil, err
	}
	var tree any
	if err := root.Decode(&tree); err != nil {
		return nil, err
	}
	js, err := json.MarshalIndent(tree, "", "  ")
	if err != nil {
		return nil, err
	}
	// Requests are validated with kin-openapi's OpenAPI 3.0 schema validator:
	// for a 3.1 document it would compile a JSON Schema 2020 validator on
	// every request (a fifth of an API call's time), and its errors lose the
	// field names. The spec uses no 3.1-only keyword (the lint test keeps it
	// so), so both validators accept the same requests.
	as30 := *doc
	as30.OpenAPI = "3.0.3"
	return &Spec{doc: doc, validate: &as30, yamlText: buf.Bytes(), jsonText: js}, nil
}

// YAML returns the served spec.
func (sp *Spec) YAML() []byte { return sp.yamlText }

// Doc returns the parsed contract (for response validation in tests).
func (sp *Spec) Doc() *openapi3.T { return sp.doc }

// setYAML sets the scalar at a dotted path (map keys and sequence indexes).
func setYAML(n *yaml.Node, path, value string) error {
	if n.Kind == yaml.DocumentNode {
		n = n.Content[0]
	}
	for _, key := range strings.Split(path, ".") {
		switch n.Kind {
		case yaml.MappingNode:
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == key {
					next = n.Content[i+1]
				}
			}
			if next == nil {
				return fmt.Errorf("no key %q", key)
			}
			n = next
		case yaml.SequenceNode:
			var i int
			if _, err := fmt.Sscan(key, &i); err != nil || i >= len(n.Content) {
				return fmt.Errorf("no index %q", key)
			}
			n = n.Content[i]
		default:
			return fmt.Errorf("%q is not a map or list", key)
		}
	}
	n.Kind, n.Tag, n.Value, n.Style = yaml.ScalarNode, "!!str", value, 0
	return nil
}

func (s *server) handleSpecYAML(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", s.Spec.yamlText)
}

func (s *server) handleSpecJSON(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, s.Spec.jsonText)
}
