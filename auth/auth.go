// Package auth turns a bearer token into an agenda.Identity, the way Logto
// requires: opaque tokens are checked at the provider's userinfo endpoint
// (Logto's /oidc/me), JWTs for an API resource are verified locally against
// the provider's JWKS, because Logto's userinfo rejects any token that has an
// audience. Accepted and rejected tokens are cached by their SHA-256, so the
// provider's rate limit does not cap the app.
package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"

	"github.com/agenda-gpt/agenda"
)

// Config says where the provider is and how to talk to it.
type Config struct {
	Issuer      string        // e.g. https://tenant.logto.app/oidc
	APIResource string        // LOGTO_API_RESOURCE; empty: JWTs are refused with a hint
	Timeout     time.Duration // for every outgoing call; default 3s
	CacheTTL    time.Duration // how long an accepted token is trusted; default 60s
	CacheSize   int           // entries; default 10,000
	HTTPClient  *http.Client  // default: a client with Timeout
	Logger      *slog.Logger

	// RefusalRate and RefusalBurst (AUTH_FAILURE_RATE, AUTH_FAILURE_BURST)
	// bound, per client address, the refused opaque tokens the provider is
	// asked about: past the burst, an address gets 429 for tokens the
	// cache does not know until its budget refills. Default 1/s, 100.
	RefusalRate  float64
	RefusalBurst int
	// AllowedClients (LOGTO_ALLOWED_CLIENTS), when set, are the only
	// applications whose tokens the API accepts: a JWT's client_id must be
	// one of them. Logto's userinfo answer does not say which application
	// an opaque token was issued to, so with AllowedClients set opaque
	// tokens are refused. The MCP endpoint's clients register themselves,
	// so its tokens (ForAudience) are not bound.
	AllowedClients []string
	// KeyRefetch spaces the key set's refetches for unknown signing keys
	// (a rotation, or a forged kid); default 30s. The first fetch, and the
	// first refetch after a quiet interval, happen at once.
	KeyRefetch time.Duration
}

// rejectionTTL is how long a refused token stays refused without asking the
// provider again: short, so a token that becomes valid is not held back.
const rejectionTTL = 5 * time.Second

// refusalBudgets is how many client addresses have a refusal budget at
// once; the least recently refused are forgotten first.
const refusalBudgets = 10_000

// discoveryRetry spaces discovery attempts while the provider is down.
const discoveryRetry = 2 * time.Second

// Authenticator validates bearer tokens. It is safe for concurrent use.
type Authenticator struct {
	cfg        Config
	cache      *lru.Cache[[sha256.Size]byte, cached]
	flight     singleflight.Group
	refusals   *expirable.LRU[string, *rate.Limiter]
	refusalsMu sync.Mutex
	now        func() time.Time

	mu          sync.Mutex
	provider    *discovered
	lastAttempt time.Time
	lastErr     error
}

type cached struct {
	id    agenda.Identity
	err   error
	until time.Time
}

// discovered is what the app learns from the discovery document.
type discovered struct {
	userinfoURL string
	jwks        *keySet
	issuer      string
	provider    *oidc.Provider
}

// New returns an Authenticator. It does not contact the provider: discovery
// happens on first use and is retried while the provider is unreachable, so
// the server starts (and answers health checks) when Logto is down.
func New(cfg Config) (*Authenticator, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("auth: no issuer")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 3 * time.Second
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = 60 * time.Second
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 10_000
	}
	if cfg.RefusalRate <= 0 {
		cfg.RefusalRate = 1
	}
	if cfg.RefusalBurst <= 0 {
		cfg.RefusalBurst = 100
	}
	if cfg.KeyRefetch <= 0 {
		cfg.KeyRefetch = 30 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: cfg.Timeout}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c, err := lru.New[[sha256.Size]byte, cached](cfg.CacheSize)
	if err != nil {
		return nil, fmt.Errorf("auth: cache: %w", err)
	}
	// An address's budget is forgotten once it would have refilled.
	refill := time.Duration(float64(cfg.RefusalBurst)/cfg.RefusalRate*float64(time.Second)) + time.Second
	return &Authenticator{
		cfg: cfg, cache: c, now: time.Now,
		refusals: expirable.NewLRU[string, *rate.Limiter](refusalBudgets, nil, refill),
	}, nil
}

// Authenticate returns the identity a bearer token stands for, for a
// request from clientAddr. Errors are *agenda.Error: EUNAUTHORIZED with a
// message that says what was wrong, EUNAVAILABLE when the provider cannot
// be reached, ERATELIMIT when clientAddr has sent too many refused tokens.
// On failure the returned identity carries what the token says of itself
// (client id, expiry) for the log, unverified.
func (a *Authenticator) Authenticate(ctx context.Context, token, clientAddr string) (agenda.Identity, error) {
	if looksLikeJWT(token) {
		if a.cfg.APIResource == "" {
			return unverifiedClaims(token), agenda.Errorf(agenda.EUNAUTHORIZED,
				"the access token is a JWT (issued for an API resource), but the app has no LOGTO_API_RESOURCE set; set it to the API resource indicator, or stop issuing JWTs (remove the Default API) so Logto issues opaque tokens")
		}
		id, err := a.VerifyJWT(ctx, token, a.cfg.APIResource)
		if err == nil && len(a.cfg.AllowedClients) > 0 && !slices.Contains(a.cfg.AllowedClients, id.ClientID) {
			return id, agenda.Errorf(agenda.EUNAUTHORIZED,
				"the access token was issued to the application %q, which this app does not accept; sign in through the GPT's own Logto application, or add its App ID to LOGTO_ALLOWED_CLIENTS", id.ClientID)
		}
		return id, err
	}
	if len(a.cfg.AllowedClients) > 0 {
		// Checked before the cache and the provider: no lookup can say
		// whose an opaque token is.
		return agenda.Identity{}, agenda.Errorf(agenda.EUNAUTHORIZED,
			"the access token is opaque, and with LOGTO_ALLOWED_CLIENTS set this app accepts only JWTs, whose issuing application it can check; mark the API resource as Default API in Logto and remove openid from the GPT's scope (scope: read write offline_access)")
	}
	return a.cachedCheck(ctx, token, "opaque", func(ctx context.Context) (agenda.Identity, error) {
		// Each unknown opaque token costs a call to the provider, whose
		// rate limit every user shares: an address that keeps sending
		// refused ones is not let through to it.
		// The budget is reserved before the call, so tokens sent at once
		// cannot all pass the check, and given back unless refused.
		now := a.now()
		r := a.refusalBudget(clientAddr).ReserveN(now, 1)
		if r.DelayFrom(now) > 0 {
			r.CancelAt(now)
			wait := int(math.Ceil(1 / a.cfg.RefusalRate))
			return agenda.Identity{}, agenda.Errorf(agenda.ERATELIMIT,
				"too many refused access tokens from this address; wait %d second(s), then send a valid token (refresh it or sign in again)", wait)
		}
		d, err := a.discover(ctx)
		if err != nil {
			r.CancelAt(a.now())
			return agenda.Identity{}, err
		}
		id, err := a.userinfo(ctx, d.userinfoURL, token)
		if agenda.ErrorCode(err) != agenda.EUNAUTHORIZED {
			r.CancelAt(a.now())
		}
		return id, err
	})
}

// refusalBudget is the token bucket of refused tokens for one address; an
// IPv6 address counts by its /64, which one client usually holds whole.
func (a *Authenticator) refusalBudget(addr string) *rate.Limiter {
	if ip, err := netip.ParseAddr(addr); err == nil && ip.Is6() && !ip.Is4In6() {
		if p, err := ip.Prefix(64); err == nil {
			addr = p.String()
		}
	}
	a.refusalsMu.Lock()
	defer a.refusalsMu.Unlock()
	if l, ok := a.refusals.Get(addr); ok {
		return l
	}
	l := rate.NewLimiter(rate.Limit(a.cfg.RefusalRate), a.cfg.RefusalBurst)
	a.refusals.Add(addr, l)
	return l
}

// VerifyJWT verifies a JWT access token locally (signature against the JWKS,
// issuer, audience, expiry, not-before) for the given audience. The MCP
// endpoint calls it with its own resource identifier.
func (a *Authenticator) VerifyJWT(ctx context.Context, token, audience string) (agenda.Identity, error) {
	if !looksLikeJWT(token) {
		return agenda.Identity{}, agenda.Errorf(agenda.EUNAUTHORIZED,
			"expected a JWT access token for audience %q but got an opaque token; request the token with resource=%s", audience, audience)
	}
	return a.cachedCheck(ctx, token, "jwt:"+audience, func(ctx context.Context) (agenda.Identity, error) {
		d, err := a.discover(ctx)
		if err != nil {
			return unverifiedClaims(token), err
		}
		return a.verifyJWT(ctx, d, token, audience)
	})
}

// Audience authenticates only JWTs issued for one audience: the MCP
// endpoint's resource.
type Audience struct {
	a        *Authenticator
	audience string
}

// ForAudience returns an authenticator of JWTs for audience.
func (a *Authenticator) ForAudience(audience string) Audience { return Audience{a, audience} }

// Authenticate verifies token as a JWT for the audience. It costs the
// provider nothing but the bounded key set refetches, so clientAddr has no
// budget to spend.
func (x Audience) Authenticate(ctx context.Context, token, _ string) (agenda.Identity, error) {
	return x.a.VerifyJWT(ctx, token, x.audience)
}

// cachedCheck answers from the cache, or runs check once for all concurrent
// callers with the same token and caches the outcome. Unavailability is
// never cached: the next call tries again.
func (a *Authenticator) cachedCheck(ctx context.Context, token, kind string, check func(context.Context) (agenda.Identity, error)) (agenda.Identity, error) {
	key := sha256.Sum256([]byte(kind + "\x00" + token))
	now := a.now()
	if c, ok := a.cache.Get(key); ok && now.Before(c.until) {
		return c.id, c.err
	}
	v, err, _ := a.flight.Do(string(key[:]), func() (any, error) {
		// Detached from the first caller's context, so one cancelled request
		// does not fail the others waiting on the same token.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.Timeout)
		defer cancel()
		id, err := check(cctx)
		if until, ok := a.cacheUntil(id, err); ok {
			a.cache.Add(key, cached{id: id, err: err, until: until})
		}
		return id, err
	})
	return v.(agenda.Identity), err
}

func (a *Authenticator) cacheUntil(id agenda.Identity, err error) (time.Time, bool) {
	now := a.now()
	switch agenda.ErrorCode(err) {
	case "":
		until := now.Add(a.cfg.CacheTTL)
		if !id.ExpiresAt.IsZero() && id.ExpiresAt.Before(until) {
			until = id.ExpiresAt
		}
		return until, until.After(now)
	case agenda.EUNAUTHORIZED:
		return now.Add(rejectionTTL), true
	default:
		return time.Time{}, false
	}
}

// Provider returns the provider's discovery: the web sign-in's, made by the
// same lazy, retrying discovery as the token checks. Its error is
// EUNAVAILABLE while the provider cannot be reached.
func (a *Authenticator) Provider(ctx context.Context) (*oidc.Provider, error) {
	// The browser may go away; the discovery should not fail for that.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.Timeout)
	defer cancel()
	d, err := a.discover(ctx)
	if err != nil {
		return nil, err
	}
	return d.provider, nil
}

// discover fetches the discovery document once, and again after a failure
// at most every discoveryRetry.
func (a *Authenticator) discover(ctx context.Context) (*discovered, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.provider != nil {
		return a.provider, nil
	}
	if a.lastErr != nil && a.now().Sub(a.lastAttempt) < discoveryRetry {
		return nil, a.lastErr
	}
	a.lastAttempt = a.now()
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, a.cfg.HTTPClient), a.cfg.Issuer)
	if err != nil {
		a.cfg.Logger.Warn("identity provider discovery failed", "issuer", a.cfg.Issuer, "err", err)
		a.lastErr = agenda.Errorf(agenda.EUNAVAILABLE, "the identity provider cannot be reached; try again shortly")
		return nil, a.lastErr
	}
	var meta struct {
		UserinfoURL string `json:"userinfo_endpoint"`
		JWKSURL     string `json:"jwks_uri"`
	}
	if err := p.Claims(&meta); err != nil || meta.UserinfoURL == "" || meta.JWKSURL == "" {
		a.cfg.Logger.Error("identity provider discovery lacks userinfo_endpoint or jwks_uri", "issuer", a.cfg.Issuer)
		a.lastErr = agenda.Errorf(agenda.EUNAVAILABLE, "the identity provider is misconfigured; try again later")
		return nil, a.lastErr
	}
	a.provider = &discovered{
		userinfoURL: meta.UserinfoURL,
		jwks:        newKeySet(a.cfg.HTTPClient, meta.JWKSURL, a.cfg.Timeout, a.cfg.KeyRefetch, a.now),
		issuer:      a.cfg.Issuer,
		provider:    p,
	}
	a.lastErr = nil
	return a.provider, nil
}

// looksLikeJWT tells a compact JWS (three base64url parts) from an opaque
// token. Logto's opaque tokens contain no dots.
func looksLikeJWT(token string) bool {
	return strings.Count(token, ".") == 2 && !strings.ContainsAny(token, " \t")
}
