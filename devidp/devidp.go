// Package devidp is a real OpenID Connect provider laid out like Logto, held
// in memory. The app mounts it under /oidc as its development identity
// provider when no Logto tenant is configured, and every end-to-end test signs
// in through it on loopback. It speaks the protocol for real, on
// github.com/zitadel/oidc's op package: discovery, the authorization-code flow
// with an optional PKCE S256, refresh tokens, opaque tokens valid at the
// userinfo endpoint (/oidc/me), ES384 JWT access tokens for API resources
// (RFC 8707), a JWKS with key rotation, introspection, revocation and
// end-session. Its login page accepts any user name, without a password.
package devidp

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"
)

// Config describes the provider: who may ask for tokens, and for what.
type Config struct {
	// Issuer is the provider's URL, always ending in /oidc like Logto's, e.g.
	// "http://127.0.0.1:8080/oidc". Its path is the prefix the handler
	// serves. http is accepted only on loopback hosts.
	Issuer string

	Clients []Client

	// Resources are the API resources (RFC 8707 resource indicators) the
	// provider issues JWT access tokens for.
	Resources []Resource

	// UserPermissions imitates Logto's RBAC: user name → the permissions
	// the user's roles grant, in every resource. A requested permission the
	// user lacks is silently dropped from the grant. Users not listed are
	// granted every permission.
	UserPermissions map[string][]string

	// Keys sign the JWTs; nil makes a fresh set (see Keys).
	Keys *Keys

	AccessTokenTTL  time.Duration // default 1 hour, as in Logto
	RefreshTokenTTL time.Duration // default 14 days, as in Logto
}

// Resource is an API resource, like one defined in Logto's console.
type Resource struct {
	Indicator   string   // e.g. "http://localhost:8080" or "http://localhost:8080/mcp"; compared exactly
	Permissions []string // e.g. "read", "write"
}

// AccessTokenType says what access tokens a client gets when no API
// resource applies.
type AccessTokenType int

const (
	// Opaque access tokens are random strings valid at /oidc/me, as Logto
	// issues when no API resource applies.
	Opaque AccessTokenType = iota
	// JWT access tokens are issued even without a resource; their aud is
	// then the client ID.
	JWT
)

// AuthMethod is how a confidential client sends its secret to the token
// endpoint.
type AuthMethod string

const (
	// AnyAuthMethod accepts the secret in the form body or as HTTP Basic.
	AnyAuthMethod AuthMethod = ""
	// ClientSecretPost is ChatGPT's "Default (POST request)".
	ClientSecretPost AuthMethod = "client_secret_post"
	// ClientSecretBasic is ChatGPT's "Basic authorization header".
	ClientSecretBasic AuthMethod = "client_secret_basic"
)

// Client is an OAuth client, like a Logto application.
type Client struct {
	ID     string
	Secret string // empty for a public client

	// Public clients have no secret and must send PKCE (S256), like MCP
	// clients and native apps; a loopback redirect URI then matches on any
	// port (RFC 8252). Confidential clients may send PKCE but need not:
	// ChatGPT sends none.
	Public bool

	RedirectURIs []string // matched exactly
	// RedirectURIGlobs are patterns also accepted as redirect and
	// post-logout redirect URIs, e.g. "http://127.0.0.1:*/**" for any
	// loopback callback. Redirect URIs match with doublestar (** crosses
	// slashes); post-logout URIs with path.Match, where nothing does: that
	// is zitadel's rule.
	RedirectURIGlobs       []string
	PostLogoutRedirectURIs []string

	// AuthMethod, when set, is the only way the client may send its
	// secret; by default both are accepted.
	AuthMethod AuthMethod

	AccessTokenType AccessTokenType

	// DefaultResource imitates Logto's "Default API": when the client asks
	// for no resource and the scope does not include openid, the access
	// token is a JWT for this resource. (With openid in the scope, Logto
	// issues an opaque token for the userinfo endpoint instead.) For a JWT
	// client it applies whatever the scope.
	DefaultResource string

	// NoRefreshToken withholds the refresh_token grant from the client.
	NoRefreshToken bool
	// AlwaysIssueRefreshToken imitates Logto's option of the same name:
	// a refresh token comes without offline_access in the scope.
	AlwaysIssueRefreshToken bool
}

// Credentials returns what a client program needs to sign in as c.
func (c Client) Credentials() ClientCredentials {
	return ClientCredentials{ID: c.ID, Secret: c.Secret, AuthMethod: c.AuthMethod}
}

// Provider is the identity provider, safe for concurrent use. Its zero value
// is not usable; call New.
type Provider struct {
	issuer  string
	store   *storage
	handler http.Handler
}

// Logto's endpoints, relative to the issuer.
const (
	authPath          = "/auth"
	tokenPath         = "/token"
	userinfoPath      = "/me"
	jwksPath          = "/jwks"
	endSessionPath    = "/session/end"
	signedOutPath     = "/session/end/success"
	introspectionPath = "/token/introspection"
	revocationPath    = "/token/revocation"
	loginPath         = "/login"
	callbackPath      = "/auth/callback" // zitadel's: the authorization endpoint + /callback
)

// New checks cfg and returns a provider serving it.
func New(cfg Config) (*Provider, error) {
	u, err := url.Parse(cfg.Issuer)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("devidp: issuer %q is not an absolute URL without query", cfg.Issuer)
	}
	if !strings.HasSuffix(u.Path, "/oidc") {
		return nil, fmt.Errorf("devidp: issuer %q must end in /oidc, like Logto's", cfg.Issuer)
	}
	if cfg.AccessTokenTTL <= 0 {
		cfg.AccessTokenTTL = time.Hour
	}
	if cfg.RefreshTokenTTL <= 0 {
		cfg.RefreshTokenTTL = 14 * 24 * time.Hour
	}
	store, err := newStorage(cfg)
	if err != nil {
		return nil, err
	}

	opts := []op.Option{
		op.WithCustomEndpoints(
			op.NewEndpoint(authPath), op.NewEndpoint(tokenPath), op.NewEndpoint(userinfoPath),
			op.NewEndpoint(revocationPath), op.NewEndpoint(endSessionPath), op.NewEndpoint(jwksPath)),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(introspectionPath)),
		op.WithCrypto(wireFormat{store}),
		// zitadel verifies JWTs it meets (introspection, revocation,
		// id_token_hint) with RS256, ES256 and PS256 unless told otherwise.
		op.WithAccessTokenVerifierOpts(op.WithSupportedAccessTokenSigningAlgorithms(signingAlg)),
		op.WithIDTokenHintVerifierOpts(op.WithSupportedIDTokenHintSigningAlgorithms(signingAlg)),
	}
	if u.Scheme == "http" && isLoopback(u.Hostname()) {
		// zitadel refuses http issuers unless allowed, and then allows any.
		opts = append(opts, op.WithAllowInsecure())
	}
	provider, err := op.NewProvider(&op.Config{
		DefaultLogoutRedirectURI: cfg.Issuer + signedOutPath,
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedScopes:          store.supportedScopes(),
	}, store, op.StaticIssuer(cfg.Issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("devidp: %w", err)
	}

	p := &Provider{issuer: cfg.Issuer, store: store}
	p.handler = http.StripPrefix(u.Path, p.routes(provider))
	return p, nil
}

// Issuer returns the issuer URL.
func (p *Provider) Issuer() string { return p.issuer }

// ServeHTTP serves requests whose path starts with the issuer's path, e.g.
// /oidc/token; the request carries the full path.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.handler.ServeHTTP(w, r)
}

// Handler returns p as an http.Handler, to mount in a router, e.g.
// e.Any("/oidc/*", echo.WrapHandler(p.Handler())).
func (p *Provider) Handler() http.Handler { return p }

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
