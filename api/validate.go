package api

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"

	"github.com/agenda-gpt/agenda"
)

// validateRequest checks every /api request against openapi.yaml, so the
// spec ChatGPT reads is the spec the server enforces. The operation is found
// from echo's matched route rather than from the spec's server URL, which is
// whatever BASE_URL is.
func (s *server) validateRequest(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if strings.HasSuffix(c.Path(), "/*") || c.Path() == "/api" {
			// No /api route matched: echo's catch-all for the group
			// answers 404 or 405, once the group's middleware has run.
			return next(c)
		}
		route, err := s.Spec.route(c)
		if err != nil {
			return err
		}
		params := map[string]string{}
		for i, name := range c.ParamNames() {
			params[name] = c.ParamValues()[i]
		}
		in := &openapi3filter.RequestValidationInput{
			Request:    c.Request(),
			PathParams: params,
			Route:      route,
			Options: &openapi3filter.Options{
				AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc,
				SkipSettingDefaults: true,
			},
		}
		if err := openapi3filter.ValidateRequest(c.Request().Context(), in); err != nil {
			if errors.Is(err, echo.ErrStatusRequestEntityTooLarge) {
				// A body sent without a length, cut off at the limit while
				// read for validation: too large, not malformed.
				return echo.ErrStatusRequestEntityTooLarge
			}
			return agenda.Errorf(agenda.EINVALID, "%s", explainValidation(err))
		}
		return next(c)
	}
}

// route maps echo's route path (/api/events/:id) to the spec's operation.
func (sp *Spec) route(c echo.Context) (*routers.Route, error) {
	path := echoToSpecPath(c.Path())
	item := sp.validate.Paths.Find(path)
	if item == nil || item.GetOperation(c.Request().Method) == nil {
		return nil, fmt.Errorf("api: route %s %s is served but not in openapi.yaml", c.Request().Method, c.Path())
	}
	return &routers.Route{
		Spec:      sp.validate,
		Path:      path,
		PathItem:  item,
		Method:    c.Request().Method,
		Operation: item.GetOperation(c.Request().Method),
	}, nil
}

// echoToSpecPath turns /api/events/:id into /api/events/{id}.
func echoToSpecPath(p string) string {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		if strings.HasPrefix(part, ":") {
			parts[i] = "{" + part[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

// explainValidation rewrites kin-openapi's errors, which are written for
// developers, into one sentence a model can act on.
func explainValidation(err error) string {
	var reqErr *openapi3filter.RequestError
	if !errors.As(err, &reqErr) {
		return "the request does not match the API description at /openapi.yaml"
	}
	var schemaErr *openapi3.SchemaError
	hasSchemaErr := errors.As(reqErr.Err, &schemaErr)
	switch {
	case reqErr.Parameter != nil:
		name := reqErr.Parameter.Name
		if hasSchemaErr {
			return fieldProblem(name, "query parameter ", schemaErr)
		}
		if reqErr.Parameter.Schema != nil && reqErr.Parameter.Schema.Value != nil {
			return fmt.Sprintf("query parameter %s %s", name, expectation(reqErr.Parameter.Schema.Value))
		}
		return fmt.Sprintf("query parameter %s is not valid", name)
	case reqErr.RequestBody != nil:
		if hasSchemaErr {
			return fieldProblem(strings.Join(schemaErr.JSONPointer(), "."), "", schemaErr)
		}
		var parseErr *openapi3filter.ParseError
		switch {
		case errors.Is(reqErr.Err, openapi3filter.ErrInvalidRequired) || strings.Contains(reqErr.Reason, "value is required"):
			return "a JSON body is required; send a JSON object as described at /openapi.yaml"
		case strings.Contains(reqErr.Reason, "Content-Type"), strings.Contains(reqErr.Error(), "content type"):
			return "send the body as JSON with the header Content-Type: application/json"
		case errors.As(reqErr.Err, &parseErr):
			return "the body is not valid JSON; send one JSON object, like {\"title\": \"Dentist\", \"start\": \"2026-12-01T09:00:00+01:00\"}"
		}
		return "the body is not a valid JSON object for this operation; see /openapi.yaml"
	}
	return "the request does not match the API description at /openapi.yaml"
}

// fieldProblem describes one schema violation of a field.
func fieldProblem(field, kind string, e *openapi3.SchemaError) string {
	s := e.Schema
	switch e.SchemaField {
	case "required":
		// kin-openapi reports the object, with the property only in the
		// reason: "missing property 'title'" (JSON Schema 2020, used for
		// OpenAPI 3.1) or `property "title" is missing` (3.0).
		missing := quotedAfter(e.Reason, "missing property '", "missing properties '", `property "`)
		return fmt.Sprintf("%s is required; %s", join(field, missing), describeField(missing))
	case "additionalProperties", "properties":
		unknown := quotedAfter(e.Reason, "additional properties '", "additional property '", `property "`)
		return fmt.Sprintf("unknown field %q; the fields are %s", unknown, strings.Join(propertyNames(s), ", "))
	}
	if field == "" {
		return "the body must be a JSON object; see /openapi.yaml"
	}
	if s == nil {
		return fmt.Sprintf("%s%s is not valid", kind, field)
	}
	return fmt.Sprintf("%s%s %s", kind, field, expectation(s))
}

// expectation says what a value of schema s must look like.
func expectation(s *openapi3.Schema) string {
	x := agenda.Expectation{Format: s.Format, Pattern: s.Pattern, Min: s.Min, Max: s.Max, MinLength: int(s.MinLength)}
	if s.Type != nil && len(*s.Type) == 1 {
		x.Type = (*s.Type)[0]
	}
	if s.MaxLength != nil {
		n := int(*s.MaxLength)
		x.MaxLength = &n
	}
	return x.String()
}

// describeField is the hint for a missing required field.
func describeField(name string) string {
	switch name {
	case "title":
		return "send a short name for the event, 1 to 200 characters"
	case "start":
		return "send an RFC 3339 date-time with a UTC offset, like 2026-12-01T09:00:00+01:00"
	}
	return "see /openapi.yaml"
}

func propertyNames(s *openapi3.Schema) []string {
	if s == nil {
		return nil
	}
	names := make([]string, 0, len(s.Properties))
	for name := range s.Properties {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func join(parent, child string) string {
	if parent == "" {
		return child
	}
	return parent + "." + child
}

// quotedAfter returns the quoted name that follows the first marker found
// in s; each marker ends with its opening quote.
func quotedAfter(s string, markers ...string) string {
	for _, m := range markers {
		if _, rest, ok := strings.Cut(s, m); ok {
			v, _, _ := strings.Cut(rest, m[len(m)-1:])
			return v
		}
	}
	return ""
}
