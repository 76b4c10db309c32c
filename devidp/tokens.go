package devidp

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// accessToken is the record of an issued access token. A JWT carries it as
// claims; an opaque token is a random handle pointing to it.
type accessToken struct {
	id       string // the JWT's jti
	clientID string
	subject  string
	scopes   []string // a JWT's are the permissions it grants
	resource string   // a JWT's aud; "" for an opaque token or a JWT client's token without resource
	jwt      bool
	handle   string // the opaque token, once issued
	issued   time.Time
	expires  time.Time
}

type refreshToken struct {
	token    string
	clientID string
	subject  string
	scopes   []string
	resource string // granted at authorization
	authTime time.Time
	expires  time.Time
}

// refreshRequest is a refresh token being redeemed (op.RefreshTokenRequest).
// It is a copy: narrowing its scopes narrows the new access token only.
type refreshRequest struct{ refreshToken }

func (r *refreshRequest) GetAMR() []string                 { return amr(true) }
func (r *refreshRequest) GetAudience() []string            { return []string{r.clientID} }
func (r *refreshRequest) GetAuthTime() time.Time           { return r.authTime }
func (r *refreshRequest) GetClientID() string              { return r.clientID }
func (r *refreshRequest) GetScopes() []string              { return r.scopes }
func (r *refreshRequest) GetSubject() string               { return r.subject }
func (r *refreshRequest) SetCurrentScopes(scopes []string) { r.scopes = scopes }

func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.newAccessTokenLocked(ctx, req)
	if err != nil {
		return "", time.Time{}, err
	}
	return t.id, t.expires, nil
}

// CreateAccessAndRefreshTokens issues a refresh token with the access token
// after an authorization code, and keeps it on refresh; a public client's is
// rotated, as Logto's engine does.
func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.newAccessTokenLocked(ctx, req)
	if err != nil {
		return "", "", time.Time{}, err
	}
	if current == "" {
		a, ok := req.(*authRequest)
		if !ok {
			return "", "", time.Time{}, fmt.Errorf("devidp: no refresh token for a %T", req)
		}
		r := &refreshToken{
			token: newID(), clientID: a.req.ClientID, subject: a.subject, scopes: a.req.Scopes,
			resource: a.resource, authTime: a.authTime, expires: time.Now().Add(s.refreshTTL),
		}
		s.refreshTokens[r.token] = r
		return t.id, r.token, t.expires, nil
	}
	old, ok := s.refreshTokens[current]
	if !ok {
		return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("refresh token revoked")
	}
	if !s.clients[old.clientID].Public {
		return t.id, old.token, t.expires, nil
	}
	rotated := *old
	rotated.token = newID()
	delete(s.refreshTokens, old.token)
	s.refreshTokens[rotated.token] = &rotated
	return t.id, rotated.token, t.expires, nil
}

func (s *storage) TokenRequestByRefreshToken(_ context.Context, token string) (op.RefreshTokenRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.refreshTokens[token]
	if !ok || time.Now().After(r.expires) {
		return nil, errNotFound
	}
	return &refreshRequest{*r}, nil
}

// newAccessTokenLocked records an access token for a code or refresh grant.
func (s *storage) newAccessTokenLocked(ctx context.Context, req op.TokenRequest) (*accessToken, error) {
	var clientID, granted string
	switch r := req.(type) {
	case *authRequest:
		clientID, granted = r.req.ClientID, r.resource
	case *refreshRequest:
		clientID, granted = r.clientID, r.resource
	default:
		return nil, fmt.Errorf("devidp: unsupported grant for %T", req)
	}
	c := s.clients[clientID]
	resource, err := s.tokenResource(ctx, c, granted, req.GetScopes())
	if err != nil {
		return nil, err
	}
	now := time.Now()
	t := &accessToken{
		id: newID(), clientID: clientID, subject: req.GetSubject(), scopes: req.GetScopes(),
		resource: resource, jwt: resource != "" || c.AccessTokenType == JWT,
		issued: now, expires: now.Add(s.accessTTL),
	}
	if t.jwt {
		t.scopes = s.permissionsIn(resource, t.scopes)
	}
	s.pruneLocked(now)
	s.accessTokens[t.id] = t
	return t, nil
}

// tokenResource picks the API resource an access token is for: the one the
// token request names, which must be the one granted at authorization if
// any; else the one granted; else the client's default resource, which
// Logto skips when the scope asks for openid. "" means an opaque token for
// userinfo.
func (s *storage) tokenResource(ctx context.Context, c Client, granted string, scopes []string) (string, error) {
	asked, err := s.oneResource(resourceParam(ctx))
	switch {
	case err != nil:
		return "", err
	case asked != "" && granted != "" && asked != granted:
		return "", oidc.ErrInvalidTarget().WithDescription("resource %q was not granted; the authorization request asked for %q", asked, granted)
	case asked != "":
		return asked, nil
	case granted != "":
		return granted, nil
	case c.DefaultResource != "" && (c.AccessTokenType == JWT || !slices.Contains(scopes, oidc.ScopeOpenID)):
		return c.DefaultResource, nil
	}
	return "", nil
}

// permissionsIn keeps the scopes that are permissions of resource, or of any
// resource when there is none.
func (s *storage) permissionsIn(resource string, scopes []string) []string {
	return slices.DeleteFunc(slices.Clone(scopes), func(scope string) bool {
		if resource == "" {
			return !s.isPermission(scope)
		}
		return !slices.Contains(s.resources[resource], scope)
	})
}

func (s *storage) liveAccessTokenLocked(id string) (*accessToken, error) {
	t, ok := s.accessTokens[id]
	if !ok || time.Now().After(t.expires) {
		return nil, errNotFound
	}
	return t, nil
}

// wireFormat is op's Crypto, turned from encryption into the choice of what a
// token looks like. op passes every access token through Encrypt as
// "<token id>:<subject>" and reads one back through Decrypt; Logto's opaque
// tokens are random strings and its resource tokens JWTs, so Encrypt returns
// a signed JWT or a random handle the storage remembers. op also "encrypts"
// the authorization request id into the code; the storage maps codes back
// itself (SaveAuthCode), so a code is only random too.
type wireFormat struct{ s *storage }

func (w wireFormat) Encrypt(value string) (string, error) {
	s := w.s
	id, _, _ := strings.Cut(value, ":")
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.accessTokens[id]
	switch {
	case !ok:
		return newID(), nil // an authorization code
	case t.jwt:
		aud := t.resource
		if aud == "" {
			aud = t.clientID
		}
		return s.keys.Sign(map[string]any{
			"iss": s.issuer, "sub": t.subject, "aud": aud, "scope": strings.Join(t.scopes, " "),
			"client_id": t.clientID, "exp": t.expires.Unix(), "iat": t.issued.Unix(), "jti": t.id,
		})
	}
	t.handle = newID()
	s.handles[t.handle] = t.id
	return t.handle, nil
}

func (w wireFormat) Decrypt(token string) (string, error) {
	s := w.s
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.liveAccessTokenLocked(s.handles[token])
	if err != nil {
		return "", err
	}
	return t.id + ":" + t.subject, nil
}

// Claims.

// setUserinfo fills what Logto's /oidc/me and ID token hold: sub always,
// name and username with the profile scope. The user name is the subject.
func setUserinfo(info *oidc.UserInfo, subject string, scopes []string) {
	info.Subject = subject
	if slices.Contains(scopes, oidc.ScopeProfile) {
		info.Name = subject
		info.AppendClaims("username", subject)
	}
}

// SetUserinfoFromScopes is deprecated in op; SetUserinfoFromRequest serves.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	setUserinfo(info, req.GetSubject(), scopes)
	return nil
}

func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, _, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.liveAccessTokenLocked(tokenID)
	if err != nil {
		return err
	}
	setUserinfo(info, t.subject, t.scopes)
	return nil
}

func (s *storage) SetIntrospectionFromToken(_ context.Context, resp *oidc.IntrospectionResponse, tokenID, _, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.liveAccessTokenLocked(tokenID)
	if err != nil {
		return err
	}
	resp.Issuer, resp.Subject, resp.Username, resp.ClientID = s.issuer, t.subject, t.subject, t.clientID
	resp.Scope, resp.TokenType = t.scopes, oidc.BearerToken
	resp.IssuedAt, resp.Expiration = oidc.FromTime(t.issued), oidc.FromTime(t.expires)
	if t.resource != "" {
		resp.Audience, resp.JWTID = oidc.Audience{t.resource}, t.id
	}
	return nil
}

// GetPrivateClaimsFromScopes is op's hook for its own JWTs, which are not
// used: wireFormat signs access tokens.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// Revocation.

func (s *storage) RevokeToken(_ context.Context, tokenOrID, _, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.refreshTokens[tokenOrID]; ok {
		if r.clientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("the token was issued to another client")
		}
		delete(s.refreshTokens, tokenOrID)
		return nil
	}
	if t, ok := s.accessTokens[tokenOrID]; ok {
		if t.clientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("the token was issued to another client")
		}
		delete(s.handles, t.handle)
		delete(s.accessTokens, tokenOrID)
	}
	return nil // RFC 7009: an unknown token is no error
}

func (s *storage) GetRefreshTokenInfo(_ context.Context, _ string, token string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.refreshTokens[token]
	if !ok {
		return "", "", op.ErrInvalidRefreshToken
	}
	return r.subject, r.token, nil
}
