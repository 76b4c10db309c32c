package setup

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/agenda-gpt/agenda/config"
)

// world stands in for the internet: a client whose requests to a registered
// host name reach that host's handler on a loopback test server (https on
// port 443, http on port 80), and whose other names do not resolve.
type world struct {
	plain, tls *httptest.Server
	mu         sync.Mutex
	hosts      map[string]http.Handler
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{hosts: map[string]http.Handler{}}
	route := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		w.mu.Lock()
		h := w.hosts[host]
		w.mu.Unlock()
		if h == nil {
			http.Error(rw, "no such host", http.StatusBadGateway)
			return
		}
		h.ServeHTTP(rw, r)
	})
	w.plain = httptest.NewServer(route)
	w.tls = httptest.NewTLSServer(route)
	t.Cleanup(w.plain.Close)
	t.Cleanup(w.tls.Close)
	return w
}

// handle serves host with h.
func (w *world) handle(host string, h http.Handler) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hosts[host] = h
}

func (w *world) client() *http.Client {
	dialer := &net.Dialer{}
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			w.mu.Lock()
			_, known := w.hosts[host]
			w.mu.Unlock()
			if !known {
				return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
			}
			target := w.plain.Listener.Addr().String()
			if port == "443" {
				target = w.tls.Listener.Addr().String()
			}
			return dialer.DialContext(ctx, network, target)
		},
		// The test server's certificate names example.com and its
		// subdomains only; the hosts here are make-believe anyway.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	}}
}

// runSetup loads env as the app would and runs setup; it returns Run's
// result and the output with runs of white space made single spaces, so
// tests can match sentences across wrapped lines.
func runSetup(t *testing.T, w *world, env map[string]string) (bool, string) {
	t.Helper()
	getenv := func(k string) string { return env[k] }
	cfg, err := config.Load(getenv)
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	var out bytes.Buffer
	ok := Run(context.Background(), cfg, getenv, w.client(), &out)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("output:\n%s", out.String())
		}
	})
	return ok, strings.Join(strings.Fields(out.String()), " ")
}

// fakeApp serves the app's public pages the way setup reads them.
type fakeApp struct {
	base          string
	privacyStatus int
	servers       []string
	resource      map[string]any // the protected resource metadata; nil: not served
	rootOnly      bool           // serve it without the path-inserted form
}

func newFakeApp(base, issuer string) *fakeApp {
	return &fakeApp{
		base:          base,
		privacyStatus: http.StatusOK,
		servers:       []string{base},
		resource:      map[string]any{"resource": base + "/mcp", "authorization_servers": []string{issuer}},
	}
}

func (a *fakeApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz":
		w.Write([]byte("ok"))
	case "/privacy":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(a.privacyStatus)
		w.Write([]byte("<h1>Privacy</h1>"))
	case "/openapi.yaml":
		w.Header().Set("Content-Type", "application/yaml")
		w.Write([]byte("openapi: 3.1.0\n"))
	case "/openapi.json":
		var servers []map[string]string
		for _, s := range a.servers {
			servers = append(servers, map[string]string{"url": s})
		}
		writeJSON(w, map[string]any{"openapi": "3.1.0", "servers": servers})
	case "/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp":
		if a.resource == nil || (a.rootOnly && strings.HasSuffix(r.URL.Path, "/mcp")) {
			http.NotFound(w, r)
			return
		}
		writeJSON(w, a.resource)
	default:
		http.NotFound(w, r)
	}
}

// fakeLogto serves a Logto tenant's discovery document, token endpoint and
// the parts of the Management API setup reads, shaped as Logto documents
// them (https://openapi.logto.io). Tests break one piece at a time.
type fakeLogto struct {
	issuer       string
	discovery    map[string]any
	mgmtResource string // the Management API's indicator, as Logto names it
	m2mID        string
	m2mSecret    string
	apps         []map[string]any
	resources    []map[string]any
	scopes       map[string][]map[string]any // by resource id
	roles        []map[string]any
	roleScopes   map[string][]map[string]any // by role id
}

const mgmtToken = "management-api-token"

// newFakeLogto returns a tenant set up as docs/setup.md says, for an app at
// base with RBAC on apiResource.
func newFakeLogto(origin, base, apiResource string) *fakeLogto {
	issuer := origin + "/oidc"
	read := map[string]any{"id": "scope-read", "resourceId": "res-agenda", "name": "read", "description": "Read events"}
	write := map[string]any{"id": "scope-write", "resourceId": "res-agenda", "name": "write", "description": "Change events"}
	withResource := func(s map[string]any) map[string]any {
		c := map[string]any{"resource": map[string]any{"id": "res-agenda", "indicator": apiResource}}
		for k, v := range s {
			c[k] = v
		}
		return c
	}
	return &fakeLogto{
		issuer: issuer,
		discovery: map[string]any{
			"issuer":                                issuer,
			"authorization_endpoint":                issuer + "/auth",
			"token_endpoint":                        issuer + "/token",
			"userinfo_endpoint":                     issuer + "/me",
			"jwks_uri":                              issuer + "/jwks",
			"end_session_endpoint":                  issuer + "/session/end",
			"scopes_supported":                      []string{"openid", "offline_access", "profile", "email"},
			"grant_types_supported":                 []string{"implicit", "authorization_code", "refresh_token", "client_credentials"},
			"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_jwt", "client_secret_post", "private_key_jwt", "none"},
			"code_challenge_methods_supported":      []string{"S256"},
			"response_types_supported":              []string{"code", "id_token", "code id_token", "none"},
		},
		mgmtResource: "https://default.logto.app/api",
		m2mID:        "m2m-app",
		m2mSecret:    "m2m-secret",
		apps: []map[string]any{
			logtoApplication("gpt-app", "Agenda GPT", "Traditional", []string{"https://chatgpt.com/aip/g-0123abcd/oauth/callback"}, true),
			logtoApplication("web-app", "Agenda web", "Traditional", []string{base + "/callback"}, false),
			logtoApplication("m2m-app", "Agenda setup", "MachineToMachine", nil, false),
		},
		resources: []map[string]any{
			{"tenantId": "default", "id": "management-api", "name": "Logto Management API", "indicator": "https://default.logto.app/api", "isDefault": false, "accessTokenTtl": 3600},
			{"tenantId": "default", "id": "res-agenda", "name": "Agenda", "indicator": apiResource, "isDefault": true, "accessTokenTtl": 3600},
		},
		scopes: map[string][]map[string]any{"res-agenda": {read, write}},
		roles: []map[string]any{
			{"id": "role-admin", "name": "Logto Management API access", "description": "", "type": "MachineToMachine", "isDefault": false, "usersCount": 0},
			{"id": "role-user", "name": "Agenda user", "description": "Uses the agenda", "type": "User", "isDefault": true, "usersCount": 3},
		},
		roleScopes: map[string][]map[string]any{"role-user": {withResource(read), withResource(write)}},
	}
}

func logtoApplication(id, name, typ string, redirects []string, alwaysRefresh bool) map[string]any {
	if redirects == nil {
		redirects = []string{}
	}
	postLogout := []string{}
	for _, r := range redirects {
		if base, ok := strings.CutSuffix(r, "/callback"); ok {
			postLogout = append(postLogout, base+"/")
		}
	}
	return map[string]any{
		"tenantId": "default", "id": id, "name": name, "description": nil, "type": typ,
		"oidcClientMetadata":   map[string]any{"redirectUris": redirects, "postLogoutRedirectUris": postLogout},
		"customClientMetadata": map[string]any{"alwaysIssueRefreshToken": alwaysRefresh, "rotateRefreshToken": true},
		"isThirdParty":         false, "createdAt": 1700000000000,
	}
}

func (f *fakeLogto) app(id string) map[string]any {
	for _, a := range f.apps {
		if a["id"] == id {
			return a
		}
	}
	return nil
}

func (f *fakeLogto) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case path == "/oidc/.well-known/openid-configuration":
		writeJSON(w, f.discovery)
		return
	case path == "/oidc/jwks":
		writeJSON(w, map[string]any{"keys": []map[string]string{{"kty": "EC", "crv": "P-384", "kid": "k1", "x": "x", "y": "y"}}})
		return
	case path == "/oidc/token":
		id, secret, _ := r.BasicAuth()
		if r.ParseForm() != nil || r.PostForm.Get("grant_type") != "client_credentials" {
			oauthError(w, http.StatusBadRequest, "invalid_request", "bad grant")
			return
		}
		if id != f.m2mID || secret != f.m2mSecret {
			oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
			return
		}
		if r.PostForm.Get("resource") != f.mgmtResource || r.PostForm.Get("scope") != "all" {
			oauthError(w, http.StatusBadRequest, "invalid_target", "resource indicator is missing, or unknown")
			return
		}
		writeJSON(w, map[string]any{"access_token": mgmtToken, "token_type": "Bearer", "expires_in": 3600, "scope": "all"})
		return
	case !strings.HasPrefix(path, "/api/"):
		http.NotFound(w, r)
		return
	}

	if r.Header.Get("Authorization") != "Bearer "+mgmtToken {
		http.Error(w, `{"code":"auth.unauthorized"}`, http.StatusUnauthorized)
		return
	}
	parts := strings.Split(strings.TrimPrefix(path, "/api/"), "/")
	switch {
	case len(parts) == 1 && parts[0] == "applications":
		writePage(w, r, f.apps)
	case len(parts) == 2 && parts[0] == "applications":
		if a := f.app(parts[1]); a != nil {
			writeJSON(w, a)
			return
		}
		http.Error(w, `{"code":"entity.not_exists_with_id"}`, http.StatusNotFound)
	case len(parts) == 1 && parts[0] == "resources":
		writePage(w, r, f.resources)
	case len(parts) == 3 && parts[0] == "resources" && parts[2] == "scopes":
		writePage(w, r, f.scopes[parts[1]])
	case len(parts) == 1 && parts[0] == "roles":
		var roles []map[string]any
		for _, role := range f.roles {
			if t := r.URL.Query().Get("type"); t == "" || role["type"] == t {
				roles = append(roles, role)
			}
		}
		writePage(w, r, roles)
	case len(parts) == 3 && parts[0] == "roles" && parts[2] == "scopes":
		writePage(w, r, f.roleScopes[parts[1]])
	default:
		http.NotFound(w, r)
	}
}

// writePage serves one page of items as Logto does, with page and page_size
// (default 20, at most 100) and the Total-Number header.
func writePage(w http.ResponseWriter, r *http.Request, items []map[string]any) {
	page, size := 1, 20
	if v, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && v > 0 {
		page = v
	}
	if v, err := strconv.Atoi(r.URL.Query().Get("page_size")); err == nil && v > 0 && v <= 100 {
		size = v
	}
	from := min((page-1)*size, len(items))
	to := min(from+size, len(items))
	w.Header().Set("Total-Number", strconv.Itoa(len(items)))
	out := items[from:to]
	if out == nil {
		out = []map[string]any{}
	}
	writeJSON(w, out)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func oauthError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}
