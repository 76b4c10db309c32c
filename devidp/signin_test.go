package devidp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/agenda-gpt/agenda/devidp"
)

func TestClientAuthentication(t *testing.T) {
	p := start(t, testConfig())
	anyMethod := gptAPI // configured with neither: both work
	for _, c := range []struct {
		name   string
		client devidp.Client
		method devidp.AuthMethod
		secret string
		want   string // OAuth error code; "" for success
	}{
		{"post client posts", gpt, devidp.ClientSecretPost, gpt.Secret, ""},
		{"post client sends Basic", gpt, devidp.ClientSecretBasic, gpt.Secret, "invalid_client"},
		{"basic client sends Basic", gptBasic, devidp.ClientSecretBasic, gptBasic.Secret, ""},
		{"basic client posts", gptBasic, devidp.ClientSecretPost, gptBasic.Secret, "invalid_client"},
		{"any-method client posts", anyMethod, devidp.ClientSecretPost, anyMethod.Secret, ""},
		{"any-method client sends Basic", anyMethod, devidp.ClientSecretBasic, anyMethod.Secret, ""},
		{"wrong secret posted", gpt, devidp.ClientSecretPost, "wrong", "invalid_client"},
		{"wrong secret as Basic", anyMethod, devidp.ClientSecretBasic, "wrong", "invalid_client"},
	} {
		t.Run(c.name, func(t *testing.T) {
			creds := devidp.ClientCredentials{ID: c.client.ID, Secret: c.secret, AuthMethod: c.method}
			_, err := devidp.SignIn(context.Background(), nil, p.Issuer(), creds, gptCallback, "alice", []string{"openid"}, "")
			if got := oauthCode(err); got != c.want || (c.want == "" && err != nil) {
				t.Errorf("SignIn: %v, want error code %q", err, c.want)
			}
		})
	}
}

func TestPKCE(t *testing.T) {
	p := start(t, testConfig())
	// A confidential client may send PKCE, though ChatGPT does not.
	creds := gpt.Credentials()
	creds.PKCE = true
	if _, err := devidp.SignIn(context.Background(), nil, p.Issuer(), creds, gptCallback, "alice", []string{"openid"}, ""); err != nil {
		t.Errorf("confidential client with PKCE: %v", err)
	}

	auth := func(extra url.Values) url.Values {
		q := url.Values{"client_id": {mcp.ID}, "response_type": {"code"}, "scope": {"openid"}, "redirect_uri": {mcpCallback}, "state": {"s"}}
		for k, v := range extra {
			q[k] = v
		}
		loc, err := url.Parse(noRedirect(t, p.Issuer()+"/auth?"+q.Encode()).Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		return loc.Query()
	}
	if q := auth(nil); q.Get("error") != "invalid_request" || q.Get("state") != "s" {
		t.Errorf("public client without PKCE: redirected with %v, want invalid_request", q)
	}
	if q := auth(url.Values{"code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"plain"}}); q.Get("error") != "invalid_request" {
		t.Errorf("plain PKCE: redirected with %v, want invalid_request", q)
	}
}

func TestRedirectURI(t *testing.T) {
	p := start(t, testConfig())
	_, err := devidp.SignIn(context.Background(), nil, p.Issuer(), gpt.Credentials(), "https://chatgpt.com/aip/g-456/oauth/callback", "alice", []string{"openid"}, "")
	if err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("unregistered redirect_uri: %v, want a 400 at the provider", err)
	}
	// The provider must not redirect to an unregistered URI, even with an error.
	q := url.Values{"client_id": {gpt.ID}, "response_type": {"code"}, "scope": {"openid"}, "redirect_uri": {"https://evil.example/cb"}, "state": {"s"}}
	if resp := noRedirect(t, p.Issuer()+"/auth?"+q.Encode()); resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Errorf("unregistered redirect_uri: %s to %q", resp.Status, resp.Header.Get("Location"))
	}

	// A glob admits any loopback callback, as the development client needs.
	for _, cb := range []string{"http://127.0.0.1:8080/auth/callback", "http://127.0.0.1:41234/cb"} {
		if _, err := devidp.SignIn(context.Background(), nil, p.Issuer(), dev.Credentials(), cb, "alice", []string{"openid"}, ""); err != nil {
			t.Errorf("glob redirect %s: %v", cb, err)
		}
	}
	if _, err := devidp.SignIn(context.Background(), nil, p.Issuer(), dev.Credentials(), "http://192.0.2.1:8080/cb", "alice", []string{"openid"}, ""); err == nil {
		t.Errorf("glob admitted a non-loopback redirect")
	}
	// A public client's loopback redirect matches on any port (RFC 8252).
	if _, err := devidp.SignIn(context.Background(), nil, p.Issuer(), mcp.Credentials(), "http://127.0.0.1:50000/callback", "alice", []string{"openid"}, ""); err != nil {
		t.Errorf("public client on another loopback port: %v", err)
	}
}

func TestLoginPage(t *testing.T) {
	p := start(t, testConfig())
	if resp := noRedirect(t, p.Issuer()+"/login?id=unknown"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown sign-in request: %s", resp.Status)
	}
	if _, err := devidp.SignIn(context.Background(), nil, p.Issuer(), gpt.Credentials(), gptCallback, "a:b", []string{"openid"}, ""); err == nil {
		t.Errorf("user name with a colon accepted")
	}
	// An email address is a user name too.
	tok := signIn(t, p, gpt, gptCallback, "alice@example.com", []string{"openid"}, "")
	if resp, body := userinfo(t, p, tok.AccessToken); body["sub"] != "alice@example.com" {
		t.Errorf("userinfo: %s %v", resp.Status, body)
	}
}

// TestCodeExchange walks the flow by hand, to check the token endpoint's
// rules on the code.
func TestCodeExchange(t *testing.T) {
	p := start(t, testConfig())
	verifier := oauth2.GenerateVerifier()
	code := authorizeCode(t, p, url.Values{
		"client_id": {mcp.ID}, "response_type": {"code"}, "scope": {"openid"}, "redirect_uri": {mcpCallback},
		"state": {"s"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"},
	}, "alice")
	exchange := func(redirectURI, verifier string) (int, string) {
		resp, err := http.PostForm(p.Issuer()+"/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {mcp.ID},
			"code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct{ Error string }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.Error
	}
	if status, e := exchange(mcpCallback, oauth2.GenerateVerifier()); e != "invalid_grant" {
		t.Errorf("wrong code_verifier: %d %s, want invalid_grant", status, e)
	}
	if status, e := exchange("http://127.0.0.1:33418/other", verifier); e != "invalid_grant" {
		t.Errorf("other redirect_uri: %d %s, want invalid_grant", status, e)
	}
	if status, e := exchange(mcpCallback, verifier); status != http.StatusOK {
		t.Fatalf("exchange: %d %s", status, e)
	}
	if status, e := exchange(mcpCallback, verifier); e != "invalid_grant" {
		t.Errorf("code used twice: %d %s, want invalid_grant", status, e)
	}
}

// authorizeCode sends the authorization request q, signs user in on the
// login page and returns the code, following each redirect by hand.
func authorizeCode(t *testing.T, p provider, q url.Values, user string) string {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	location := func(resp *http.Response, err error) *url.URL {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, err := resp.Location()
		if err != nil {
			t.Fatalf("%s %s: %s, no redirect", resp.Request.Method, resp.Request.URL, resp.Status)
		}
		return loc
	}
	login := location(c.Get(p.Issuer() + "/auth?" + q.Encode()))
	if login.Path != "/oidc/login" {
		t.Fatalf("authorization request went to %s, want the login page", login)
	}
	callback := location(c.PostForm(p.Issuer()+"/login", url.Values{"id": {login.Query().Get("id")}, "username": {user}}))
	back := location(c.Get(callback.String()))
	if back.Query().Get("state") != q.Get("state") || back.Query().Get("code") == "" {
		t.Fatalf("back at the client with %s", back)
	}
	return back.Query().Get("code")
}
