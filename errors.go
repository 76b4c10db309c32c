package agenda

import (
	"errors"
	"fmt"
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
