package devidp

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// authRequestTTL bounds the time from the authorization request to the code
// exchange, sign-in included.
const authRequestTTL = 10 * time.Minute

var errNotFound = errors.New("devidp: not found or expired")

// storage is the op.Storage, in memory. Clients, resources and permissions
// are fixed at New; what the protocol creates is guarded by mu and pruned
// once expired.
type storage struct {
	issuer     string
	clients    map[string]Client
	resources  map[string][]string // indicator → permissions
	userPerms  map[string][]string
	accessTTL  time.Duration
	refreshTTL time.Duration
	keys       *Keys

	mu            sync.Mutex
	authRequests  map[string]*authRequest
	codes         map[string]string // authorization code → auth request id
	accessTokens  map[string]*accessToken
	handles       map[string]string // opaque access token → access token id
	refreshTokens map[string]*refreshToken
	nextPrune     time.Time
}

func newStorage(cfg Config) (*storage, error) {
	keys := cfg.Keys
	if keys == nil {
		var err error
		if keys, err = NewKeys(); err != nil {
			return nil, err
		}
	}
	s := &storage{
		issuer:        cfg.Issuer,
		clients:       map[string]Client{},
		resources:     map[string][]string{},
		userPerms:     cfg.UserPermissions,
		accessTTL:     cfg.AccessTokenTTL,
		refreshTTL:    cfg.RefreshTokenTTL,
		keys:          keys,
		authRequests:  map[string]*authRequest{},
		codes:         map[string]string{},
		accessTokens:  map[string]*accessToken{},
		handles:       map[string]string{},
		refreshTokens: map[string]*refreshToken{},
	}
	for _, r := range cfg.Resources {
		if _, dup := s.resources[r.Indicator]; dup || r.Indicator == "" {
			return nil, fmt.Errorf("devidp: resource indicator %q is empty or repeated", r.Indicator)
		}
		s.resources[r.Indicator] = slices.Clone(r.Permissions)
	}
	for _, c := range cfg.Clients {
		if err := s.checkClient(c); err != nil {
			return nil, err
		}
		s.clients[c.ID] = c
	}
	return s, nil
}

func (s *storage) checkClient(c Client) error {
	switch _, dup := s.clients[c.ID]; {
	case c.ID == "" || dup:
		return fmt.Errorf("devidp: client id %q is empty or repeated", c.ID)
	case c.Public && (c.Secret != "" || c.AuthMethod != AnyAuthMethod):
		return fmt.Errorf("devidp: public client %s can have no secret", c.ID)
	case !c.Public && c.Secret == "":
		return fmt.Errorf("devidp: client %s needs a secret, or to be public", c.ID)
	case c.AuthMethod != AnyAuthMethod && c.AuthMethod != ClientSecretPost && c.AuthMethod != ClientSecretBasic:
		return fmt.Errorf("devidp: client %s: unknown auth method %q", c.ID, c.AuthMethod)
	}
	if _, ok := s.resources[c.DefaultResource]; c.DefaultResource != "" && !ok {
		return fmt.Errorf("devidp: client %s: default resource %q is not among the resources", c.ID, c.DefaultResource)
	}
	return nil
}

// supportedScopes is what discovery lists: the OIDC scopes Logto supports
// that make sense here, then every permission.
func (s *storage) supportedScopes() []string {
	scopes := []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeOfflineAccess}
	var perms []string
	for _, p := range s.resources {
		perms = append(perms, p...)
	}
	sort.Strings(perms)
	return append(scopes, slices.Compact(perms)...)
}

func (s *storage) isPermission(scope string) bool {
	for _, perms := range s.resources {
		if slices.Contains(perms, scope) {
			return true
		}
	}
	return false
}

// grantable drops the permissions user's roles do not grant, as Logto does
// silently; other scopes pass.
func (s *storage) grantable(user string, scopes []string) []string {
	granted, listed := s.userPerms[user]
	if !listed {
		return scopes
	}
	return slices.DeleteFunc(slices.Clone(scopes), func(scope string) bool {
		return s.isPermission(scope) && !slices.Contains(granted, scope)
	})
}

// oneResource checks the resource parameters of a request: at most one, and
// known.
func (s *storage) oneResource(params []string) (string, error) {
	switch len(params) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", oidc.ErrInvalidTarget().WithDescription("send at most one resource per request")
	}
	if _, ok := s.resources[params[0]]; !ok {
		return "", oidc.ErrInvalidTarget().WithDescription("unknown resource %q", params[0])
	}
	return params[0], nil
}

// pruneLocked drops what has expired, at most once a minute.
func (s *storage) pruneLocked(now time.Time) {
	if now.Before(s.nextPrune) {
		return
	}
	s.nextPrune = now.Add(time.Minute)
	for id, a := range s.authRequests {
		if now.After(a.expires) {
			delete(s.codes, a.code)
			delete(s.authRequests, id)
		}
	}
	for id, t := range s.accessTokens {
		if now.After(t.expires) {
			delete(s.handles, t.handle)
			delete(s.accessTokens, id)
		}
	}
	for token, r := range s.refreshTokens {
		if now.After(r.expires) {
			delete(s.refreshTokens, token)
		}
	}
}

// newID returns 43 random characters, like Logto's opaque tokens and codes.
func newID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Clients.

func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	c, ok := s.clients[id]
	if !ok {
		return nil, fmt.Errorf("devidp: unknown client %q", id)
	}
	return &opClient{Client: c, loginURL: s.issuer + loginPath, isPermission: s.isPermission}, nil
}

func (s *storage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	c, ok := s.clients[id]
	if !ok || c.Public || subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) != 1 {
		return errors.New("devidp: unknown client or wrong secret")
	}
	return nil
}

// Authorization requests.

func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	c := s.clients[req.ClientID] // op has checked it exists
	resource, err := s.oneResource(resourceParam(ctx))
	if err != nil {
		return nil, err
	}
	if c.Public && req.CodeChallenge == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE is required for public clients: send a code_challenge with code_challenge_method=S256")
	}
	if req.CodeChallenge != "" && req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	}
	a := &authRequest{id: newID(), req: *req, resource: resource, expires: time.Now().Add(authRequestTTL)}
	a.req.Scopes = slices.Clone(req.Scopes)
	if c.AlwaysIssueRefreshToken && !c.NoRefreshToken && !slices.Contains(a.req.Scopes, oidc.ScopeOfflineAccess) {
		a.req.Scopes = append(a.req.Scopes, oidc.ScopeOfflineAccess)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked(time.Now())
	s.authRequests[a.id] = a
	return a.copy(), nil
}

func (s *storage) liveAuthRequestLocked(id string) (*authRequest, error) {
	a, ok := s.authRequests[id]
	if !ok || time.Now().After(a.expires) {
		return nil, errNotFound
	}
	return a, nil
}

func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.liveAuthRequestLocked(id)
	if err != nil {
		return nil, err
	}
	return a.copy(), nil
}

func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.liveAuthRequestLocked(s.codes[code])
	if err != nil {
		return nil, err
	}
	return a.copy(), nil
}

func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.liveAuthRequestLocked(id)
	if err != nil {
		return err
	}
	a.code = code
	s.codes[code] = id
	return nil
}

// DeleteAuthRequest is called once the code is exchanged, so a code works
// once.
func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.authRequests[id]; ok {
		delete(s.codes, a.code)
		delete(s.authRequests, id)
	}
	return nil
}

// signIn records that user signed in for the authorization request id.
func (s *storage) signIn(id, user string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.liveAuthRequestLocked(id)
	if err != nil {
		return err
	}
	a.subject, a.authTime = user, time.Now()
	a.req.Scopes = s.grantable(user, a.req.Scopes)
	return nil
}

// loginHint returns the login_hint of a pending authorization request.
func (s *storage) loginHint(id string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.liveAuthRequestLocked(id)
	if err != nil {
		return "", err
	}
	return a.req.LoginHint, nil
}

// Sessions: there are none to end, since the login page asks every time.
// Tokens already issued stay valid until they expire or are revoked.

func (s *storage) TerminateSession(context.Context, string, string) error { return nil }

// Keys.

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return s.keys.current(), nil }

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{signingAlg}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	var keys []op.Key
	for _, k := range s.keys.public() {
		keys = append(keys, k)
	}
	return keys, nil
}

// Unsupported: JWT client authentication and the JWT profile grant.

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("devidp: private_key_jwt is not supported")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("devidp: the JWT profile grant is not supported")
}

func (s *storage) Health(context.Context) error { return nil }
