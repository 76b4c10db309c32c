// Package mcpserver serves the agenda as a Model Context Protocol server on
// the streamable HTTP transport, with the official Go SDK. Its tools are the
// operations of openapi.yaml, with input schemas derived from it, acting
// through the same agenda.EventService as the API, so a change made by an
// MCP client reaches the owner's browser tabs like any other. The endpoint
// is an OAuth protected resource (RFC 9728), as the MCP authorization spec
// asks: it accepts only JWTs issued for its own resource identifier.
package mcpserver

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/agenda-gpt/agenda"
	"github.com/agenda-gpt/agenda/contract"
)

// Config is what the MCP endpoint needs.
type Config struct {
	Events   agenda.EventService
	Contract *contract.Contract // the operations offered as tools

	// Resource is the endpoint's resource identifier (MCP_RESOURCE), which
	// the metadata names; the API admits only tokens with it as audience.
	Resource string
	// Issuer is the authorization server the metadata names (Logto's
	// /oidc issuer).
	Issuer string
	// MetadataURL is where the metadata is served; every 401 points to it.
	MetadataURL string

	Timeout time.Duration // bounds each tool call; default 30s
	Logger  *slog.Logger
}

// Server is the MCP endpoint. It is an http.Handler for /mcp; Metadata
// serves its protected resource metadata.
type Server struct {
	cfg      Config
	handler  http.Handler
	metadata http.Handler
}

// New builds the tools from openapi.yaml and the handler that serves them.
func New(cfg Config) (*Server, error) {
	if cfg.Events == nil || cfg.Contract == nil || cfg.Resource == "" || cfg.Issuer == "" || cfg.MetadataURL == "" {
		return nil, errors.New("mcpserver: Events, Contract, Resource, Issuer and MetadataURL are required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv := mcp.NewServer(
		&mcp.Implementation{Name: "agenda", Title: "Agenda", Version: cfg.Contract.Version()},
		&mcp.ServerOptions{Instructions: cfg.Contract.Instructions(), Logger: sdkLogger(cfg.Logger)},
	)
	s := &Server{cfg: cfg}
	for _, op := range cfg.Contract.Operations() {
		s.add(srv, op)
	}
	streams := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{
		// Stateless: every POST stands alone, so any replica can answer
		// it, and nothing is held between requests. The tools need no
		// session: they never call back to the client, and each request
		// proves its user with its own token. GET and DELETE get 405, the
		// spec's answer of a server that offers no stream and no session.
		Stateless: true,
		// A tool call answers once, with nothing before its result: plain
		// JSON, which no proxy holds back as it may an event stream.
		JSONResponse:        true,
		MaxRequestBodyBytes: agenda.MaxBodyBytes,
		Logger:              sdkLogger(cfg.Logger),
		// The check refuses a loopback connection whose Host is not
		// loopback: every request behind a reverse proxy on the same
		// host. It guards unauthenticated local servers against DNS
		// rebinding; here every request needs a bearer token, which a
		// rebound page cannot have.
		DisableLocalhostProtection: true,
	})
	s.handler = auth.RequireBearerToken(tokenInfo, nil)(streams)
	s.metadata = auth.ProtectedResourceMetadataHandler(&oauthex.ProtectedResourceMetadata{
		Resource:               cfg.Resource,
		AuthorizationServers:   []string{cfg.Issuer},
		ScopesSupported:        []string{agenda.ScopeRead, agenda.ScopeWrite},
		BearerMethodsSupported: []string{"header"},
		ResourceName:           "Agenda",
	})
	return s, nil
}

// ServeHTTP serves the streamable HTTP transport.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Metadata serves the protected resource metadata (RFC 9728), for both
// /.well-known/oauth-protected-resource and its /mcp form.
func (s *Server) Metadata() http.Handler { return s.metadata }

// MetadataURL is where Metadata is served; the API's 401s on /mcp point
// to it.
func (s *Server) MetadataURL() string { return s.cfg.MetadataURL }

// tokenInfo hands the identity the API established (agenda.NewContext) to
// the SDK, which gives it to the tool call the request carries (and, were
// sessions on, would bind each session to its user). The SDK's
// RequireBearerToken is the way to set it; it cannot say why a token was
// refused, so the API refuses before it.
func tokenInfo(ctx context.Context, _ string, _ *http.Request) (*auth.TokenInfo, error) {
	id, ok := agenda.FromContext(ctx)
	if !ok {
		return nil, auth.ErrInvalidToken
	}
	return &auth.TokenInfo{UserID: id.UserID, Scopes: id.Scopes, Expiration: id.ExpiresAt}, nil
}

// sdkLogger passes on the SDK's warnings and errors only: at Info it
// narrates the session each stateless request opens and closes.
func sdkLogger(l *slog.Logger) *slog.Logger {
	return slog.New(minLevel{l.Handler(), slog.LevelWarn})
}

type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= h.min && h.Handler.Enabled(ctx, level)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(attrs), h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.min}
}
