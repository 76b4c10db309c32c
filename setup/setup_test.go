package setup

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/agenda-gpt/agenda/config"
)

// stack is an app at https://agenda.example.com and a Logto tenant at
// https://auth.example.com, both set up as docs/setup.md says, with RBAC and
// a Machine-to-machine application for the deeper checks.
type stack struct {
	world *world
	app   *fakeApp
	logto *fakeLogto
	env   map[string]string
}

func newStack(t *testing.T) *stack {
	t.Helper()
	const base = "https://agenda.example.com"
	s := &stack{world: newWorld(t)}
	s.logto = newFakeLogto("https://auth.example.com", base, base+"/api")
	s.app = newFakeApp(base, s.logto.issuer)
	s.world.handle("agenda.example.com", s.app)
	s.world.handle("auth.example.com", s.logto)
	s.env = map[string]string{
		"BASE_URL":             base,
		"LOGTO_ENDPOINT":       "https://auth.example.com",
		"LOGTO_API_RESOURCE":   base + "/api",
		"LOGTO_APP_ID":         "web-app",
		"LOGTO_APP_SECRET":     "web-secret",
		"SESSION_SECRET":       strings.Repeat("k", 44),
		"LOGTO_M2M_APP_ID":     "m2m-app",
		"LOGTO_M2M_APP_SECRET": "m2m-secret",
		"LOGTO_GPT_APP_ID":     "gpt-app",
	}
	return s
}

func (s *stack) run(t *testing.T) (bool, string) {
	t.Helper()
	return runSetup(t, s.world, s.env)
}

func TestGoodSetupPrintsTheEditorValues(t *testing.T) {
	s := newStack(t)
	ok, out := s.run(t)
	if !ok {
		t.Fatal("Run reported a problem in a good setup")
	}
	for _, want := range []string{
		"Schema Import from URL: https://agenda.example.com/openapi.yaml",
		"Authentication OAuth",
		"Client ID gpt-app",
		"Authorization URL https://auth.example.com/oidc/auth",
		"Token URL https://auth.example.com/oidc/token",
		"Scope read write offline_access",
		"Token exchange method Default (POST request)",
		"Privacy policy https://agenda.example.com/privacy",
		"No openid, on purpose: with openid in the scope Logto keeps issuing opaque tokens",
		"Traditional web, because a GPT sends no PKCE",
		`"Always issue Refresh Token"`,
		"https://chatgpt.com/aip/g-<id>/oauth/callback",
		"copy it again each time",
		"mark it Default API, give it the permissions read and write",
		"Redirect URI https://agenda.example.com/callback",
		"ok The app and its sign-in share the root domain example.com.",
		"ok The API resource https://agenda.example.com/api is the Default API.",
		`ok Roles grant read and write of https://agenda.example.com/api: "Agenda user".`,
		"Nothing found that stops the GPT from working.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, unwanted := range []string{"PROBLEM", "warning "} {
		if strings.Contains(out, unwanted) {
			t.Errorf("output has %q", unwanted)
		}
	}
}

func TestWithoutRBACTheScopeKeepsOpenID(t *testing.T) {
	s := newStack(t)
	delete(s.env, "LOGTO_API_RESOURCE")
	ok, out := s.run(t)
	if !ok {
		t.Fatal("Run reported a problem")
	}
	if !strings.Contains(out, "Scope openid offline_access") {
		t.Error("the scope is not openid offline_access")
	}
	if strings.Contains(out, "Default API") {
		t.Error("the RBAC console step is shown without LOGTO_API_RESOURCE")
	}
	// Opaque tokens cannot be bound to the GPT's application: say so.
	if !strings.Contains(out, "warning Access tokens are opaque, and Logto does not say") {
		t.Error("no warning that opaque tokens of any application are accepted")
	}
}

// TestBrokenSettings breaks one thing at a time and checks that setup says
// what is wrong, and whether that stops the GPT.
func TestBrokenSettings(t *testing.T) {
	tests := []struct {
		name   string
		change func(s *stack)
		ok     bool
		want   []string
	}{
		{
			name:   "discovery unreachable",
			change: func(s *stack) { s.env["LOGTO_ENDPOINT"] = "https://gone.example.com" },
			want: []string{
				"PROBLEM The sign-in provider's discovery document cannot be read at https://gone.example.com/oidc/.well-known/openid-configuration: the name gone.example.com does not resolve.",
				"Fix: set LOGTO_ENDPOINT to your Logto endpoint without /oidc",
				"(The authorization and token URLs follow Logto's usual layout: discovery could not be read",
			},
		},
		{
			name: "discovery answers an error",
			change: func(s *stack) {
				s.world.handle("auth.example.com", http.NotFoundHandler())
			},
			want: []string{"The sign-in provider answers HTTP 404 at https://auth.example.com/oidc/.well-known/openid-configuration instead of its discovery document."},
		},
		{
			name: "discovery not Logto-shaped",
			change: func(s *stack) {
				delete(s.logto.discovery, "userinfo_endpoint")
				delete(s.logto.discovery, "jwks_uri")
			},
			want: []string{"lacks userinfo_endpoint, jwks_uri: it is not Logto's, which has them all."},
		},
		{
			name: "issuer of another domain",
			change: func(s *stack) {
				s.logto.discovery["issuer"] = "https://agenda.logto.app/oidc"
			},
			want: []string{
				"The provider names its issuer https://agenda.logto.app/oidc, but the app expects https://auth.example.com/oidc",
				"with a custom domain (auth.example.com), use the custom domain in LOGTO_ENDPOINT",
			},
		},
		{
			name:   "http BASE_URL",
			change: func(s *stack) { s.env["BASE_URL"] = "http://agenda.example.com" },
			want:   []string{"PROBLEM BASE_URL is http://agenda.example.com, not https: ChatGPT calls actions over HTTPS only"},
		},
		{
			name:   "BASE_URL on another port",
			change: func(s *stack) { s.env["BASE_URL"] = "https://agenda.example.com:8443" },
			want:   []string{"on port 8443: ChatGPT calls actions on port 443 only."},
		},
		{
			name: "different root domains",
			change: func(s *stack) {
				s.logto = newFakeLogto("https://agenda-tenant.logto.app", "https://agenda.example.com", "https://agenda.example.com/api")
				s.world.handle("agenda-tenant.logto.app", s.logto)
				s.env["LOGTO_ENDPOINT"] = "https://agenda-tenant.logto.app"
				s.app.resource["authorization_servers"] = []string{s.logto.issuer}
				delete(s.env, "LOGTO_M2M_APP_ID")
				delete(s.env, "LOGTO_M2M_APP_SECRET")
			},
			want: []string{
				"PROBLEM The app is on example.com but sign-in is on agenda-tenant.logto.app",
				"add a Logto custom domain under example.com, such as auth.example.com (Console → Settings → Domains), and set LOGTO_ENDPOINT to it.",
			},
		},
		{
			name: "no web settings",
			change: func(s *stack) {
				delete(s.env, "LOGTO_APP_ID")
				delete(s.env, "LOGTO_APP_SECRET")
				delete(s.env, "SESSION_SECRET")
			},
			ok:   true,
			want: []string{"warning The web UI is off: LOGTO_APP_ID, LOGTO_APP_SECRET and SESSION_SECRET are not set. The GPT works without it"},
		},
		{
			name:   "web settings incomplete",
			change: func(s *stack) { delete(s.env, "SESSION_SECRET") },
			ok:     true,
			want:   []string{"warning The web UI is off because SESSION_SECRET is not set"},
		},
		{
			name:   "short session secret",
			change: func(s *stack) { s.env["SESSION_SECRET"] = "secret" },
			ok:     true,
			want:   []string{"warning SESSION_SECRET is 6 characters long; session cookies need at least 32", "openssl rand -base64 32"},
		},
		{
			name:   "privacy page missing",
			change: func(s *stack) { s.app.privacyStatus = http.StatusNotFound },
			want:   []string{"PROBLEM The privacy policy is not reachable at https://agenda.example.com/privacy (HTTP 404). An action cannot be published without one"},
		},
		{
			name:   "app not running",
			change: func(s *stack) { s.env["BASE_URL"] = "https://elsewhere.example.com" },
			want:   []string{"PROBLEM The app does not answer at https://elsewhere.example.com: the name elsewhere.example.com does not resolve."},
		},
		{
			name:   "schema names another server",
			change: func(s *stack) { s.app.servers = []string{"http://localhost:8080"} },
			want:   []string{"The schema names its server http://localhost:8080, but BASE_URL is https://agenda.example.com"},
		},
		{
			name: "no S256 for MCP clients",
			change: func(s *stack) {
				s.logto.discovery["code_challenge_methods_supported"] = []string{"plain"}
			},
			ok:   true,
			want: []string{"warning MCP: the provider's discovery document does not list S256 in code_challenge_methods_supported"},
		},
		{
			name:   "MCP metadata not served",
			change: func(s *stack) { s.app.resource = nil },
			ok:     true,
			want:   []string{"warning MCP: https://agenda.example.com/.well-known/oauth-protected-resource is not served"},
		},
		{
			name:   "MCP metadata only at the root",
			change: func(s *stack) { s.app.rootOnly = true },
			ok:     true,
			want:   []string{"warning MCP: https://agenda.example.com/.well-known/oauth-protected-resource/mcp is not served; some MCP clients look for the metadata only there."},
		},
		{
			name: "Management API refused",
			change: func(s *stack) {
				s.world.handle("auth.example.com", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if strings.HasPrefix(r.URL.Path, "/api/") {
						http.Error(w, `{"code":"auth.forbidden"}`, http.StatusForbidden)
						return
					}
					s.logto.ServeHTTP(w, r)
				}))
			},
			ok: true,
			want: []string{
				"warning Logto's configuration was checked only in part: the Management API refused GET /api/applications/gpt-app (HTTP 403).",
				"a role with the Logto Management API's all permission",
			},
		},
		{
			name:   "MCP resource differs by a slash",
			change: func(s *stack) { s.app.resource["resource"] = "https://agenda.example.com/mcp/" },
			ok:     true,
			want: []string{`names the resource "https://agenda.example.com/mcp/", but MCP_RESOURCE is "https://agenda.example.com/mcp"`,
				"a trailing slash counts"},
		},
		{
			name:   "RBAC without the Management API",
			change: func(s *stack) { delete(s.env, "LOGTO_M2M_APP_ID"); delete(s.env, "LOGTO_M2M_APP_SECRET") },
			ok:     true,
			want: []string{
				"ok The provider's JWKS has 1 signing key for verifying JWTs.",
				"warning LOGTO_API_RESOURCE is https://agenda.example.com/api, but discovery says nothing of API resources",
				"note The GPT's Logto application (type, callback URL, refresh tokens) was not checked.",
				"Client ID <App ID of the Logto application for the GPT>",
			},
		},
		{
			name:   "wrong M2M secret",
			change: func(s *stack) { s.env["LOGTO_M2M_APP_SECRET"] = "nope" },
			ok:     true,
			want:   []string{"warning Logto's configuration was not checked: Logto refused a Management API token to LOGTO_M2M_APP_ID (HTTP 401 invalid_client"},
		},
		{
			name:   "Management API under another name",
			change: func(s *stack) { s.logto.mgmtResource = "https://t0k3n.logto.app/api" },
			ok:     true,
			want:   []string{"invalid_target", "set LOGTO_MANAGEMENT_API=https://<tenant-id>.logto.app/api"},
		},
		{
			name: "GPT application is a SPA",
			change: func(s *stack) {
				s.logto.app("gpt-app")["type"] = "SPA"
			},
			want: []string{`PROBLEM The GPT's application "Agenda GPT" is of type SPA, not Traditional web`},
		},
		{
			name: "no ChatGPT callback",
			change: func(s *stack) {
				s.logto.app("gpt-app")["oidcClientMetadata"] = map[string]any{"redirectUris": []string{"https://chatgpt.com/aip/g-0123abcd/oauth/callback/"}}
			},
			want: []string{
				`PROBLEM The GPT's application "Agenda GPT" has no ChatGPT callback URL among its redirect URIs`,
				"looks like ChatGPT's but is not exactly",
			},
		},
		{
			name: "refresh tokens not always issued",
			change: func(s *stack) {
				s.logto.app("gpt-app")["customClientMetadata"] = map[string]any{}
			},
			want: []string{`PROBLEM "Always issue Refresh Token" is off for the GPT's application "Agenda GPT"`, "sign in again every hour"},
		},
		{
			name:   "unknown GPT application",
			change: func(s *stack) { s.env["LOGTO_GPT_APP_ID"] = "nope" },
			want:   []string{"PROBLEM LOGTO_GPT_APP_ID is nope, but this Logto tenant has no application with that App ID."},
		},
		{
			name:   "GPT application found by its callback",
			change: func(s *stack) { delete(s.env, "LOGTO_GPT_APP_ID") },
			ok:     true,
			want:   []string{`note The GPT's application was taken to be "Agenda GPT" (gpt-app)`, "set LOGTO_GPT_APP_ID=gpt-app", "Client ID gpt-app"},
		},
		{
			name: "web UI application lacks its callback",
			change: func(s *stack) {
				s.logto.app("web-app")["oidcClientMetadata"] = map[string]any{"redirectUris": []string{}}
			},
			ok:   true,
			want: []string{`warning The web UI's application "Agenda web" lacks the redirect URI https://agenda.example.com/callback`},
		},
		{
			name:   "API resource differs by a slash",
			change: func(s *stack) { s.logto.resources[1]["indicator"] = "https://agenda.example.com/api/" },
			want: []string{
				"PROBLEM LOGTO_API_RESOURCE is https://agenda.example.com/api, but Logto has no API resource with that identifier",
				"which differs only by a trailing slash",
			},
		},
		{
			name:   "API resource not the default",
			change: func(s *stack) { s.logto.resources[1]["isDefault"] = false },
			want:   []string{"PROBLEM The API resource https://agenda.example.com/api is not the Default API."},
		},
		{
			name:   "write permission missing",
			change: func(s *stack) { s.logto.scopes["res-agenda"] = s.logto.scopes["res-agenda"][:1] },
			want:   []string{"PROBLEM The API resource https://agenda.example.com/api lacks the permission write"},
		},
		{
			name:   "no role grants write",
			change: func(s *stack) { s.logto.roleScopes["role-user"] = s.logto.roleScopes["role-user"][:1] },
			want:   []string{"PROBLEM No user role grants the write permission of https://agenda.example.com/api. Logto silently drops"},
		},
		{
			name: "the granting role has no users",
			change: func(s *stack) {
				s.logto.roles[1]["usersCount"] = 0
				s.logto.roles[1]["isDefault"] = false
			},
			ok:   true,
			want: []string{`warning The roles granting read and write ("Agenda user") are assigned to no user`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t)
			tt.change(s)
			ok, out := s.run(t)
			if ok != tt.ok {
				t.Errorf("Run = %v, want %v", ok, tt.ok)
			}
			for _, want := range tt.want {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q", want)
				}
			}
		})
	}
}

func TestManyApplicationsArePaged(t *testing.T) {
	s := newStack(t)
	delete(s.env, "LOGTO_GPT_APP_ID")
	gpt := s.logto.apps[0]
	var apps []map[string]any
	for i := range 250 {
		apps = append(apps, logtoApplication("app-"+string(rune('a'+i%26))+strings.Repeat("x", i/26), "Other", "Traditional", nil, false))
	}
	s.logto.apps = append(apps, gpt, s.logto.apps[1])
	ok, out := s.run(t)
	if !ok {
		t.Fatal("Run reported a problem")
	}
	if !strings.Contains(out, "Client ID gpt-app") {
		t.Error("the GPT application on the third page was not found")
	}
}

func TestManagementAPILocation(t *testing.T) {
	tests := []struct {
		endpoint, override string
		resource, base     string
	}{
		{"https://abc123.logto.app", "", "https://abc123.logto.app/api", "https://abc123.logto.app"},
		{"https://auth.example.com", "", "https://default.logto.app/api", "https://auth.example.com"},
		{"http://localhost:3001", "", "https://default.logto.app/api", "http://localhost:3001"},
		{"https://auth.example.com", "https://abc123.logto.app/api", "https://abc123.logto.app/api", "https://abc123.logto.app"},
	}
	for _, tt := range tests {
		u, _ := url.Parse(tt.endpoint)
		d := &doctor{cfg: config.Config{LogtoEndpoint: u}, mgmtAPI: tt.override}
		resource, base := d.managementAPI()
		if resource != tt.resource || base != tt.base {
			t.Errorf("%s with %q: got %s at %s, want %s at %s", tt.endpoint, tt.override, resource, base, tt.resource, tt.base)
		}
	}
}

func TestRootDomain(t *testing.T) {
	tests := []struct {
		host, root string
		ok         bool
	}{
		{"agenda.example.com", "example.com", true},
		{"auth.example.com", "example.com", true},
		{"agenda.example.co.uk", "example.co.uk", true},
		{"tenant.logto.app", "logto.app", true},
		{"localhost", "", false},
		{"127.0.0.1", "", false},
		{"::1", "", false},
	}
	for _, tt := range tests {
		root, ok := rootDomain(tt.host)
		if root != tt.root || ok != tt.ok {
			t.Errorf("rootDomain(%q) = %q, %v; want %q, %v", tt.host, root, ok, tt.root, tt.ok)
		}
	}
}
