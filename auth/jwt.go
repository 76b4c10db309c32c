package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"

	"github.com/agenda-gpt/agenda"
)

// signingAlgs are the algorithms accepted on access tokens: Logto signs with
// ES384 by default and may use RS256 and others after a key rotation.
var signingAlgs = []string{
	oidc.ES256, oidc.ES384, oidc.ES512,
	oidc.RS256, oidc.RS384, oidc.RS512,
	oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA,
}

// verifyJWT checks signature, issuer, audience, expiry and not-before with
// go-oidc, then reads the access token claims Logto sets.
func (a *Authenticator) verifyJWT(ctx context.Context, d *discovered, token, audience string) (agenda.Identity, error) {
	verifier := oidc.NewVerifier(d.issuer, d.jwks, &oidc.Config{
		ClientID:             audience,
		SupportedSigningAlgs: signingAlgs,
		Now:                  a.now,
	})
	fetch := &fetchOutcome{}
	tok, err := verifier.Verify(context.WithValue(ctx, fetchOutcomeKey{}, fetch), token)
	if err != nil {
		claimed := unverifiedClaims(token)
		return claimed, a.explainJWTError(err, fetch, claimed, d.issuer, audience)
	}
	var claims struct {
		Scope    string `json:"scope"`
		ClientID string `json:"client_id"`
	}
	if err := tok.Claims(&claims); err != nil {
		return agenda.Identity{}, agenda.Errorf(agenda.EUNAUTHORIZED, "the access token's claims cannot be read; sign in again")
	}
	if tok.Subject == "" {
		return agenda.Identity{}, agenda.Errorf(agenda.EUNAUTHORIZED, "the access token names no user (no sub); sign in again")
	}
	return agenda.Identity{
		UserID:    tok.Subject,
		ClientID:  claims.ClientID,
		Scopes:    append([]string{}, strings.Fields(claims.Scope)...),
		ExpiresAt: tok.Expiry,
		Audience:  tok.Audience,
	}, nil
}

// explainJWTError turns go-oidc's error into a message that tells the client
// (and the builder reading the log) what to change.
func (a *Authenticator) explainJWTError(err error, fetch *fetchOutcome, claimed agenda.Identity, issuer, audience string) error {
	var expired *oidc.TokenExpiredError
	msg := err.Error()
	switch {
	case fetch.failed:
		return agenda.Errorf(agenda.EUNAVAILABLE, "the identity provider's signing keys cannot be fetched; try again shortly")
	case errors.As(err, &expired):
		return agenda.Errorf(agenda.EUNAUTHORIZED, "the access token expired at %s; refresh it or sign in again", expired.Expiry.UTC().Format(time.RFC3339))
	case strings.Contains(msg, "expected audience"):
		return agenda.Errorf(agenda.EUNAUTHORIZED,
			"the access token is for audience %q, but this endpoint expects %q (compared character for character: check a trailing slash); request the token for %s",
			strings.Join(claimed.Audience, " "), audience, audience)
	case strings.Contains(msg, "issued by a different provider"):
		return agenda.Errorf(agenda.EUNAUTHORIZED,
			"the access token was issued by another issuer than %s; check that LOGTO_ENDPOINT names the same domain (custom or default) the client signs in with", issuer)
	case strings.Contains(msg, "nbf"):
		return agenda.Errorf(agenda.EUNAUTHORIZED, "the access token is not valid yet (nbf in the future); check the clocks, then sign in again")
	case strings.Contains(msg, "malformed") || strings.Contains(msg, "unmarshal"):
		return agenda.Errorf(agenda.EUNAUTHORIZED, "the access token is not a well-formed JWT; sign in again")
	default:
		return agenda.Errorf(agenda.EUNAUTHORIZED, "the access token's signature does not verify against the identity provider's keys; sign in again")
	}
}

// unverifiedClaims reads what a JWT says of itself, without trusting it: for
// error messages and logs only.
func unverifiedClaims(token string) agenda.Identity {
	parsed, err := jwt.ParseSigned(token, joseAlgs())
	if err != nil {
		return agenda.Identity{}
	}
	var c struct {
		jwt.Claims
		ClientID string `json:"client_id"`
	}
	if err := parsed.UnsafeClaimsWithoutVerification(&c); err != nil {
		return agenda.Identity{}
	}
	id := agenda.Identity{ClientID: c.ClientID, Audience: c.Audience}
	if c.Expiry != nil {
		id.ExpiresAt = c.Expiry.Time()
	}
	return id
}

func joseAlgs() []jose.SignatureAlgorithm {
	out := make([]jose.SignatureAlgorithm, len(signingAlgs))
	for i, s := range signingAlgs {
		out[i] = jose.SignatureAlgorithm(s)
	}
	return out
}

// keySet holds the provider's signing keys. A token signed with a key it
// does not hold makes it fetch the set again (a key rotation), but at most
// once per refetch interval, so tokens with made-up key ids cannot turn
// into a stream of requests to the provider. A failed fetch is reported
// through the context's fetchOutcome: a 503, not a bad signature.
type keySet struct {
	client  *http.Client
	url     string
	timeout time.Duration // of one fetch, apart from the discovery before it
	now     func() time.Time
	refetch *rate.Limiter
	flight  singleflight.Group

	mu       sync.Mutex
	keys     *oidc.StaticKeySet // nil until the first fetch succeeds
	failed   error              // the last fetch's error, while there are no keys
	failedAt time.Time
}

type fetchOutcomeKey struct{}

type fetchOutcome struct{ failed bool }

func newKeySet(client *http.Client, jwksURL string, timeout, every time.Duration, now func() time.Time) *keySet {
	return &keySet{client: client, url: jwksURL, timeout: timeout, now: now, refetch: rate.NewLimiter(rate.Every(every), 1)}
}

func (k *keySet) VerifySignature(ctx context.Context, token string) ([]byte, error) {
	k.mu.Lock()
	keys, failed, failedAt := k.keys, k.failed, k.failedAt
	k.mu.Unlock()
	// Without keys, a failed fetch is not retried sooner than discovery
	// would be: an outage must not turn every request into a fetch.
	if keys == nil && failed != nil && k.now().Sub(failedAt) < discoveryRetry {
		if f, ok := ctx.Value(fetchOutcomeKey{}).(*fetchOutcome); ok {
			f.failed = true
		}
		return nil, failed
	}
	if keys != nil {
		payload, err := keys.VerifySignature(ctx, token)
		if err == nil || !k.refetch.AllowN(k.now(), 1) {
			return payload, err
		}
	}
	keys, err := k.fetch(ctx)
	if err != nil {
		if f, ok := ctx.Value(fetchOutcomeKey{}).(*fetchOutcome); ok {
			f.failed = true
		}
		return nil, err
	}
	return keys.VerifySignature(ctx, token)
}

// fetch downloads the key set, once for all concurrent callers.
func (k *keySet) fetch(ctx context.Context) (*oidc.StaticKeySet, error) {
	v, err, _ := k.flight.Do("", func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), k.timeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
		if err != nil {
			return nil, err
		}
		resp, err := k.client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("fetching keys: %w", redactURLError(err))
		}
		defer resp.Body.Close()
		var set jose.JSONWebKeySet
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("fetching keys: status %d", resp.StatusCode)
		}
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
			return nil, fmt.Errorf("fetching keys: %w", err)
		}
		keys := &oidc.StaticKeySet{}
		for _, key := range set.Keys {
			if key.Use == "" || key.Use == "sig" {
				keys.PublicKeys = append(keys.PublicKeys, key.Key)
			}
		}
		k.mu.Lock()
		k.keys, k.failed = keys, nil
		k.mu.Unlock()
		return keys, nil
	})
	if err != nil {
		k.mu.Lock()
		k.failed, k.failedAt = err, k.now()
		k.mu.Unlock()
		return nil, err
	}
	return v.(*oidc.StaticKeySet), nil
}
