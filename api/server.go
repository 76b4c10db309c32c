// Package api serves the agenda over HTTP with Echo: the OpenAPI-described
// /api routes a GPT calls, the spec itself, the WebSocket that pushes changes
// to browsers, and health checks. Every dependency comes in through Deps;
// routes.go lists the whole surface.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/agenda-gpt/agenda"
	"github.com/agenda-gpt/agenda/contract"
)

// Authenticator turns a bearer token, sent from clientAddr, into an
// identity (package auth).
type Authenticator interface {
	Authenticate(ctx context.Context, token, clientAddr string) (agenda.Identity, error)
}

// Sessions recognises a signed-in browser (package web). CheckCrossOrigin
// guards state-changing requests that authenticate with the session cookie.
type Sessions interface {
	Identity(r *http.Request) (agenda.Identity, bool)
	CheckCrossOrigin(r *http.Request) error
}

// Hub upgrades a request to a WebSocket that receives the user's changes
// (package realtime). Admit says why it would refuse a request (an
// *agenda.Error), for the API to answer as problem+json; Serve answers
// the request itself. snapshot passes the events the connection starts
// from to yield until it returns false.
type Hub interface {
	Admit(r *http.Request) error
	Serve(w http.ResponseWriter, r *http.Request, userID string, snapshot func(ctx context.Context, yield func(agenda.Event) bool) error) error
}

// MCP serves the Model Context Protocol endpoint and, for the OAuth
// clients that connect to it, its protected resource metadata (RFC 9728),
// found at MetadataURL. The API authenticates each request first (with
// Deps.MCPAuth) and puts the identity in its context (agenda.NewContext).
type MCP interface {
	http.Handler
	Metadata() http.Handler
	MetadataURL() string
}

// Deps is everything the server needs. Sessions, Web, IdP and MCP may be nil.
type Deps struct {
	Events    agenda.EventService
	Auth      Authenticator
	Sessions  Sessions
	Hub       Hub
	Contract  *contract.Contract
	Documents contract.Documents              // openapi.yaml as served, with this deployment's URLs
	Ready     func(ctx context.Context) error // answers /readyz: the database is reachable
	Web       http.Handler                    // pages, sign-in and static files
	IdP       http.Handler                    // the development identity provider, under /oidc
	MCP       MCP                             // the MCP endpoint (package mcpserver), at /mcp
	MCPAuth   Authenticator                   // accepts the tokens /mcp takes; required with MCP
	Logger    *slog.Logger

	HTTPS          bool    // BASE_URL is https: send Strict-Transport-Security
	RateLimit      float64 // requests per second per user
	RateBurst      int
	RequestTimeout time.Duration
	TrustedProxies []*net.IPNet // whose X-Forwarded-For names the client
	// RefusalRetryAfter is the Retry-After, in seconds, of the 429 an
	// address gets once its budget of refused tokens is spent (package
	// auth): 1/AUTH_FAILURE_RATE.
	RefusalRetryAfter int
	// WebSocketsPerUser is the hub's per-user cap: the burst of upgrades
	// one user may make at once (then one a second).
	WebSocketsPerUser int
}

type server struct {
	Deps
	echo *echo.Echo
}

// NewServer returns the app's HTTP handler.
func NewServer(d Deps) (*echo.Echo, error) {
	if d.Events == nil || d.Auth == nil || d.Contract == nil || d.Hub == nil {
		return nil, errors.New("api: Events, Auth, Hub and Contract are required")
	}
	if d.MCP != nil && d.MCPAuth == nil {
		return nil, errors.New("api: MCPAuth is required with MCP")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if d.RequestTimeout <= 0 {
		d.RequestTimeout = 30 * time.Second
	}
	if d.RateLimit <= 0 {
		d.RateLimit = 20
	}
	if d.RateBurst <= 0 {
		d.RateBurst = 40
	}
	if d.RefusalRetryAfter <= 0 {
		d.RefusalRetryAfter = 1
	}
	if d.WebSocketsPerUser <= 0 {
		d.WebSocketsPerUser = 20
	}
	if d.Ready == nil {
		d.Ready = func(context.Context) error { return nil }
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// The client's address budgets refused tokens (package auth). It is the
	// connection's, unless that is a trusted proxy: X-Forwarded-For is
	// whatever a client says, so only a proxy's is believed.
	e.IPExtractor = echo.ExtractIPDirect()
	if len(d.TrustedProxies) > 0 {
		trust := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
		for _, n := range d.TrustedProxies {
			trust = append(trust, echo.TrustIPRange(n))
		}
		e.IPExtractor = echo.ExtractIPFromXFFHeader(trust...)
	}
	s := &server{Deps: d, echo: e}
	e.HTTPErrorHandler = s.errorHandler
	s.routes()
	return e, nil
}

// jsonEncode writes v as one line of JSON.
func jsonEncode(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}

// writeJSON answers with status and v as JSON.
func writeJSON(c echo.Context, status int, v any) error {
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	c.Response().WriteHeader(status)
	return jsonEncode(c.Response(), v)
}
