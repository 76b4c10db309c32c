package contract

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/agenda-gpt/agenda"
)

// Validate checks a call's arguments against the operation's input schema.
// Its error is agenda.EINVALID with one sentence a model can act on: the
// first thing wrong, in a stable order (unknown arguments, missing ones,
// then each argument by name), naming the argument and saying what it must
// look like.
func (op *Operation) Validate(args map[string]any) error {
	props := op.input.Properties
	for _, k := range slices.Sorted(maps.Keys(args)) {
		if _, ok := props[k]; !ok {
			return invalid("unknown field %q; the fields are %s", k, strings.Join(slices.Sorted(maps.Keys(props)), ", "))
		}
	}
	for _, k := range op.input.Required {
		if _, ok := args[k]; !ok {
			return invalid("%s is required: %s", k, strings.TrimSpace(props[k].Value.Description))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(args)) {
		// Checked before anything encodes the value: encoding/json would
		// silently replace invalid UTF-8.
		if text, ok := args[k].(string); ok {
			if err := agenda.CheckText(k, text); err != nil {
				return err
			}
		}
		s := props[k].Value
		if err := s.VisitJSON(args[k]); err != nil {
			return invalid("%s %s", k, expectation(s))
		}
	}
	return nil
}

func invalid(format string, args ...any) error {
	return agenda.Errorf(agenda.EINVALID, format, args...)
}

// expectation says in words what a value of schema s must look like, e.g.
// "must be a string of at most 200 characters".
func expectation(s *openapi3.Schema) string {
	switch {
	case s.Format == "date-time" || strings.Contains(s.Pattern, "T[0-9]{2}"):
		msg := "must be an RFC 3339 date-time with a UTC offset, like 2026-12-01T09:00:00+01:00"
		if s.Pattern != "" {
			msg += ", or an empty string to remove it"
		}
		return msg
	case s.Type.Is(openapi3.TypeBoolean):
		return "must be true or false"
	case s.Type.Is(openapi3.TypeInteger):
		if s.Min != nil && s.Max != nil {
			return fmt.Sprintf("must be a whole number from %g to %g", *s.Min, *s.Max)
		}
		return "must be a whole number"
	case s.Type.Is(openapi3.TypeString):
		switch {
		case s.MinLength > 0 && s.MaxLength != nil:
			return fmt.Sprintf("must be a string of %d to %d characters", s.MinLength, *s.MaxLength)
		case s.MaxLength != nil:
			return fmt.Sprintf("must be a string of at most %d characters", *s.MaxLength)
		}
		return "must be a string"
	case s.Type.Is(openapi3.TypeObject):
		return "must be a JSON object"
	}
	return "does not match the schema in /openapi.yaml"
}

// Unknown is the error for an argument the operation does not take, such
// as a body field that shadows a path parameter.
func (op *Operation) Unknown(field string) error {
	return invalid("unknown field %q; the fields are %s", field, strings.Join(slices.Sorted(maps.Keys(op.input.Properties)), ", "))
}

// QueryArg reads a query parameter's text as the JSON value its schema
// describes (a number for an integer), so a query string is validated like
// any other arguments. Text that does not parse stays text, for Validate
// to refuse in words.
func (op *Operation) QueryArg(name, text string) any {
	s := op.input.Properties[name].Value
	switch {
	case s.Type.Is(openapi3.TypeInteger):
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return float64(n)
		}
	case s.Type.Is(openapi3.TypeBoolean):
		if b, err := strconv.ParseBool(text); err == nil {
			return b
		}
	}
	return text
}

// Shown is what of a result the caller may see. A token granted write but
// not read learns only the id of what it wrote: it could not have read the
// event, and a write must not become a way to.
func (op *Operation) Shown(res Result, caller agenda.Identity) any {
	if ev, ok := res.Value.(agenda.Event); ok && op.Scope != agenda.ScopeRead && !caller.HasScope(agenda.ScopeRead) {
		return map[string]string{"id": ev.ID}
	}
	return res.Value
}

// Takes reports whether the operation has an argument of that name.
func (op *Operation) Takes(name string) bool {
	_, ok := op.input.Properties[name]
	return ok
}
