package main

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/agenda-gpt/agenda/config"
	"github.com/agenda-gpt/agenda/devidp"
	"github.com/agenda-gpt/agenda/web"
)

// The development provider's clients. Their secrets are fixed and public:
// the provider runs only on a loopback BASE_URL, never in a deployment.
const (
	devGPTClientID     = "agenda-gpt-dev"
	devGPTClientSecret = "agenda-gpt-dev-secret"
	devWebClientID     = "agenda-web-dev"
	devMCPClientID     = "agenda-mcp-dev" // public, with PKCE: MCP Inspector and other local MCP clients
	devTokenCallback   = "/dev/callback"
)

// newDevIdP starts the built-in identity provider under /oidc, laid out
// like Logto, and points the web UI at it. The app then discovers it exactly
// as it discovers Logto.
func newDevIdP(cfg config.Config, webCfg *web.Config) (*devidp.Provider, error) {
	base := cfg.BaseURL.String()
	webSecret := randomSecret()
	resources := []devidp.Resource{{Indicator: cfg.MCPResource, Permissions: []string{"read", "write"}}}
	if cfg.LogtoAPIResource != "" {
		resources = append(resources, devidp.Resource{Indicator: cfg.LogtoAPIResource, Permissions: []string{"read", "write"}})
	}
	p, err := devidp.New(devidp.Config{
		Issuer: cfg.Issuer(),
		Clients: []devidp.Client{
			{
				ID: devGPTClientID, Secret: devGPTClientSecret,
				RedirectURIs:     []string{base + devTokenCallback},
				RedirectURIGlobs: []string{"https://chatgpt.com/aip/*/oauth/callback"},
				DefaultResource:  cfg.LogtoAPIResource,
			},
			{
				// Loopback callbacks on any port, as local MCP clients
				// (MCP Inspector, IDE agents) listen where they can.
				ID: devMCPClientID, Public: true,
				RedirectURIGlobs: []string{"http://localhost:*/**", "http://127.0.0.1:*/**"},
				DefaultResource:  cfg.MCPResource,
			},
			{
				ID: devWebClientID, Secret: webSecret,
				RedirectURIs:           []string{base + "/callback"},
				PostLogoutRedirectURIs: []string{base, base + "/"},
			},
		},
		Resources: resources,
	})
	if err != nil {
		return nil, fmt.Errorf("development identity provider: %w", err)
	}
	webCfg.ClientID, webCfg.ClientSecret = devWebClientID, webSecret
	if webCfg.SessionSecret == "" {
		webCfg.SessionSecret = randomSecret()
	}
	return p, nil
}

// logDevMode says, in one line nobody can miss, that the provider is the
// development one, and how to get a token and call the API.
func logDevMode(logger *slog.Logger, out io.Writer, cfg config.Config) {
	base := cfg.BaseURL.String()
	logger.Warn("DEVELOPMENT IDENTITY PROVIDER at " + cfg.Issuer() + ": any user name signs in; set LOGTO_ENDPOINT to use Logto")
	fmt.Fprintf(out, `
Try it:

  TOKEN=$(go run ./cmd/agenda token alice)
  curl -s -H "Authorization: Bearer $TOKEN" %[1]s/api/events
  curl -s -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
    -d '{"title":"Dentist","start":"2026-12-01T09:00:00+01:00","time_zone":"Europe/Paris"}' %[1]s/api/events
  open %[1]s/ in a browser and sign in as alice to watch the agenda live

`, base)
}
