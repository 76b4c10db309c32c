package devidp

import (
	"net/url"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// opClient presents a Client to op (op.Client and op.HasRedirectGlobs).
type opClient struct {
	Client
	loginURL     string
	isPermission func(string) bool
}

func (c *opClient) GetID() string                    { return c.ID }
func (c *opClient) RedirectURIs() []string           { return c.Client.RedirectURIs }
func (c *opClient) PostLogoutRedirectURIs() []string { return c.Client.PostLogoutRedirectURIs }
func (c *opClient) RedirectURIGlobs() []string       { return c.Client.RedirectURIGlobs }
func (c *opClient) PostLogoutRedirectURIGlobs() []string {
	return c.Client.RedirectURIGlobs
}

// ApplicationType: a public client is native to op, which then matches a
// loopback redirect URI on any port (RFC 8252); a confidential one is web.
func (c *opClient) ApplicationType() op.ApplicationType {
	if c.Public {
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}

// AuthMethod tells op whether the client has a secret; which way it sends
// it is checked in front of op (checkAuthMethod), as op accepts either.
func (c *opClient) AuthMethod() oidc.AuthMethod {
	switch {
	case c.Public:
		return oidc.AuthMethodNone
	case c.Client.AuthMethod == ClientSecretPost:
		return oidc.AuthMethodPost
	default:
		return oidc.AuthMethodBasic
	}
}

func (c *opClient) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}

func (c *opClient) GrantTypes() []oidc.GrantType {
	if c.NoRefreshToken {
		return []oidc.GrantType{oidc.GrantTypeCode}
	}
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}

func (c *opClient) LoginURL(id string) string { return c.loginURL + "?id=" + url.QueryEscape(id) }

// AccessTokenType is always bearer to op: it then hands each access token
// to wireFormat, which decides between an opaque token and a JWT.
func (c *opClient) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }

func (c *opClient) IDTokenLifetime() time.Duration { return time.Hour }
func (c *opClient) DevMode() bool                  { return false }
func (c *opClient) ClockSkew() time.Duration       { return 0 }

// IDTokenUserinfoClaimsAssertion puts the profile claims in the ID token
// too, as Logto does.
func (c *opClient) IDTokenUserinfoClaimsAssertion() bool { return true }

// IsScopeAllowed lets the resources' permissions through; op drops any other
// scope beyond the standard OIDC ones, as Logto ignores unknown scopes.
func (c *opClient) IsScopeAllowed(scope string) bool { return c.isPermission(scope) }

func (c *opClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}

func (c *opClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}
