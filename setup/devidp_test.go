package setup

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agenda-gpt/agenda/config"
	"github.com/agenda-gpt/agenda/devidp"
)

// These tests read a real OpenID provider's discovery document and JWKS:
// devidp, laid out like Logto, on loopback.

// TestAgainstARealProvider puts the development provider where a Logto
// custom domain would be, https://auth.example.com, beside the app.
func TestAgainstARealProvider(t *testing.T) {
	const base = "https://agenda.example.com"
	idp, err := devidp.New(devidp.Config{
		Issuer: "https://auth.example.com/oidc",
		Clients: []devidp.Client{{
			ID: "gpt-app", Secret: "gpt-secret",
			RedirectURIs:            []string{"https://chatgpt.com/aip/g-0123abcd/oauth/callback"},
			DefaultResource:         base + "/api",
			AlwaysIssueRefreshToken: true,
		}},
		Resources: []devidp.Resource{{Indicator: base + "/api", Permissions: []string{"read", "write"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t)
	w.handle("auth.example.com", idp)
	w.handle("agenda.example.com", newFakeApp(base, idp.Issuer()))

	ok, out := runSetup(t, w, map[string]string{
		"BASE_URL":           base,
		"LOGTO_ENDPOINT":     "https://auth.example.com",
		"LOGTO_API_RESOURCE": base + "/api",
		"LOGTO_APP_ID":       "web-app",
		"LOGTO_APP_SECRET":   "web-secret",
		"SESSION_SECRET":     strings.Repeat("k", 32),
	})
	if !ok {
		t.Error("Run reported a problem")
	}
	for _, want := range []string{
		"Authorization URL https://auth.example.com/oidc/auth",
		"Token URL https://auth.example.com/oidc/token",
		"Token exchange method Default (POST request)",
		"Scope read write offline_access",
		"ok The provider's discovery document at https://auth.example.com/oidc/.well-known/openid-configuration names the expected issuer.",
		"ok The provider supports PKCE with S256",
		"ok The provider's JWKS has 1 signing key",
		"ok The app and its sign-in share the root domain example.com.",
		"warning LOGTO_API_RESOURCE is https://agenda.example.com/api, but discovery says nothing of API resources",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "PROBLEM") {
		t.Error("output reports a problem")
	}
}

// TestLocalDevelopment runs setup as a person would right after cloning:
// no LOGTO_ENDPOINT and a loopback BASE_URL, the app serving the built-in
// provider under /oidc. The values it prints are right, and it says plainly
// that ChatGPT cannot reach a loopback address.
func TestLocalDevelopment(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	idp, err := devidp.New(devidp.Config{Issuer: base + "/oidc"})
	if err != nil {
		t.Fatal(err)
	}
	app := newFakeApp(base, idp.Issuer())
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/oidc/") {
			idp.ServeHTTP(w, r)
			return
		}
		app.ServeHTTP(w, r)
	})
	srv.Start()
	t.Cleanup(srv.Close)

	getenv := func(k string) string { return map[string]string{"BASE_URL": base}[k] }
	cfg, err := config.Load(getenv)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.DevIdP() {
		t.Fatal("the settings do not select the development provider")
	}
	var buf bytes.Buffer
	ok := Run(context.Background(), cfg, getenv, srv.Client(), &buf)
	out := strings.Join(strings.Fields(buf.String()), " ")
	if ok {
		t.Error("Run = true for a loopback BASE_URL ChatGPT cannot reach")
	}
	for _, want := range []string{
		"PROBLEM BASE_URL is " + base + ", a loopback address ChatGPT cannot reach",
		"a GPT needs Logto, so set LOGTO_ENDPOINT too",
		"Authorization URL " + base + "/oidc/auth",
		"Token URL " + base + "/oidc/token",
		"Scope openid offline_access",
		"ok The provider's discovery document at " + base + "/oidc/.well-known/openid-configuration names the expected issuer.",
		"ok The privacy policy is reachable at " + base + "/privacy.",
		"ok The web UI signs in with the built-in development provider.",
		"1 problem stops the GPT from working",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "second Traditional web application") {
		t.Error("the web UI's Logto step is shown in development mode")
	}
	if t.Failed() {
		t.Logf("output:\n%s", buf.String())
	}
}
