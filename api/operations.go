package api

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/agenda-gpt/agenda"
	"github.com/agenda-gpt/agenda/contract"
)

// handle serves one operation of the contract's table: it gathers the
// path, query and body into the operation's arguments, then does what the
// MCP tools do too: scope, validate, call, render.
func (s *server) handle(op *contract.Operation) echo.HandlerFunc {
	return func(c echo.Context) error {
		caller := identity(c)
		if err := requireScope(c, caller, op.Scope); err != nil {
			return err
		}
		args, err := gather(c, op)
		if err != nil {
			return err
		}
		if err := op.Validate(args); err != nil {
			return err
		}
		res, err := op.Call(c.Request().Context(), s.Events, caller.UserID, args)
		if err != nil {
			return err
		}
		if res.Value == nil {
			return c.NoContent(res.Status)
		}
		if ev, ok := res.Value.(agenda.Event); ok && res.Status == http.StatusCreated {
			c.Response().Header().Set(echo.HeaderLocation, "/api/events/"+ev.ID)
		}
		if res.Replayed {
			c.Response().Header().Set("Idempotent-Replayed", "true")
		}
		return writeJSON(c, res.Status, op.Shown(res, caller))
	}
}

// gather collects a request's arguments: the JSON body's fields, the path
// parameters and the query parameters the operation declares (others are
// ignored, as OpenAPI clients expect). The Idempotency-Key header stands
// in for a request_id the body leaves out.
func gather(c echo.Context, op *contract.Operation) (contract.Args, error) {
	args := contract.Args{}
	if op.HasBody {
		var err error
		if args, err = readBody(c); err != nil {
			return nil, err
		}
	}
	for _, name := range op.PathParams {
		if _, shadowed := args[name]; shadowed {
			return nil, op.Unknown(name)
		}
		args[name] = c.Param(name)
	}
	query := c.QueryParams()
	for _, name := range op.QueryParams {
		if query.Has(name) {
			if _, shadowed := args[name]; shadowed {
				return nil, op.Unknown(name)
			}
			args[name] = op.QueryArg(name, query.Get(name))
		}
	}
	if key := c.Request().Header.Get("Idempotency-Key"); key != "" && op.Takes("request_id") {
		if _, sent := args["request_id"]; !sent {
			args["request_id"] = key
		}
	}
	return args, nil
}

// readBody reads a body that must be exactly one JSON object in UTF-8.
// Anything else is refused rather than repaired: a second object, trailing
// text, bytes that are not UTF-8 (which a decoder would silently replace)
// or another declared charset.
func readBody(c echo.Context) (contract.Args, error) {
	r := c.Request()
	mediaType, params, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	if err != nil || mediaType != echo.MIMEApplicationJSON {
		return nil, invalid("send the body as JSON with the header Content-Type: application/json")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return nil, invalid("the body must be UTF-8 JSON; send Content-Type: application/json without charset=%s", cs)
	}
	// The server's ReadTimeout is longer than a request may take; a body
	// trickled in must not hold the request past its own deadline.
	if deadline, ok := r.Context().Deadline(); ok {
		_ = http.NewResponseController(c.Response()).SetReadDeadline(deadline)
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, bodyReadError(c, err)
	}
	if len(strings.TrimSpace(string(raw))) == 0 {
		return nil, invalid("a JSON body is required; send a JSON object as described at /openapi.yaml")
	}
	if !utf8.Valid(raw) {
		return nil, invalid("the body is not valid UTF-8; send the JSON text encoded as UTF-8")
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, invalid(`the body is not valid JSON; send one JSON object, like {"title": "Dentist", "start": "2026-12-01T09:00:00+01:00"}`)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalid("the body must be one JSON object with nothing after it")
	}
	args, ok := v.(map[string]any)
	if !ok {
		return nil, invalid("the body must be a JSON object; see /openapi.yaml")
	}
	return args, nil
}

// bodyReadError says why a body could not be read: too large, too slow, or
// cut off by the client.
func bodyReadError(c echo.Context, err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) || errors.Is(err, echo.ErrStatusRequestEntityTooLarge) {
		return echo.ErrStatusRequestEntityTooLarge
	}
	// The connection cannot carry another request after a half-read body.
	c.Response().Header().Set(echo.HeaderConnection, "close")
	var netErr net.Error
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout() {
		return echo.NewHTTPError(http.StatusRequestTimeout, "the request body did not arrive in time; send the whole body at once")
	}
	return invalid("the request body was cut off before its end; send the whole body again")
}

func invalid(format string, args ...any) error {
	return agenda.Errorf(agenda.EINVALID, format, args...)
}

// echoPath turns the spec's /api/events/{id} into echo's /api/events/:id.
func echoPath(p string) string {
	return strings.NewReplacer("{", ":", "}", "").Replace(p)
}
