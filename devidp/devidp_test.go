package devidp_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/agenda-gpt/agenda/devidp"
	"github.com/agenda-gpt/agenda/internal/testidp"
)

// The app's two API resources, as indicators in Logto.
const (
	apiResource = "http://localhost:8080"
	mcpResource = "http://localhost:8080/mcp"
)

const (
	gptCallback = "https://chatgpt.com/aip/g-123/oauth/callback"
	mcpCallback = "http://127.0.0.1:33418/callback"
	webCallback = "http://localhost:8080/auth/callback"
	webHome     = "http://localhost:8080/"
)

// Clients of the test provider, one per way of signing in.
var (
	gpt      = devidp.Client{ID: "gpt", Secret: "gpt-secret", RedirectURIs: []string{gptCallback}, AuthMethod: devidp.ClientSecretPost}
	gptBasic = devidp.Client{ID: "gpt-basic", Secret: "basic-secret", RedirectURIs: []string{gptCallback}, AuthMethod: devidp.ClientSecretBasic}
	gptAPI   = devidp.Client{ID: "gpt-api", Secret: "api-secret", RedirectURIs: []string{gptCallback}, DefaultResource: apiResource}
	gptJWT   = devidp.Client{ID: "gpt-jwt", Secret: "jwt-secret", RedirectURIs: []string{gptCallback}, AccessTokenType: devidp.JWT}
	gptOnce  = devidp.Client{ID: "gpt-once", Secret: "once-secret", RedirectURIs: []string{gptCallback}, NoRefreshToken: true}
	gptAll   = devidp.Client{ID: "gpt-always", Secret: "always-secret", RedirectURIs: []string{gptCallback}, AlwaysIssueRefreshToken: true}
	mcp      = devidp.Client{ID: "mcp", Public: true, RedirectURIs: []string{mcpCallback}}
	web      = devidp.Client{ID: "web", Secret: "web-secret", RedirectURIs: []string{webCallback},
		PostLogoutRedirectURIs: []string{webHome}}
	dev = devidp.Client{ID: "dev", Secret: "dev-secret", RedirectURIGlobs: []string{"http://127.0.0.1:*/**"}}
)

func testConfig() devidp.Config {
	return devidp.Config{
		Clients: []devidp.Client{gpt, gptBasic, gptAPI, gptJWT, gptOnce, gptAll, mcp, web, dev},
		Resources: []devidp.Resource{
			{Indicator: apiResource, Permissions: []string{"read", "write"}},
			{Indicator: mcpResource, Permissions: []string{"read", "write"}},
		},
		UserPermissions: map[string][]string{"reader": {"read"}},
	}
}

// start serves a provider for cfg on loopback and returns it.
func start(t *testing.T, cfg devidp.Config) *testidp.Server {
	t.Helper()
	return testidp.Start(t, cfg)
}

// signIn signs user in through c and fails the test on error.
func signIn(t *testing.T, p provider, c devidp.Client, redirectURI, user string, scopes []string, resource string) *oauth2.Token {
	t.Helper()
	tok, err := devidp.SignIn(context.Background(), nil, p.Issuer(), c.Credentials(), redirectURI, user, scopes, resource)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// userinfo calls /oidc/me with token and returns the status and JSON body.
func userinfo(t *testing.T, p provider, token string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, p.Issuer()+"/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp, body
}

// getJSON fetches u and decodes its JSON body.
func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

// noRedirect returns the first response to a GET of u, redirects unfollowed.
func noRedirect(t *testing.T, u string) *http.Response {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// verifyJWT checks token's signature against the provider's JWKS with
// go-oidc and returns its claims.
func verifyJWT(t *testing.T, p provider, token string) map[string]any {
	t.Helper()
	keys := oidc.NewRemoteKeySet(context.Background(), p.Issuer()+"/jwks")
	payload, err := keys.VerifySignature(context.Background(), token)
	if err != nil {
		t.Fatalf("verify %s: %v", token, err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

func isJWT(token string) bool { return strings.Count(token, ".") == 2 }

func TestDiscovery(t *testing.T) {
	p := start(t, testConfig())
	iss := p.Issuer()
	var doc struct {
		Issuer                string   `json:"issuer"`
		Authorization         string   `json:"authorization_endpoint"`
		Token                 string   `json:"token_endpoint"`
		Userinfo              string   `json:"userinfo_endpoint"`
		JWKS                  string   `json:"jwks_uri"`
		EndSession            string   `json:"end_session_endpoint"`
		Introspection         string   `json:"introspection_endpoint"`
		Revocation            string   `json:"revocation_endpoint"`
		CodeChallengeMethods  []string `json:"code_challenge_methods_supported"`
		IDTokenAlgs           []string `json:"id_token_signing_alg_values_supported"`
		TokenEndpointAuth     []string `json:"token_endpoint_auth_methods_supported"`
		Scopes                []string `json:"scopes_supported"`
		GrantTypes            []string `json:"grant_types_supported"`
		ResponseTypeSupported []string `json:"response_types_supported"`
	}
	getJSON(t, iss+"/.well-known/openid-configuration", &doc)
	for name, got := range map[string][2]string{
		"issuer":                 {doc.Issuer, iss},
		"authorization_endpoint": {doc.Authorization, iss + "/auth"},
		"token_endpoint":         {doc.Token, iss + "/token"},
		"userinfo_endpoint":      {doc.Userinfo, iss + "/me"},
		"jwks_uri":               {doc.JWKS, iss + "/jwks"},
		"end_session_endpoint":   {doc.EndSession, iss + "/session/end"},
		"introspection_endpoint": {doc.Introspection, iss + "/token/introspection"},
		"revocation_endpoint":    {doc.Revocation, iss + "/token/revocation"},
	} {
		if got[0] != got[1] {
			t.Errorf("%s = %q, want %q", name, got[0], got[1])
		}
	}
	for name, c := range map[string]struct {
		list []string
		want []string
	}{
		"code_challenge_methods_supported":      {doc.CodeChallengeMethods, []string{"S256"}},
		"id_token_signing_alg_values_supported": {doc.IDTokenAlgs, []string{"ES384"}},
		"token_endpoint_auth_methods_supported": {doc.TokenEndpointAuth, []string{"client_secret_post", "client_secret_basic"}},
		"scopes_supported":                      {doc.Scopes, []string{"openid", "profile", "offline_access", "read", "write"}},
		"grant_types_supported":                 {doc.GrantTypes, []string{"authorization_code", "refresh_token"}},
	} {
		for _, w := range c.want {
			if !slices.Contains(c.list, w) {
				t.Errorf("%s = %v, lacks %s", name, c.list, w)
			}
		}
	}
	if slices.Contains(doc.CodeChallengeMethods, "plain") {
		t.Errorf("code_challenge_methods_supported = %v; Logto offers S256 only", doc.CodeChallengeMethods)
	}
	// go-oidc checks that the document's issuer is the one it was asked for.
	if _, err := oidc.NewProvider(context.Background(), iss); err != nil {
		t.Error(err)
	}
}

// TestMounted serves the provider the way the app does, under /oidc/ in a
// larger router that receives the full path.
func TestMounted(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	cfg := testConfig()
	cfg.Issuer = "http://" + srv.Listener.Addr().String() + "/oidc"
	p, err := devidp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/oidc/", p.Handler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "the app") })
	srv.Config.Handler = mux
	srv.Start()

	tok := signIn(t, p, gpt, gptCallback, "alice", []string{"openid", "profile"}, "")
	if resp, body := userinfo(t, p, tok.AccessToken); resp.StatusCode != http.StatusOK || body["sub"] != "alice" {
		t.Fatalf("userinfo: %s %v", resp.Status, body)
	}
	if resp := noRedirect(t, srv.URL+"/elsewhere"); resp.StatusCode != http.StatusOK {
		t.Errorf("the app's own route: %s", resp.Status)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	for name, cfg := range map[string]devidp.Config{
		"issuer without /oidc":      {Issuer: "http://127.0.0.1:8080"},
		"http issuer off loopback":  {Issuer: "http://agenda.example.com/oidc"},
		"client without secret":     {Issuer: "http://127.0.0.1:1/oidc", Clients: []devidp.Client{{ID: "a"}}},
		"public client with secret": {Issuer: "http://127.0.0.1:1/oidc", Clients: []devidp.Client{{ID: "a", Secret: "s", Public: true}}},
		"repeated client":           {Issuer: "http://127.0.0.1:1/oidc", Clients: []devidp.Client{{ID: "a", Secret: "s"}, {ID: "a", Secret: "t"}}},
		"unknown default resource":  {Issuer: "http://127.0.0.1:1/oidc", Clients: []devidp.Client{{ID: "a", Secret: "s", DefaultResource: "x"}}},
	} {
		if _, err := devidp.New(cfg); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
	if _, err := devidp.New(devidp.Config{Issuer: "https://auth.example.com/oidc"}); err != nil {
		t.Errorf("https issuer: %v", err)
	}
}

func TestEndSession(t *testing.T) {
	p := start(t, testConfig())
	end := p.Issuer() + "/session/end?"
	resp := noRedirect(t, end+url.Values{"client_id": {web.ID}, "post_logout_redirect_uri": {webHome}, "state": {"s1"}}.Encode())
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != webHome+"?state=s1" {
		t.Errorf("registered post_logout_redirect_uri: %s to %q", resp.Status, loc)
	}
	resp = noRedirect(t, end+url.Values{"client_id": {web.ID}, "post_logout_redirect_uri": {"https://evil.example/"}}.Encode())
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unregistered post_logout_redirect_uri: %s to %q", resp.Status, resp.Header.Get("Location"))
	}
	resp = noRedirect(t, end+url.Values{"client_id": {web.ID}}.Encode())
	if loc := resp.Header.Get("Location"); loc != p.Issuer()+"/session/end/success" {
		t.Errorf("without post_logout_redirect_uri: %s to %q", resp.Status, loc)
	}
	if resp := noRedirect(t, p.Issuer()+"/session/end/success"); resp.StatusCode != http.StatusOK {
		t.Errorf("signed-out page: %s", resp.Status)
	}
}

// provider is what the helpers need of a running provider.
type provider interface{ Issuer() string }
