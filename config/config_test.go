package config

import (
	"strings"
	"testing"
	"time"
)

func load(env map[string]string) (Config, error) {
	return Load(func(k string) string { return env[k] })
}

func TestDefaults(t *testing.T) {
	c, err := load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL.String() != DefaultBaseURL || c.Port != DefaultPort || c.Database != DefaultDatabase {
		t.Errorf("defaults: %s %d %s", c.BaseURL, c.Port, c.Database)
	}
	if !c.DevIdP() || c.Issuer() != "http://localhost:8080/oidc" || c.MCPResource != "http://localhost:8080/mcp" {
		t.Errorf("dev=%v issuer=%s mcp=%s", c.DevIdP(), c.Issuer(), c.MCPResource)
	}
	if c.IdPTimeout != 3*time.Second || c.TokenCacheTTL != time.Minute || c.RequestTimeout != 30*time.Second {
		t.Errorf("timeouts %v %v %v", c.IdPTimeout, c.TokenCacheTTL, c.RequestTimeout)
	}
}

func TestLogtoEndpoint(t *testing.T) {
	c, err := load(map[string]string{"LOGTO_ENDPOINT": "https://auth.example.com/", "BASE_URL": "https://agenda.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if c.DevIdP() || c.Issuer() != "https://auth.example.com/oidc" {
		t.Errorf("dev=%v issuer=%s", c.DevIdP(), c.Issuer())
	}
	if got := c.Origins(); len(got) != 1 || got[0] != "https://agenda.example.com" {
		t.Errorf("origins %v", got)
	}
}

// TestMalformedSettings: each bad value is named, with how to fix it, and
// all of them are reported at once.
func TestMalformedSettings(t *testing.T) {
	cases := map[string]string{
		"BASE_URL":                    "agenda.example.com",
		"PORT":                        "eighty",
		"LOGTO_ENDPOINT":              "ftp://auth.example.com",
		"IDP_TIMEOUT":                 "3 seconds",
		"RATE_LIMIT":                  "-1",
		"TOKEN_CACHE_TTL":             "0s",
		"LOG_LEVEL":                   "loud",
		"ALLOWED_ORIGINS":             "https://ok.example.com, not a url",
		"DB_MAX_CONNS":                "0",
		"TRUSTED_PROXIES":             "10.0.0.0/8, a proxy",
		"AUTH_FAILURE_BURST":          "0",
		"WS_MAX_CONNECTIONS_PER_USER": "0",
		// Without LOGTO_API_RESOURCE, every token would be refused.
		"LOGTO_ALLOWED_CLIENTS": "gpt-app",
	}
	_, err := load(cases)
	if err == nil {
		t.Fatal("no error")
	}
	for name := range cases {
		if !strings.Contains(err.Error(), name+" ") {
			t.Errorf("error does not name %s:\n%v", name, err)
		}
	}
	if !strings.Contains(err.Error(), "like https://agenda.example.com") {
		t.Errorf("error does not say how to fix BASE_URL:\n%v", err)
	}
}

func TestListSettings(t *testing.T) {
	c, err := load(map[string]string{
		"TRUSTED_PROXIES":       "10.0.0.0/8, 192.0.2.7 ,2001:db8::1",
		"LOGTO_ALLOWED_CLIENTS": " gpt-app, ,other ",
		"LOGTO_API_RESOURCE":    "https://agenda.example.com/api",
	})
	if err != nil {
		t.Fatal(err)
	}
	var nets []string
	for _, n := range c.TrustedProxies {
		nets = append(nets, n.String())
	}
	if got := strings.Join(nets, " "); got != "10.0.0.0/8 192.0.2.7/32 2001:db8::1/128" {
		t.Errorf("TRUSTED_PROXIES read as %s", got)
	}
	if got := strings.Join(c.AllowedClients, " "); got != "gpt-app other" {
		t.Errorf("LOGTO_ALLOWED_CLIENTS read as %q", got)
	}
}

func TestIdPTimeoutBelowRequestTimeout(t *testing.T) {
	_, err := load(map[string]string{"IDP_TIMEOUT": "40s", "REQUEST_TIMEOUT": "30s"})
	if err == nil || !strings.Contains(err.Error(), "IDP_TIMEOUT") {
		t.Errorf("err = %v", err)
	}
}

func TestLogtoEndpointWithOIDCPath(t *testing.T) {
	_, err := load(map[string]string{"LOGTO_ENDPOINT": "https://tenant.logto.app/oidc"})
	if err == nil || !strings.Contains(err.Error(), "without /oidc") {
		t.Errorf("err = %v", err)
	}
}
