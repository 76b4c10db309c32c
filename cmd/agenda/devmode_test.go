package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/agenda-gpt/agenda/config"
)

// TestDevModeWorksWithNoSettings: with no LOGTO_ENDPOINT and a loopback
// BASE_URL the built-in provider runs under /oidc with Logto's layout, the
// app discovers it like Logto, and `agenda token` gets a working token.
func TestDevModeWorksWithNoSettings(t *testing.T) {
	app := startApp(t, nil, nil)
	r := app.call("GET", "/oidc/.well-known/openid-configuration", "", nil)
	if r.Status != 200 {
		t.Fatalf("discovery: %d %s", r.Status, r.Body)
	}
	var disco map[string]any
	if err := json.Unmarshal(r.Body, &disco); err != nil {
		t.Fatal(err)
	}
	issuer := app.URL + "/oidc"
	for key, want := range map[string]string{
		"issuer": issuer, "authorization_endpoint": issuer + "/auth", "token_endpoint": issuer + "/token",
		"userinfo_endpoint": issuer + "/me", "jwks_uri": issuer + "/jwks",
	} {
		if disco[key] != want {
			t.Errorf("%s = %v, want %s", key, disco[key], want)
		}
	}
	if !strings.Contains(app.logs.String(), "DEVELOPMENT IDENTITY PROVIDER") {
		t.Error("the start-up log does not say the development provider runs")
	}

	env := map[string]string{"BASE_URL": app.URL}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"agenda", "token", "alice"}, func(k string) string { return env[k] }, &out, &out); err != nil {
		t.Fatalf("agenda token: %v", err)
	}
	tok := strings.TrimSpace(out.String())
	if r := app.call("POST", "/api/events", tok, map[string]any{"title": "Dev", "start": "2026-12-01T09:00:00Z"}); r.Status != http.StatusCreated {
		t.Fatalf("create with the dev token: %d %s", r.Status, r.Body)
	}
	if r := app.call("GET", "/api/events", tok, nil); r.Status != 200 || !strings.Contains(string(r.Body), `"Dev"`) {
		t.Fatalf("list with the dev token: %d %s", r.Status, r.Body)
	}
}

// TestDevModeNeverInDeployment: the development provider does not start when
// LOGTO_ENDPOINT is set, and a non-loopback BASE_URL without LOGTO_ENDPOINT
// does not start at all.
func TestDevModeNeverInDeployment(t *testing.T) {
	idp := startIdP(t)
	app := startApp(t, idp, nil)
	if r := app.call("GET", "/oidc/.well-known/openid-configuration", "", nil); r.Status != http.StatusNotFound {
		t.Errorf("with LOGTO_ENDPOINT set, /oidc is served: %d", r.Status)
	}
	if strings.Contains(app.logs.String(), "DEVELOPMENT IDENTITY PROVIDER") {
		t.Error("the development provider announced itself with LOGTO_ENDPOINT set")
	}

	for _, env := range []map[string]string{
		{"BASE_URL": "https://agenda.example.com"},
		{"BASE_URL": "http://192.168.1.10:8080"},
	} {
		cfg, err := config.Load(func(k string) string { return env[k] })
		if err == nil || cfg.DevIdP() || !strings.Contains(err.Error(), "LOGTO_ENDPOINT") {
			t.Errorf("BASE_URL %s without LOGTO_ENDPOINT: dev=%v err=%v", env["BASE_URL"], cfg.DevIdP(), err)
		}
		var out bytes.Buffer
		if err := run(context.Background(), []string{"agenda", "serve"}, func(k string) string { return env[k] }, &out, &out); err == nil {
			t.Errorf("serve started with BASE_URL %s and no LOGTO_ENDPOINT", env["BASE_URL"])
		}
	}
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"BASE_URL": "http://localhost:8080", "LOGTO_ENDPOINT": "https://tenant.logto.app"}[k]
	})
	if err != nil || cfg.DevIdP() {
		t.Errorf("loopback BASE_URL with LOGTO_ENDPOINT: dev=%v err=%v", cfg.DevIdP(), err)
	}
}

// TestDevModeListensOnLoopbackOnly: the development provider signs in
// anyone, so it is never reachable from the network.
func TestDevModeListensOnLoopbackOnly(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "localhost:8080"},
		{map[string]string{"BASE_URL": "http://127.0.0.1:9000", "PORT": "9000"}, "127.0.0.1:9000"},
		{map[string]string{"BASE_URL": "http://[::1]:8080"}, "[::1]:8080"},
		{map[string]string{"BASE_URL": "https://agenda.example.com", "LOGTO_ENDPOINT": "https://auth.example.com"}, ":8080"},
		{map[string]string{"LOGTO_ENDPOINT": "https://auth.example.com"}, ":8080"},
	} {
		cfg, err := config.Load(func(k string) string { return c.env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if got := listenAddress(cfg); got != c.want {
			t.Errorf("%v: listens on %q, want %q", c.env, got, c.want)
		}
	}
}
