// Package web serves the browser side of agenda: the server-rendered pages
// (the landing page for GPT builders, the agenda, the privacy policy), the
// embedded static assets, and the Logto sign-in that gives a browser a
// session. The agenda itself is drawn in the browser from /ws and
// /api/events; the API layer asks this package who a cookie-carrying request
// acts for (Identity) and whether a state-changing one came from the app's
// own pages (CheckCrossOrigin).
package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/agenda-gpt/agenda"
)

// Config is what the web UI needs from the environment.
type Config struct {
	// BaseURL is the public URL the app is served at, e.g.
	// https://agenda.example.com. The sign-in callback is BaseURL/callback,
	// the post-sign-out redirect is BaseURL/, and the session cookie is
	// Secure when the scheme is https.
	BaseURL *url.URL

	// Issuer, ClientID and ClientSecret identify the Logto "traditional web"
	// application of the browser UI (a separate one from the GPT's), e.g.
	// Issuer https://tenant.logto.app/oidc. Browser sign-in is off unless
	// ClientID, ClientSecret and SessionSecret are all set; the pages still
	// render and say what to set.
	Issuer       string
	ClientID     string
	ClientSecret string

	// SessionSecret (at least 32 characters) keys the seals of the sign-in
	// cookie and of the id_token kept for sign-out; see keys.go.
	SessionSecret string

	// GPT holds the values a GPT builder pastes into the action editor; the
	// signed-out page shows them.
	GPT GPTSettings

	// AllowedOrigins are more browser origins (scheme://host[:port]) that
	// CheckCrossOrigin accepts besides BaseURL's (ALLOWED_ORIGINS).
	AllowedOrigins []string

	// Contact tells people how to reach the operator to have all their data
	// deleted (an e-mail address or a URL; PRIVACY_CONTACT). Shown on the
	// privacy page when set.
	Contact string

	// Discover returns the identity provider's discovery (package auth's
	// Provider: one lazy, retrying discovery for the whole app). Required
	// when sign-in is on.
	Discover func(ctx context.Context) (*oidc.Provider, error)

	// HTTPClient makes the token exchange with the identity provider. It must have a timeout; nil means a client with a
	// 10-second one.
	HTTPClient *http.Client

	// Logger receives configuration warnings and sign-in failures; nil
	// discards them.
	Logger *slog.Logger
}

// GPTSettings are the values of the GPT action editor, shown to builders.
type GPTSettings struct {
	SchemaURL        string // "Import from URL" in the schema section
	AuthorizationURL string // Logto's /oidc/auth
	TokenURL         string // Logto's /oidc/token
	Scope            string // never empty: an empty scope breaks ChatGPT's flow
	PrivacyURL       string // defaults to BaseURL/privacy
}

// Settings the operator sets to turn browser sign-in on; named as the
// environment variables cmd/agenda reads.
const setupSettings = "LOGTO_APP_ID, LOGTO_APP_SECRET and SESSION_SECRET"

const (
	sessionLifetime = 14 * 24 * time.Hour
	signInTimeout   = 15 * time.Minute // how long an unfinished sign-in is remembered
	exchangeTimeout = 10 * time.Second // the token exchange at the callback
	minSecretLength = 32
)

// Web serves the pages and the browser sign-in. Build it with New.
type Web struct {
	cfg      Config
	log      *slog.Logger
	client   *http.Client
	mux      *http.ServeMux
	sessions *scs.SessionManager // nil when sign-in is off
	missing  []string            // the settings sign-in still needs, when off
	keys     keys

	pages  map[string]*template.Template
	assets map[string]asset

	home        string // BaseURL with a trailing slash: the post-sign-out redirect
	callbackURL string
	csp         string
	crossOrigin *http.CrossOriginProtection
}

// New checks cfg and builds the web UI around sessions, the caller's
// persistent session store (it may be nil when sign-in is off). It
// does not contact the identity provider: discovery happens on the first
// sign-in, so the app starts while the provider is down.
func New(cfg Config, sessions scs.Store) (*Web, error) {
	if cfg.BaseURL == nil || cfg.BaseURL.Host == "" || (cfg.BaseURL.Scheme != "https" && cfg.BaseURL.Scheme != "http") {
		return nil, errors.New("web: BaseURL must be an absolute http or https URL, like https://agenda.example.com")
	}
	w := &Web{
		cfg:    cfg,
		log:    cfg.Logger,
		client: cfg.HTTPClient,
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	if w.client == nil {
		w.client = &http.Client{Timeout: 10 * time.Second}
	}
	w.home = strings.TrimSuffix(cfg.BaseURL.String(), "/") + "/"
	w.callbackURL = w.home + "callback"
	// The standard library's check reads the browser's Sec-Fetch-Site (or,
	// from older browsers, Origin against Host): no token to keep in the
	// page. BaseURL's origin is trusted too, for a proxy that rewrites Host.
	w.crossOrigin = http.NewCrossOriginProtection()
	for _, o := range append([]string{cfg.BaseURL.Scheme + "://" + cfg.BaseURL.Host}, cfg.AllowedOrigins...) {
		if err := w.crossOrigin.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("web: allowed origin %q: %w", o, err)
		}
	}
	if w.cfg.GPT.PrivacyURL == "" {
		w.cfg.GPT.PrivacyURL = w.home + "privacy"
	}

	if w.missing = missingSettings(cfg); len(w.missing) > 0 {
		w.log.Warn("web: browser sign-in is off; set "+setupSettings+" to turn it on",
			"missing", strings.Join(w.missing, ", "), "redirect_uri", w.callbackURL, "post_sign_out_redirect_uri", w.home)
	} else if err := w.enable(sessions); err != nil {
		return nil, err
	}

	var err error
	if w.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	if w.pages, err = w.parsePages(); err != nil {
		return nil, err
	}
	w.csp = w.contentSecurityPolicy()
	w.mux = w.routes()
	return w, nil
}

// enable checks the sign-in settings and sets up the session manager.
func (w *Web) enable(store scs.Store) error {
	cfg := w.cfg
	if len(cfg.SessionSecret) < minSecretLength {
		return fmt.Errorf("web: SESSION_SECRET must be at least %d characters of random data (e.g. the output of `openssl rand -base64 32`)", minSecretLength)
	}
	if u, err := url.Parse(cfg.Issuer); err != nil || u.Host == "" {
		return fmt.Errorf("web: the issuer %q is not an absolute URL; it is the Logto endpoint followed by /oidc, like https://tenant.logto.app/oidc", cfg.Issuer)
	}
	if store == nil {
		return errors.New("web: a session store is required when browser sign-in is on")
	}
	if cfg.Discover == nil {
		return errors.New("web: Discover is required when browser sign-in is on")
	}
	var err error
	if w.keys, err = deriveKeys(cfg.SessionSecret); err != nil {
		return err
	}

	sm := scs.New()
	sm.Store = store
	sm.Lifetime = sessionLifetime
	// The store keeps SHA-256 hashes of tokens, so a copy of the database
	// holds no usable session.
	sm.HashTokenInStore = true
	sm.Cookie.Name = "agenda_session"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode // sent on the provider's redirect back to /callback
	sm.Cookie.Path = "/"
	if cfg.BaseURL.Scheme == "https" {
		sm.Cookie.Secure = true
		// __Host- makes browsers refuse the cookie unless it is Secure,
		// host-only and Path=/, so no sibling subdomain can plant one.
		sm.Cookie.Name = "__Host-agenda_session"
	}
	sm.ErrorFunc = func(rw http.ResponseWriter, r *http.Request, err error) {
		w.log.Error("web: session store", "err", err, "path", r.URL.Path)
		w.renderError(rw, r, http.StatusInternalServerError, "Something went wrong",
			"Your session could not be loaded. Try again in a moment.")
	}
	w.sessions = sm
	return nil
}

// missingSettings names the settings browser sign-in needs that cfg lacks.
func missingSettings(cfg Config) []string {
	var missing []string
	for _, s := range []struct{ name, value string }{
		{"LOGTO_APP_ID", cfg.ClientID},
		{"LOGTO_APP_SECRET", cfg.ClientSecret},
		{"SESSION_SECRET", cfg.SessionSecret},
	} {
		if s.value == "" {
			missing = append(missing, s.name)
		}
	}
	return missing
}

// Enabled reports whether browser sign-in is on.
func (w *Web) Enabled() bool { return w.sessions != nil }

// ServeHTTP serves the pages, the sign-in routes and /static/.
func (w *Web) ServeHTTP(rw http.ResponseWriter, r *http.Request) { w.mux.ServeHTTP(rw, r) }

// routes lists every path the web UI serves.
func (w *Web) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", w.page(w.handleHome))
	mux.Handle("GET /privacy", w.page(w.handlePrivacy))
	mux.Handle("GET /sign-in", w.page(w.handleSignIn))
	mux.Handle("GET /callback", w.page(w.handleCallback))
	mux.Handle("GET /sign-out", w.page(w.handleSignOutPage))
	mux.Handle("POST /sign-out", w.page(w.handleSignOut))
	mux.HandleFunc("GET /static/{name...}", w.handleStatic)
	// Browsers ask for it on pages that name no icon, like a JSON answer.
	mux.Handle("GET /favicon.ico", http.RedirectHandler("/static/icon.svg", http.StatusMovedPermanently))
	mux.Handle("/", w.page(w.handleNotFound))
	return mux
}

// page loads and saves the session around a page handler when sign-in is on.
func (w *Web) page(h http.HandlerFunc) http.Handler {
	if w.sessions == nil {
		return h
	}
	return w.sessions.LoadAndSave(h)
}

// user is the signed-in person as the pages show them.
type user struct {
	ID   string
	Name string
}

// sessionUser returns the signed-in user of a request that went through
// page, or nil.
func (w *Web) sessionUser(ctx context.Context) *user {
	if w.sessions == nil {
		return nil
	}
	id := w.sessions.GetString(ctx, keyUserID)
	if id == "" {
		return nil
	}
	return &user{ID: id, Name: w.sessions.GetString(ctx, keyName)}
}

// Session keys. Only what the UI needs is kept: no access or refresh token.
const (
	keyUserID  = "user_id" // Logto subject id
	keyName    = "name"    // display name
	keyIDToken = "id_token_sealed"
)

// Identity returns the person a request's session cookie belongs to. It loads
// the session itself, so the API can call it without the session middleware.
// A browser session acts as the whole user: Scopes is nil.
func (w *Web) Identity(r *http.Request) (agenda.Identity, bool) {
	ctx, ok := w.loadSession(r)
	if !ok {
		return agenda.Identity{}, false
	}
	u := w.sessionUser(ctx)
	if u == nil {
		return agenda.Identity{}, false
	}
	return agenda.Identity{UserID: u.ID, Name: u.Name, ExpiresAt: w.sessions.Deadline(ctx)}, true
}

// loadSession loads the session named by r's cookie into a context. It
// reports false when sign-in is off, there is no cookie or the store fails.
func (w *Web) loadSession(r *http.Request) (context.Context, bool) {
	if w.sessions == nil {
		return nil, false
	}
	c, err := r.Cookie(w.sessions.Cookie.Name)
	if err != nil || c.Value == "" {
		return nil, false
	}
	ctx, err := w.sessions.Load(r.Context(), c.Value)
	if err != nil {
		w.log.Error("web: load session", "err", err)
		return nil, false
	}
	return ctx, true
}

// CheckCrossOrigin guards a state-changing request made with the session
// cookie: a page of another origin may not make it, unless its origin is in
// AllowedOrigins. It returns an *agenda.Error with code EFORBIDDEN then.
func (w *Web) CheckCrossOrigin(r *http.Request) error {
	if err := w.crossOrigin.Check(r); err != nil {
		return agenda.Errorf(agenda.EFORBIDDEN, "cross-origin request refused: only this app's own pages may change the agenda with its cookie; reload the page, or add the page's origin to ALLOWED_ORIGINS")
	}
	return nil
}
