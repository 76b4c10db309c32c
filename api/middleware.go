package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/agenda-gpt/agenda"
)

// bodyLimit is agenda.MaxBodyBytes as echo's BodyLimit spells it.
var bodyLimit = strconv.Itoa(agenda.MaxBodyBytes) + "B"

// Context keys the middleware share.
const (
	identityKey    = "agenda.identity"
	authFailureKey = "agenda.auth_failure"
	logErrorKey    = "agenda.error"
	// missingScopeKey is the scope a 403 names in its challenge.
	missingScopeKey = "agenda.missing_scope"
)

// authFailure is what the log says of a refused token: the reason, and what
// the token claims of itself. Never the token.
type authFailure struct {
	reason   string
	clientID string
	expiry   time.Time
}

// logRequests writes one structured line per request: request id, method,
// path (never the query string's secrets: the API takes none, and the
// Authorization header and cookies are never read here), status, latency,
// user id, and for refused tokens why.
func (s *server) logRequests() echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogLatency: true, LogMethod: true, LogURIPath: true, LogRequestID: true,
		HandleError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			attrs := []slog.Attr{
				slog.String("request_id", v.RequestID),
				slog.String("method", v.Method),
				slog.String("path", v.URIPath),
				slog.Int("status", v.Status),
				slog.Duration("latency", v.Latency),
			}
			if id, ok := c.Get(identityKey).(agenda.Identity); ok {
				attrs = append(attrs, slog.String("user", id.UserID))
				if id.ClientID != "" {
					attrs = append(attrs, slog.String("client_id", id.ClientID))
				}
			}
			if f, ok := c.Get(authFailureKey).(authFailure); ok {
				attrs = append(attrs, slog.String("auth_failure", f.reason))
				if f.clientID != "" {
					attrs = append(attrs, slog.String("token_client_id", f.clientID))
				}
				if !f.expiry.IsZero() {
					attrs = append(attrs, slog.Time("token_expiry", f.expiry))
				}
			}
			level := slog.LevelInfo
			if err, ok := c.Get(logErrorKey).(error); ok {
				level = slog.LevelError
				attrs = append(attrs, slog.String("err", err.Error()))
			}
			s.Logger.LogAttrs(c.Request().Context(), level, "request", attrs...)
			return nil
		},
	})
}

// recoverPanics turns a panic into a 500 problem and a log line with the
// stack, and keeps the server running.
func (s *server) recoverPanics() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				if r := recover(); r != nil {
					if r == http.ErrAbortHandler {
						panic(r)
					}
					err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
				}
			}()
			return next(c)
		}
	}
}

// securityHeaders are set here, on every response, and nowhere else; pages
// add only what is theirs (their CSP, no-store). HSTS follows BASE_URL, not
// a request header a client could forge.
func (s *server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY") // for browsers without CSP frame-ancestors
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if s.HTTPS {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		return next(c)
	}
}
