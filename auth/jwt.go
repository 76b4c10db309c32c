package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

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

// keySet wraps go-oidc's RemoteKeySet (which caches keys and refetches on an
// unknown key id) to tell "the keys could not be fetched" (503) from "the
// signature is wrong" (401): go-oidc flattens that difference into a string.
type keySet struct {
	remote *oidc.RemoteKeySet
}

type fetchOutcomeKey struct{}

type fetchOutcome struct{ failed bool }

func newKeySet(client *http.Client, jwksURL string) *keySet {
	return &keySet{remote: oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), client), jwksURL)}
}

func (k *keySet) VerifySignature(ctx context.Context, token string) ([]byte, error) {
	payload, err := k.remote.VerifySignature(ctx, token)
	if err != nil && strings.HasPrefix(err.Error(), "fetching keys") {
		if f, ok := ctx.Value(fetchOutcomeKey{}).(*fetchOutcome); ok {
			f.failed = true
		}
	}
	return payload, err
}
