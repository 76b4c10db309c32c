package api

import (
	"crypto/sha256"
	"encoding/hex"
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
// then pass the CSRF check for anything but a read. Each operation checks
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
			id, err = s.Auth.Authenticate(r.Context(), token)
			if err != nil {
				return s.refuse(c, err, id)
			}
		case s.Sessions != nil:
			var ok bool
			if id, ok = s.Sessions.Identity(r); !ok {
				return s.refuse(c, missingCredentials, id)
			}
			if !safeMethod(r.Method) {
				if err := s.Sessions.CheckCSRF(r); err != nil {
					return err
				}
			}
		default:
			return s.refuse(c, missingCredentials, id)
		}
		c.Set(identityKey, id)
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
	c.Response().Header().Set(echo.HeaderWWWAuthenticate, bearerChallenge("insufficient_scope", err.Message, "scope", scope))
	c.Set(authFailureKey, authFailure{reason: "missing scope " + scope, clientID: id.ClientID, expiry: id.ExpiresAt})
	return err
}

var missingCredentials = agenda.Errorf(agenda.EUNAUTHORIZED, "no access token; send Authorization: Bearer <token> (sign in again if the client has none)")

// refuse records why a request was refused, for the log, and returns err.
func (s *server) refuse(c echo.Context, err error, claimed agenda.Identity) error {
	c.Set(authFailureKey, authFailure{reason: agenda.ErrorMessage(err), clientID: claimed.ClientID, expiry: claimed.ExpiresAt})
	return err
}

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

// rateLimitMCP applies the same budget to the MCP endpoint, which checks
// its tokens itself: the key is the token's hash (one per signed-in client),
// or the client's address for a request without one.
func (s *server) rateLimitMCP() echo.MiddlewareFunc {
	return s.limitBy(func(c echo.Context) string {
		if h := c.Request().Header.Get(echo.HeaderAuthorization); h != "" {
			sum := sha256.Sum256([]byte(h))
			return "token:" + hex.EncodeToString(sum[:])
		}
		return "addr:" + c.RealIP()
	})
}

func (s *server) limitBy(key func(echo.Context) string) echo.MiddlewareFunc {
	retryAfter := strconv.Itoa(int(math.Max(1, math.Ceil(1/s.RateLimit))))
	return middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
		Store: middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
			Rate: rate.Limit(s.RateLimit), Burst: s.RateBurst, ExpiresIn: 3 * time.Minute,
		}),
		IdentifierExtractor: func(c echo.Context) (string, error) { return key(c), nil },
		DenyHandler: func(c echo.Context, _ string, _ error) error {
			c.Response().Header().Set(echo.HeaderRetryAfter, retryAfter)
			return agenda.Errorf(agenda.ERATELIMIT, "too many requests for this user; wait %s second(s) and try again", retryAfter)
		},
	})
}
