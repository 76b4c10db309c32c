package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/agenda-gpt/agenda"
	"github.com/agenda-gpt/agenda/api"
	"github.com/agenda-gpt/agenda/auth"
	"github.com/agenda-gpt/agenda/config"
	"github.com/agenda-gpt/agenda/contract"
	"github.com/agenda-gpt/agenda/devidp"
	"github.com/agenda-gpt/agenda/mcpserver"
	"github.com/agenda-gpt/agenda/realtime"
	"github.com/agenda-gpt/agenda/store"
	"github.com/agenda-gpt/agenda/store/postgres"
	"github.com/agenda-gpt/agenda/store/sqlite"
	"github.com/agenda-gpt/agenda/web"
)

// Server timeouts. Requests carry their own 30 s deadline (REQUEST_TIMEOUT);
// these bound what happens outside a handler, like a client that sends its
// headers a byte at a time.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 60 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10
	shutdownTimeout   = 25 * time.Second
)

// httpLimits are the http.Server's limits and the shutdown's grace period.
type httpLimits struct {
	readHeader, read, write, idle, shutdown time.Duration
	maxHeaderBytes                          int
}

// serverLimits returns the constants above, unless a test has set a.limits
// (to see a slow client cut off without waiting 10 s).
func (a *app) serverLimits() httpLimits {
	if a.limits != (httpLimits{}) {
		return a.limits
	}
	return defaultHTTPLimits()
}

func defaultHTTPLimits() httpLimits {
	return httpLimits{readHeaderTimeout, readTimeout, writeTimeout, idleTimeout, shutdownTimeout, maxHeaderBytes}
}

func runServe(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("settings:\n%w", err)
	}
	logger := newLogger(cfg, stderr)
	ln, err := net.Listen("tcp", listenAddress(cfg))
	if err != nil {
		return fmt.Errorf("listen on port %d: %w (set PORT to a free port)", cfg.Port, err)
	}
	return serve(ctx, cfg, ln, logger, stderr)
}

// listenAddress is every interface at PORT, but in development: the
// development provider signs in anyone, so the server then listens on
// BASE_URL's loopback host only, never on the network.
func listenAddress(cfg config.Config) string {
	host := ""
	if cfg.DevIdP() {
		host = cfg.BaseURL.Hostname()
	}
	return net.JoinHostPort(host, strconv.Itoa(cfg.Port))
}

// serve runs the app on ln until ctx ends, then shuts down gracefully:
// in-flight requests finish, WebSockets are closed with 1001.
func serve(ctx context.Context, cfg config.Config, ln net.Listener, logger *slog.Logger, out io.Writer) error {
	a, err := newApp(ctx, cfg, logger)
	if err != nil {
		ln.Close()
		return err
	}
	return serveApp(ctx, a, cfg, ln, logger, out)
}

// serveApp serves a until ctx ends, then closes it.
func serveApp(ctx context.Context, a *app, cfg config.Config, ln net.Listener, logger *slog.Logger, out io.Writer) error {
	defer a.close()

	lim := a.serverLimits()
	// A handler shortens the read deadline to its request's; it can only
	// shorten it if the server's is longer.
	lim.read = max(lim.read, cfg.RequestTimeout+lim.readHeader)
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: lim.readHeader,
		ReadTimeout:       lim.read,
		WriteTimeout:      lim.write,
		IdleTimeout:       lim.idle,
		MaxHeaderBytes:    lim.maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	srv.RegisterOnShutdown(a.hub.Close)

	logger.Info("agenda listening", "addr", ln.Addr().String(), "base_url", cfg.BaseURL.String(), "issuer", cfg.Issuer())
	if cfg.DevIdP() {
		logDevMode(logger, out, cfg)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), lim.shutdown)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// app is the wired application: everything serve needs to run and stop it.
type app struct {
	handler http.Handler
	store   *store.Store
	hub     *realtime.Hub
	auth    *auth.Authenticator
	idp     *devidp.Provider
	limits  httpLimits // zero: the constants; see serverLimits
}

func newApp(ctx context.Context, cfg config.Config, logger *slog.Logger) (_ *app, err error) {
	a := &app{hub: realtime.NewHub(realtime.Options{
		AllowedOrigins: cfg.Origins(), MaxPerUser: cfg.WSMaxPerUser, MaxConnections: webSocketCeiling(logger),
	})}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	if a.store, err = openStore(ctx, cfg.Database, a.hub, cfg.DBMaxConns, logger); err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	if a.auth, err = auth.New(auth.Config{
		Issuer: cfg.Issuer(), APIResource: cfg.LogtoAPIResource,
		Timeout: cfg.IdPTimeout, CacheTTL: cfg.TokenCacheTTL, CacheSize: cfg.TokenCacheSize,
		RefusalRate: cfg.AuthFailureRate, RefusalBurst: cfg.AuthFailureBurst, AllowedClients: cfg.AllowedClients,
		Logger: logger,
	}); err != nil {
		return nil, err
	}
	webCfg := web.Config{
		BaseURL: cfg.BaseURL, Issuer: cfg.Issuer(),
		ClientID: cfg.WebAppID, ClientSecret: cfg.WebAppSecret, SessionSecret: cfg.SessionSecret,
		GPT: web.GPTSettings{
			SchemaURL:        cfg.BaseURL.String() + "/openapi.yaml",
			AuthorizationURL: cfg.Issuer() + "/auth",
			TokenURL:         cfg.Issuer() + "/token",
			Scope:            gptScope(cfg),
			PrivacyURL:       cfg.BaseURL.String() + "/privacy",
		},
		AllowedOrigins: cfg.AllowedOrigins,
		Contact:        cfg.PrivacyContact,
		Discover:       a.auth.Provider,
		HTTPClient:     &http.Client{Timeout: 10 * time.Second},
		Logger:         logger,
	}
	if cfg.DevIdP() {
		if a.idp, err = newDevIdP(cfg, &webCfg); err != nil {
			return nil, err
		}
	}
	ui, err := web.New(webCfg, a.store.Sessions())
	if err != nil {
		return nil, err
	}
	spec, err := contract.Load()
	if err != nil {
		return nil, err
	}
	docs, err := spec.Served(cfg.BaseURL.String(), webCfg.GPT.AuthorizationURL, webCfg.GPT.TokenURL)
	if err != nil {
		return nil, err
	}
	mcp, err := mcpserver.New(mcpserver.Config{
		Events: a.store, Contract: spec,
		Resource: cfg.MCPResource, Issuer: cfg.Issuer(),
		MetadataURL: cfg.BaseURL.String() + "/.well-known/oauth-protected-resource/mcp",
		Timeout:     cfg.RequestTimeout, Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	deps := api.Deps{
		Events: a.store, Auth: a.auth, Hub: a.hub, Contract: spec, Documents: docs, Ready: a.store.Ping,
		Web: ui, MCP: mcp, MCPAuth: a.auth.ForAudience(cfg.MCPResource), Logger: logger,
		TrustedProxies: cfg.TrustedProxies, WebSocketsPerUser: cfg.WSMaxPerUser,
		RefusalRetryAfter: int(math.Ceil(1 / cfg.AuthFailureRate)),
		RateLimit:         cfg.RateLimit, RateBurst: cfg.RateBurst, RequestTimeout: cfg.RequestTimeout,
		HTTPS: cfg.BaseURL.Scheme == "https",
	}
	if ui.Enabled() {
		deps.Sessions = ui
	}
	if a.idp != nil {
		deps.IdP = a.idp
	}
	if a.handler, err = api.NewServer(deps); err != nil {
		return nil, err
	}
	return a, nil
}

// openStore opens the database engine databaseURL names.
func openStore(ctx context.Context, databaseURL string, pub agenda.Publisher, maxConns int, logger *slog.Logger) (*store.Store, error) {
	if store.IsPostgres(databaseURL) {
		return postgres.Open(ctx, databaseURL, pub, postgres.Options{MaxConns: maxConns, Logger: logger})
	}
	return sqlite.Open(ctx, databaseURL, pub, sqlite.Options{MaxConns: maxConns})
}

func (a *app) close() {
	if a.hub != nil {
		a.hub.Close()
	}
	if a.store != nil {
		a.store.Close()
	}
}

// gptScope is the scope a GPT builder enters: with an API resource, Logto
// issues JWTs only when openid is absent.
func gptScope(cfg config.Config) string {
	if cfg.LogtoAPIResource != "" {
		return "read write offline_access"
	}
	return "openid offline_access"
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
