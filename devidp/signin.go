package devidp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// ClientCredentials is what a client program holds to sign in: what
// ChatGPT's action editor asks for.
type ClientCredentials struct {
	ID     string
	Secret string // empty for a public client, which then always sends PKCE
	// AuthMethod is how Secret travels to the token endpoint: in the form
	// body by default (ChatGPT's "Default (POST request)"), or as HTTP Basic
	// with ClientSecretBasic.
	AuthMethod AuthMethod
	PKCE       bool // send a PKCE S256 challenge even with a secret
}

// SignIn drives the authorization-code flow without a browser, the way
// ChatGPT and the user would together, against the provider at issuer (this
// package's Provider, wherever it is served):
//
//  1. GET issuer/auth with a random state, the scopes, PKCE S256 when the
//     client is public or asks for it, and resource (RFC 8707) when not "";
//  2. follow redirects to the login page and post userName to it;
//  3. follow redirects until one leads to redirectURI, without requesting
//     it, check its state and take the code (an error there is returned);
//  4. exchange the code at issuer/token with golang.org/x/oauth2, with the
//     secret in the body, or as Basic for ClientSecretBasic, and resource
//     again, as MCP clients do.
//
// The token has the access token, the refresh token when one was issued
// (offline_access), Expiry and ExpiresIn; Extra("id_token") and
// Extra("scope") hold the rest. client may be nil for a default one with a
// 30 s timeout; its redirect policy is not used. Only this package's login
// page can be driven: it posts the fields of that form.
func SignIn(ctx context.Context, client *http.Client, issuer string, c ClientCredentials, redirectURI, userName string, scopes []string, resource string) (*oauth2.Token, error) {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	conf := &oauth2.Config{
		ClientID:     c.ID,
		ClientSecret: c.Secret,
		Endpoint:     oauth2.Endpoint{AuthURL: issuer + authPath, TokenURL: issuer + tokenPath, AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL:  redirectURI,
		Scopes:       scopes,
	}
	if c.AuthMethod == ClientSecretBasic {
		conf.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	}
	var authOpts, exchangeOpts []oauth2.AuthCodeOption
	if c.PKCE || c.Secret == "" {
		verifier := oauth2.GenerateVerifier()
		authOpts = append(authOpts, oauth2.S256ChallengeOption(verifier))
		exchangeOpts = append(exchangeOpts, oauth2.VerifierOption(verifier))
	}
	if resource != "" {
		authOpts = append(authOpts, oauth2.SetAuthURLParam("resource", resource))
		exchangeOpts = append(exchangeOpts, oauth2.SetAuthURLParam("resource", resource))
	}
	state := newID()
	code, err := authorize(ctx, client, conf.AuthCodeURL(state, authOpts...), redirectURI, state, userName)
	if err != nil {
		return nil, fmt.Errorf("devidp: sign in as %s: %w", userName, err)
	}
	tok, err := conf.Exchange(context.WithValue(ctx, oauth2.HTTPClient, client), code, exchangeOpts...)
	if err != nil {
		return nil, fmt.Errorf("devidp: sign in as %s: exchange the code: %w", userName, err)
	}
	return tok, nil
}

// authorize follows the authorization request to the code.
func authorize(ctx context.Context, client *http.Client, authURL, redirectURI, state, userName string) (string, error) {
	target, err := url.Parse(redirectURI)
	if err != nil {
		return "", fmt.Errorf("redirect URI: %w", err)
	}
	noFollow := *client
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	next, form := authURL, url.Values(nil)
	for range 10 {
		resp, body, err := send(ctx, &noFollow, next, form)
		if err != nil {
			return "", err
		}
		switch {
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			loc, err := resp.Location()
			if err != nil {
				return "", fmt.Errorf("%s: redirect without location: %w", next, err)
			}
			if loc.Scheme == target.Scheme && loc.Host == target.Host && loc.Path == target.Path {
				return codeFrom(loc.Query(), state)
			}
			next, form = loc.String(), nil
		case resp.StatusCode == http.StatusOK && form == nil && strings.HasSuffix(resp.Request.URL.Path, loginPath):
			login := *resp.Request.URL
			form = url.Values{"id": {login.Query().Get("id")}, "username": {userName}}
			login.RawQuery = ""
			next = login.String()
		default:
			return "", fmt.Errorf("%s: %s: %s", next, resp.Status, body)
		}
	}
	return "", errors.New("too many redirects")
}

// send GETs u, or POSTs form to it, and returns the start of the body for
// error messages.
func send(ctx context.Context, client *http.Client, u string, form url.Values) (*http.Response, string, error) {
	method, body := http.MethodGet, io.Reader(nil)
	if form != nil {
		method, body = http.MethodPost, strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	start, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, resp.Body) // let the connection be reused
	return resp, strings.TrimSpace(string(start)), nil
}

// codeFrom reads the authorization response at the redirect URI.
func codeFrom(q url.Values, state string) (string, error) {
	if e := q.Get("error"); e != "" {
		return "", fmt.Errorf("authorization refused: %s: %s", e, q.Get("error_description"))
	}
	if q.Get("state") != state {
		return "", errors.New("authorization response has the wrong state")
	}
	if q.Get("code") == "" {
		return "", errors.New("authorization response has no code")
	}
	return q.Get("code"), nil
}
