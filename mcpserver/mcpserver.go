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
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/agenda-gpt/agenda"
	"github.com/agenda-gpt/agenda/contract"
)

// Verifier checks a JWT access token for an audience (package auth: the
// same verification as the API's JWT path).
type Verifier interface {
	VerifyJWT(ctx context.Context, token, audience string) (agenda.Identity, error)
}

// Config is what the MCP endpoint needs.
type Config struct {
	Events   agenda.EventService
	Contract *contract.Contract // the operations offered as tools
	Verifier Verifier

	// Resource is the endpoint's resource identifier (MCP_RESOURCE): the
	// audience every token must carry and the resource the metadata names,
	// both compared character for character.
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
	if cfg.Events == nil || cfg.Contract == nil || cfg.Verifier == nil || cfg.Resource == "" || cfg.Issuer == "" || cfg.MetadataURL == "" {
		return nil, errors.New("mcpserver: Events, Contract, Verifier, Resource, Issuer and MetadataURL are required")
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
	s.handler = s.requireToken(auth.RequireBearerToken(tokenInfo, nil)(streams))
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

type identityKey struct{}

// requireToken lets through requests whose bearer token is a valid JWT for
// this resource. Others get 401 with a challenge that points to the
// metadata, which is how an MCP client finds where to sign in; when a token
// was sent, the challenge also says what was wrong with it.
func (s *Server) requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			s.refuse(w, "", "no access token; sign in and send Authorization: Bearer <token>, a token issued for "+s.cfg.Resource, agenda.Identity{})
			return
		}
		scheme, token, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			s.refuse(w, "invalid_token", `the Authorization header must be "Bearer <access token>"`, agenda.Identity{})
			return
		}
		id, err := s.cfg.Verifier.VerifyJWT(r.Context(), strings.TrimSpace(token), s.cfg.Resource)
		switch agenda.ErrorCode(err) {
		case "":
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), identityKey{}, id)))
		case agenda.EUNAUTHORIZED:
			s.refuse(w, "invalid_token", agenda.ErrorMessage(err), id)
		case agenda.EUNAVAILABLE:
			w.Header().Set("Retry-After", strconv.Itoa(agenda.RetryAfterUnavailable))
			http.Error(w, agenda.ErrorMessage(err), http.StatusServiceUnavailable)
		default:
			s.cfg.Logger.Error("mcp: token verification failed", "err", err)
			http.Error(w, agenda.ErrorMessage(err), http.StatusInternalServerError)
		}
	})
}

// refuse answers 401 (RFC 6750, RFC 9728). Without a token there is no
// error code, as RFC 6750 asks; claimed is what a refused token says of
// itself, for the log.
func (s *Server) refuse(w http.ResponseWriter, code, description string, claimed agenda.Identity) {
	challenge := fmt.Sprintf(`resource_metadata=%q, scope=%q`, s.cfg.MetadataURL, agenda.ScopeRead+" "+agenda.ScopeWrite)
	if code != "" {
		challenge = fmt.Sprintf(`error=%q, error_description=%q, `, code, headerSafe(description)) + challenge
		s.cfg.Logger.Info("mcp: access token refused", "reason", description, "token_client_id", claimed.ClientID)
	}
	w.Header().Set("WWW-Authenticate", "Bearer "+challenge)
	http.Error(w, description, http.StatusUnauthorized)
}

// headerSafe keeps to the characters RFC 6750 allows in error_description:
// printable ASCII without " and \.
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

// tokenInfo hands the identity requireToken established to the SDK, which
// gives it to the tool call the request carries (and, were sessions on,
// would bind each session to its user). The SDK's RequireBearerToken is the
// way to set it; it cannot say why a token was refused, so refusals happen
// before it.
func tokenInfo(ctx context.Context, _ string, _ *http.Request) (*auth.TokenInfo, error) {
	id, ok := ctx.Value(identityKey{}).(agenda.Identity)
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
