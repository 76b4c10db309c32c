package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/agenda-gpt/agenda"
)

// Problem is an RFC 9457 problem details body. Detail is written for the
// person or model that sent the request: it says what to change.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

const problemContentType = "application/problem+json"

// statusOf maps a domain error code to an HTTP status: the one place where
// that happens.
func statusOf(code string) int {
	switch code {
	case agenda.EINVALID:
		return http.StatusBadRequest
	case agenda.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case agenda.EFORBIDDEN:
		return http.StatusForbidden
	case agenda.ENOTFOUND:
		return http.StatusNotFound
	case agenda.ECONFLICT:
		return http.StatusConflict
	case agenda.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case agenda.ERATELIMIT:
		return http.StatusTooManyRequests
	case agenda.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// errorHandler renders every error as problem+json. It is echo's
// HTTPErrorHandler, so errors from echo itself (unknown route, body limit)
// get the same shape as the app's own.
func (s *server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, detail := s.describe(err, c)
	h := c.Response().Header()
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden:
		if v := s.challenge(c, err, status, detail); v != "" {
			h.Set(echo.HeaderWWWAuthenticate, v)
		}
	case http.StatusServiceUnavailable:
		h.Set(echo.HeaderRetryAfter, strconv.Itoa(agenda.RetryAfterUnavailable))
	case http.StatusTooManyRequests:
		if h.Get(echo.HeaderRetryAfter) == "" { // the rate limits set their own
			h.Set(echo.HeaderRetryAfter, strconv.Itoa(s.RefusalRetryAfter))
		}
	case http.StatusInternalServerError:
		c.Set(logErrorKey, err)
	}
	p := Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	h.Set(echo.HeaderContentType, problemContentType)
	c.Response().WriteHeader(status)
	_ = jsonEncode(c.Response(), p)
}

// describe finds the status and the client-facing message of err.
func (s *server) describe(err error, c echo.Context) (int, string) {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return he.Code, fmt.Sprintf("no route %s %s; the API is described at /openapi.yaml", c.Request().Method, c.Request().URL.Path)
		case http.StatusMethodNotAllowed:
			return he.Code, fmt.Sprintf("%s is not allowed on %s; the API is described at /openapi.yaml", c.Request().Method, c.Request().URL.Path)
		case http.StatusRequestEntityTooLarge:
			return he.Code, fmt.Sprintf("the request body is over %d bytes; send less (notes are limited to %d characters)", agenda.MaxBodyBytes, agenda.MaxNotesLength)
		case http.StatusServiceUnavailable:
			return he.Code, "the request took too long; try again shortly"
		}
		if he.Code < 500 {
			return he.Code, fmt.Sprint(he.Message)
		}
		return he.Code, "An internal error occurred; try again later."
	}
	return statusOf(agenda.ErrorCode(err)), agenda.ErrorMessage(err)
}
