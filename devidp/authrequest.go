package devidp

import (
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// authRequest is an authorization request from its arrival to the code
// exchange; it implements op.AuthRequest. The storage hands out copies, so
// op reads them without the lock.
type authRequest struct {
	id       string
	req      oidc.AuthRequest
	resource string // RFC 8707, from the authorization request
	subject  string // set at sign-in
	authTime time.Time
	code     string
	expires  time.Time
}

func (a *authRequest) copy() *authRequest {
	c := *a
	return &c
}

func (a *authRequest) GetID() string          { return a.id }
func (a *authRequest) GetACR() string         { return "" }
func (a *authRequest) GetAudience() []string  { return []string{a.req.ClientID} } // of the ID token
func (a *authRequest) GetAuthTime() time.Time { return a.authTime }
func (a *authRequest) GetClientID() string    { return a.req.ClientID }
func (a *authRequest) GetNonce() string       { return a.req.Nonce }
func (a *authRequest) GetRedirectURI() string { return a.req.RedirectURI }
func (a *authRequest) GetScopes() []string    { return a.req.Scopes }
func (a *authRequest) GetState() string       { return a.req.State }
func (a *authRequest) GetSubject() string     { return a.subject }
func (a *authRequest) Done() bool             { return a.subject != "" }
func (a *authRequest) GetAMR() []string       { return amr(a.Done()) }
func (a *authRequest) GetResponseMode() oidc.ResponseMode {
	return a.req.ResponseMode
}
func (a *authRequest) GetResponseType() oidc.ResponseType {
	return a.req.ResponseType
}

func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.req.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.req.CodeChallenge, Method: a.req.CodeChallengeMethod}
}

// amr says the user signed in with a password, as far as anyone can tell.
func amr(signedIn bool) []string {
	if !signedIn {
		return nil
	}
	return []string{"pwd"}
}
