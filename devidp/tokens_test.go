package devidp_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/agenda-gpt/agenda/devidp"
)

func TestOpaqueTokenAtUserinfo(t *testing.T) {
	p := start(t, testConfig())
	tok := signIn(t, p, gpt, gptCallback, "alice", []string{"openid", "profile", "offline_access"}, "")
	if isJWT(tok.AccessToken) || len(tok.AccessToken) < 40 {
		t.Fatalf("access token %q: want an opaque random string", tok.AccessToken)
	}
	if tok.RefreshToken == "" || tok.ExpiresIn < 3590 || tok.ExpiresIn > 3600 || !strings.EqualFold(tok.TokenType, "bearer") {
		t.Errorf("token response: refresh %q, expires_in %d, type %q", tok.RefreshToken, tok.ExpiresIn, tok.TokenType)
	}

	resp, body := userinfo(t, p, tok.AccessToken)
	if resp.StatusCode != http.StatusOK || body["sub"] != "alice" || body["name"] != "alice" || body["username"] != "alice" {
		t.Errorf("userinfo: %s %v", resp.Status, body)
	}
	if resp, _ := userinfo(t, p, "not-a-token"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("userinfo with a bad token: %s", resp.Status)
	}
	if n := p.UserinfoCalls(); n != 2 {
		t.Errorf("UserinfoCalls = %d, want 2", n)
	}

	// The ID token verifies with go-oidc as the app's web sign-in would.
	provider, err := oidc.NewProvider(context.Background(), p.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: gpt.ID}).Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	var claims struct{ Name, Username string }
	if err := idt.Claims(&claims); err != nil || idt.Subject != "alice" || claims.Name != "alice" || claims.Username != "alice" {
		t.Errorf("ID token: sub %q, claims %+v, %v", idt.Subject, claims, err)
	}
}

// Like Logto, userinfo holds only sub without the profile scope.
func TestUserinfoWithoutProfile(t *testing.T) {
	p := start(t, testConfig())
	tok := signIn(t, p, gpt, gptCallback, "bob", []string{"openid"}, "")
	resp, body := userinfo(t, p, tok.AccessToken)
	if resp.StatusCode != http.StatusOK || body["sub"] != "bob" || body["name"] != nil || body["username"] != nil {
		t.Errorf("userinfo: %s %v", resp.Status, body)
	}
}

func TestJWTForDefaultResource(t *testing.T) {
	p := start(t, testConfig())
	before := time.Now().Unix()
	tok := signIn(t, p, gptAPI, gptCallback, "alice", []string{"read", "write", "offline_access"}, "")
	if !isJWT(tok.AccessToken) {
		t.Fatalf("access token %q: want a JWT", tok.AccessToken)
	}
	header := jwtHeader(t, tok.AccessToken)
	if header["alg"] != "ES384" || header["kid"] == "" || header["typ"] != "at+jwt" {
		t.Errorf("header %v: want ES384, a kid, at+jwt", header)
	}
	c := verifyJWT(t, p, tok.AccessToken)
	for k, want := range map[string]any{"iss": p.Issuer(), "sub": "alice", "aud": apiResource, "scope": "read write", "client_id": gptAPI.ID} {
		if c[k] != want {
			t.Errorf("claim %s = %v, want %v", k, c[k], want)
		}
	}
	iat, exp := c["iat"].(float64), c["exp"].(float64)
	if int64(iat) < before || exp-iat != 3600 || c["jti"] == "" {
		t.Errorf("iat %v, exp %v, jti %v", c["iat"], c["exp"], c["jti"])
	}

	// Logto's userinfo refuses a token with an audience.
	resp, body := userinfo(t, p, tok.AccessToken)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("userinfo with a JWT: %s %q %v", resp.Status, resp.Header.Get("WWW-Authenticate"), body)
	}
	form, err := http.PostForm(p.Issuer()+"/me", url.Values{"access_token": {tok.AccessToken}})
	if err != nil {
		t.Fatal(err)
	}
	form.Body.Close()
	if form.StatusCode != http.StatusUnauthorized {
		t.Errorf("userinfo with a JWT in the form: %s", form.Status)
	}
	if n := p.UserinfoCalls(); n != 2 {
		t.Errorf("UserinfoCalls = %d, want 2", n)
	}

	// With openid in the scope, Logto skips the default API: opaque token.
	tok = signIn(t, p, gptAPI, gptCallback, "alice", []string{"openid", "read"}, "")
	if isJWT(tok.AccessToken) {
		t.Errorf("with openid: got a JWT, want an opaque token")
	}
}

func TestJWTClient(t *testing.T) {
	p := start(t, testConfig())
	tok := signIn(t, p, gptJWT, gptCallback, "alice", []string{"openid", "read"}, "")
	if c := verifyJWT(t, p, tok.AccessToken); c["aud"] != gptJWT.ID || c["scope"] != "read" {
		t.Errorf("claims %v: want aud = client id, scope read", c)
	}
}

// MCP clients are public, send PKCE and name the resource (RFC 8707).
func TestResourceParameter(t *testing.T) {
	p := start(t, testConfig())
	tok := signIn(t, p, mcp, mcpCallback, "alice", []string{"openid", "read", "write", "offline_access"}, mcpResource)
	c := verifyJWT(t, p, tok.AccessToken)
	if c["aud"] != mcpResource || c["scope"] != "read write" || c["client_id"] != mcp.ID {
		t.Errorf("claims %v", c)
	}

	// A confidential client may name a resource too.
	tok = signIn(t, p, gpt, gptCallback, "alice", []string{"read"}, apiResource)
	if c := verifyJWT(t, p, tok.AccessToken); c["aud"] != apiResource {
		t.Errorf("aud %v, want %s", c["aud"], apiResource)
	}

	_, err := devidp.SignIn(context.Background(), nil, p.Issuer(), mcp.Credentials(), mcpCallback, "alice", []string{"read"}, "http://localhost:8080/mcp/")
	if err == nil || !strings.Contains(err.Error(), "invalid_target") {
		t.Errorf("unknown resource (trailing slash): %v, want invalid_target", err)
	}
}

func TestScopeDroppedWithoutPermission(t *testing.T) {
	p := start(t, testConfig())
	tok := signIn(t, p, gptAPI, gptCallback, "reader", []string{"read", "write"}, "")
	if c := verifyJWT(t, p, tok.AccessToken); c["scope"] != "read" {
		t.Errorf("scope %v, want read", c["scope"])
	}
	if s, _ := tok.Extra("scope").(string); s != "read" {
		t.Errorf("token response scope %q, want read", s)
	}
}

func TestRefresh(t *testing.T) {
	p := start(t, testConfig())

	t.Run("confidential client keeps its refresh token", func(t *testing.T) {
		tok := signIn(t, p, gpt, gptCallback, "alice", []string{"openid", "offline_access"}, "")
		next := refresh(t, p, gpt, tok.RefreshToken, nil)
		if next.AccessToken == tok.AccessToken || next.RefreshToken != tok.RefreshToken {
			t.Errorf("refresh: access %q (was %q), refresh %q (was %q)", next.AccessToken, tok.AccessToken, next.RefreshToken, tok.RefreshToken)
		}
		if resp, body := userinfo(t, p, next.AccessToken); resp.StatusCode != http.StatusOK || body["sub"] != "alice" {
			t.Errorf("userinfo after refresh: %s %v", resp.Status, body)
		}
	})

	t.Run("public client's is rotated and keeps its resource", func(t *testing.T) {
		tok := signIn(t, p, mcp, mcpCallback, "alice", []string{"read", "offline_access"}, mcpResource)
		next := refresh(t, p, mcp, tok.RefreshToken, url.Values{"resource": {mcpResource}})
		if next.RefreshToken == tok.RefreshToken || next.RefreshToken == "" {
			t.Errorf("refresh token not rotated")
		}
		if c := verifyJWT(t, p, next.AccessToken); c["aud"] != mcpResource || c["scope"] != "read" {
			t.Errorf("claims after refresh %v", c)
		}
		if _, err := refreshErr(p, mcp, tok.RefreshToken, nil); oauthCode(err) != "invalid_grant" {
			t.Errorf("old refresh token: %v, want invalid_grant", err)
		}
		if _, err := refreshErr(p, mcp, next.RefreshToken, url.Values{"resource": {apiResource}}); oauthCode(err) != "invalid_target" {
			t.Errorf("refresh for another resource: %v, want invalid_target", err)
		}
	})

	t.Run("no offline_access, no refresh token", func(t *testing.T) {
		if tok := signIn(t, p, gpt, gptCallback, "alice", []string{"openid"}, ""); tok.RefreshToken != "" {
			t.Errorf("got a refresh token")
		}
		if tok := signIn(t, p, gptOnce, gptCallback, "alice", []string{"openid", "offline_access"}, ""); tok.RefreshToken != "" {
			t.Errorf("client without the refresh grant got a refresh token")
		}
	})

	t.Run("always issue refresh token", func(t *testing.T) {
		if tok := signIn(t, p, gptAll, gptCallback, "alice", []string{"openid"}, ""); tok.RefreshToken == "" {
			t.Errorf("no refresh token")
		}
	})
}

func TestRotateKey(t *testing.T) {
	p := start(t, testConfig())
	first := signIn(t, p, gptAPI, gptCallback, "alice", []string{"read"}, "").AccessToken
	if err := p.RotateKey(); err != nil {
		t.Fatal(err)
	}
	second := signIn(t, p, gptAPI, gptCallback, "alice", []string{"read"}, "").AccessToken
	kid1, kid2 := jwtHeader(t, first)["kid"], jwtHeader(t, second)["kid"]
	if kid1 == kid2 {
		t.Fatalf("kid %v unchanged after RotateKey", kid1)
	}
	var jwks struct {
		Keys []struct{ Kid, Alg, Use, Crv string }
	}
	getJSON(t, p.Issuer()+"/jwks", &jwks)
	var kids []any
	for _, k := range jwks.Keys {
		kids = append(kids, k.Kid)
		if k.Alg != "ES384" || k.Use != "sig" || k.Crv != "P-384" {
			t.Errorf("key %+v: want ES384 P-384 for signing", k)
		}
	}
	if !slices.Contains(kids, kid1) || !slices.Contains(kids, kid2) {
		t.Errorf("JWKS kids %v, want %v and %v", kids, kid1, kid2)
	}
	verifyJWT(t, p, first)
	verifyJWT(t, p, second)
}

func TestMintAccessToken(t *testing.T) {
	p := start(t, testConfig())
	token, err := p.MintAccessToken(map[string]any{"iss": p.Issuer(), "sub": "alice", "aud": "other", "exp": 1})
	if err != nil {
		t.Fatal(err)
	}
	if c := verifyJWT(t, p, token); c["aud"] != "other" || c["exp"] != 1.0 {
		t.Errorf("claims %v", c)
	}
}

func TestIntrospectionAndRevocation(t *testing.T) {
	p := start(t, testConfig())
	tok := signIn(t, p, gpt, gptCallback, "alice", []string{"openid", "offline_access"}, "")

	var intro struct {
		Active   bool   `json:"active"`
		Sub      string `json:"sub"`
		ClientID string `json:"client_id"`
	}
	postForm(t, p.Issuer()+"/token/introspection", gpt, url.Values{"token": {tok.AccessToken}}, &intro)
	if !intro.Active || intro.Sub != "alice" || intro.ClientID != gpt.ID {
		t.Errorf("introspection %+v", intro)
	}

	postForm(t, p.Issuer()+"/token/revocation", gpt, url.Values{"token": {tok.AccessToken}, "token_type_hint": {"access_token"}}, nil)
	if resp, _ := userinfo(t, p, tok.AccessToken); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("userinfo after revocation: %s", resp.Status)
	}
	postForm(t, p.Issuer()+"/token/revocation", gpt, url.Values{"token": {tok.RefreshToken}}, nil)
	if _, err := refreshErr(p, gpt, tok.RefreshToken, nil); oauthCode(err) != "invalid_grant" {
		t.Errorf("refresh after revocation: %v, want invalid_grant", err)
	}
}

// refresh redeems a refresh token as client c, with extra form values.
func refresh(t *testing.T, p provider, c devidp.Client, rt string, extra url.Values) *oauth2.Token {
	t.Helper()
	tok, err := refreshErr(p, c, rt, extra)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func refreshErr(p provider, c devidp.Client, rt string, extra url.Values) (*oauth2.Token, error) {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {c.ID}}
	if c.Secret != "" {
		form.Set("client_secret", c.Secret)
	}
	for k, v := range extra {
		form[k] = v
	}
	resp, err := http.PostForm(p.Issuer()+"/token", form)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		Error        string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &oauth2.RetrieveError{Response: resp, ErrorCode: body.Error}
	}
	return &oauth2.Token{AccessToken: body.AccessToken, RefreshToken: body.RefreshToken}, nil
}

// oauthCode returns the OAuth error code of err, "" if there is none.
func oauthCode(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

// postForm posts form to u with c's credentials as HTTP Basic, as a
// resource server would, and decodes the JSON answer into v unless nil.
func postForm(t *testing.T, u string, c devidp.Client, form url.Values, v any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(c.ID, c.Secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %s", u, resp.Status)
	}
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
}

func jwtHeader(t *testing.T, token string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h
}
