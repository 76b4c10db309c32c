package api

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/time/rate"

	"github.com/agenda-gpt/agenda"
)

// authenticate establishes who the request acts for: a bearer token (the GPT,
// any API client) or, failing that, the browser's session cookie, which must
// then pass the cross-origin check for anything but a read. Each operation checks
// its own scope (requireScope).
func (s *server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		token, hasBearer, err := bearerToken(r)
		if err != nil {
			return s.refuse(c, err, agenda.Identity{})
		}
		var id agenda.Identity
		switch {
		case hasBearer:
			id, err = s.Auth.Authenticate(r.Context(), token, c.RealIP())
			if err != nil {
				return s.refuse(c, err, id)
			}
		case s.Sessions != nil:
			var ok bool
			if id, ok = s.Sessions.Identity(r); !ok {
				return s.refuse(c, errNoCredentials, id)
			}
			if !safeMethod(r.Method) {
				if err := s.Sessions.CheckCrossOrigin(r); err != nil {
					return err
				}
			}
		default:
			return s.refuse(c, errNoCredentials, id)
		}
		c.Set(identityKey, id)
		return next(c)
	}
}

// authenticateMCP admits only bearer tokens the MCP endpoint accepts (JWTs
// for its resource) and hands the identity to the MCP server in the
// request's context. Its refusals point to the resource metadata.
func (s *server) authenticateMCP(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		token, hasBearer, err := bearerToken(r)
		if err == nil && !hasBearer {
			err = errNoMCPCredentials
		}
		if err != nil {
			return s.refuse(c, err, agenda.Identity{})
		}
		id, err := s.MCPAuth.Authenticate(r.Context(), token, c.RealIP())
		if err != nil {
			return s.refuse(c, err, id)
		}
		c.Set(identityKey, id)
		c.SetRequest(r.WithContext(agenda.NewContext(r.Context(), id)))
		return next(c)
	}
}

// requireScope refuses a caller whose token was not granted scope, with
// the challenge that tells an OAuth client which scope to ask for.
func requireScope(c echo.Context, id agenda.Identity, scope string) error {
	if id.HasScope(scope) {
		return nil
	}
	err := agenda.MissingScope(scope)
	c.Set(missingScopeKey, scope)
	c.Set(authFailureKey, authFailure{reason: "missing scope " + scope, clientID: id.ClientID, expiry: id.ExpiresAt})
	return err
}

var (
	errNoCredentials    = agenda.Errorf(agenda.EUNAUTHORIZED, "no access token; send Authorization: Bearer <token> (sign in again if the client has none)")
	errNoMCPCredentials = agenda.Errorf(agenda.EUNAUTHORIZED, "no access token; sign in and send Authorization: Bearer <token>, a token issued for this MCP endpoint's resource")
)

// refuse records why a request was refused, for the log, and returns err.
func (s *server) refuse(c echo.Context, err error, claimed agenda.Identity) error {
	c.Set(authFailureKey, authFailure{reason: agenda.ErrorMessage(err), clientID: claimed.ClientID, expiry: claimed.ExpiresAt})
	return err
}

// challenge is the WWW-Authenticate of a 401 or 403 (RFC 6750 §3): the
// error code and description, none when the request carried no
// credentials; the scope a 403 lacks; and, on /mcp, the resource metadata
// an MCP client finds its authorization server in (RFC 9728).
func (s *server) challenge(c echo.Context, err error, status int, detail string) string {
	var params []string
	add := func(name, value string) { params = append(params, name+`="`+headerSafe(value)+`"`) }
	onMCP := s.MCP != nil && isMCPPath(c.Request().URL.Path)
	scope, _ := c.Get(missingScopeKey).(string)
	switch {
	case status == http.StatusForbidden && scope == "":
		return "" // refused for another reason (an origin): no token would help
	case status == http.StatusForbidden:
		add("error", "insufficient_scope")
		add("error_description", detail)
	case errors.Is(err, errNoCredentials) || errors.Is(err, errNoMCPCredentials):
		// RFC 6750 §3.1: no error code for a request without credentials.
	default:
		add("error", "invalid_token")
		add("error_description", detail)
	}
	if onMCP {
		add("resource_metadata", s.MCP.MetadataURL())
	}
	if scope != "" {
		add("scope", scope)
	} else if onMCP {
		add("scope", agenda.ScopeRead+" "+agenda.ScopeWrite)
	}
	if len(params) == 0 {
		return `Bearer realm="agenda"`
	}
	return "Bearer " + strings.Join(params, ", ")
}

// headerSafe keeps to the characters RFC 6750 allows in a challenge's
// values: printable ASCII without " and \.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '"':
			return '\''
		case r == '\\':
			return '/'
		case r < 0x20 || r > 0x7e:
			return '?'
		}
		return r
	}, s)
}

func isMCPPath(p string) bool { return p == "/mcp" || strings.HasPrefix(p, "/mcp/") }

// bearerToken reads the Authorization header. A header of another scheme is
// an error, not an absence, so a misconfigured client learns why.
func bearerToken(r *http.Request) (token string, ok bool, err error) {
	h := r.Header.Get(echo.HeaderAuthorization)
	if h == "" {
		return "", false, nil
	}
	scheme, token, _ := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false, agenda.Errorf(agenda.EUNAUTHORIZED, "the Authorization header must be \"Bearer <access token>\"")
	}
	return token, true, nil
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// identity is the caller established by authenticate.
func identity(c echo.Context) agenda.Identity {
	id, _ := c.Get(identityKey).(agenda.Identity)
	return id
}

// rateLimit applies a token bucket per user. It runs after authenticate, so
// the key is the user, not an address that many users may share.
func (s *server) rateLimit() echo.MiddlewareFunc {
	return s.limitBy(func(c echo.Context) string { return identity(c).UserID })
}

// upgradeLimit bounds how fast one user opens WebSockets: each costs a
// snapshot, so a loop of reconnects must not become a loop of queries.
// The burst opens every tab the per-user cap admits at once.
func (s *server) upgradeLimit() echo.MiddlewareFunc {
	return limitBy(upgradesPerSecond, s.WebSocketsPerUser, func(c echo.Context) string { return identity(c).UserID })
}

// upgradesPerSecond is the rate of a user's WebSocket upgrades after the
// burst: a page reconnects with backoff, far slower.
const upgradesPerSecond = 1

func (s *server) limitBy(key func(echo.Context) string) echo.MiddlewareFunc {
	return limitBy(s.RateLimit, s.RateBurst, key)
}

func limitBy(perSecond float64, burst int, key func(echo.Context) string) echo.MiddlewareFunc {
	retryAfter := strconv.Itoa(int(math.Max(1, math.Ceil(1/perSecond))))
	return middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
		Store: middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
			Rate: rate.Limit(perSecond), Burst: burst, ExpiresIn: 3 * time.Minute,
		}),
		IdentifierExtractor: func(c echo.Context) (string, error) { return key(c), nil },
		DenyHandler: func(c echo.Context, _ string, _ error) error {
			c.Response().Header().Set(echo.HeaderRetryAfter, retryAfter)
			return agenda.Errorf(agenda.ERATELIMIT, "too many requests for this user; wait %s second(s) and try again", retryAfter)
		},
	})
}
