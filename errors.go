package agenda

import (
	"errors"
	"fmt"
	"strings"
)

// Error codes. Every layer returns these; the HTTP layer maps each to one
// status in one place, and the MCP layer to a tool error.
const (
	EINVALID      = "invalid"      // the request breaks a rule; Message says how to fix it
	ENOTFOUND     = "not_found"    // no such event for this user
	ECONFLICT     = "conflict"     // e.g. a request_id reused for a different event
	EUNAUTHORIZED = "unauthorized" // no, bad or expired credentials
	EFORBIDDEN    = "forbidden"    // valid credentials without the needed scope
	ETOOLARGE     = "too_large"    // body over MaxBodyBytes
	ERATELIMIT    = "rate_limited" // too many requests for this user
	EUNAVAILABLE  = "unavailable"  // a dependency (the identity provider, the database) cannot be reached
	EINTERNAL     = "internal"     // a bug or an unexpected failure; details stay in the log
)

// RetryAfterUnavailable is the Retry-After, in seconds, of an EUNAVAILABLE
// answer from the API or the MCP endpoint: long enough not to hammer the
// identity provider or the database, short enough for ChatGPT's retry to
// succeed once they are back.
const RetryAfterUnavailable = 5

// Error is an error a client can act on: Message is shown to the person or
// model that made the request, so it says what to change.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("agenda: %s: %s", e.Code, e.Message) }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EINTERNAL
	}
}

// ErrorMessage returns the client-facing message of err. Internal errors get
// a generic message so that no detail of the server leaks.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	default:
		return "An internal error occurred; try again later."
	}
}

// Expectation describes a field's schema constraints (from openapi.yaml)
// in words, for the messages the API and the MCP tools give when a value
// breaks them.
type Expectation struct {
	Type      string // "string", "integer", "boolean", "object"
	Format    string // "date-time" or ""
	Pattern   string
	Min, Max  *float64
	MinLength int
	MaxLength *int
}

// String says what a value must look like, e.g. "must be a string of at
// most 200 characters".
func (x Expectation) String() string {
	switch {
	case x.Format == "date-time" || strings.Contains(x.Pattern, "T[0-9]{2}"):
		msg := "must be an RFC 3339 date-time with a UTC offset, like 2026-12-01T09:00:00+01:00"
		if x.Pattern != "" {
			msg += ", or an empty string to remove it"
		}
		return msg
	case x.Type == "boolean":
		return "must be true or false"
	case x.Type == "integer":
		if x.Min != nil && x.Max != nil {
			return fmt.Sprintf("must be a whole number from %g to %g", *x.Min, *x.Max)
		}
		return "must be a whole number"
	case x.Type == "string":
		switch {
		case x.MinLength > 0 && x.MaxLength != nil:
			return fmt.Sprintf("must be a string of %d to %d characters", x.MinLength, *x.MaxLength)
		case x.MaxLength != nil:
			return fmt.Sprintf("must be a string of at most %d characters", *x.MaxLength)
		}
		return "must be a string"
	case x.Type == "object":
		return "must be a JSON object"
	}
	return "does not match the schema in /openapi.yaml"
}
