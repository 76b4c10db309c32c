package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2/memstore"

	"github.com/agenda-gpt/agenda"
	"github.com/agenda-gpt/agenda/auth"
)

const testSecret = "test-session-secret-0123456789abcdef"

var testGPT = GPTSettings{
	SchemaURL:        "https://agenda.example.com/openapi.yaml",
	AuthorizationURL: "https://auth.example.com/oidc/auth",
	TokenURL:         "https://auth.example.com/oidc/token",
	Scope:            "openid profile offline_access",
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// testConfig is a web UI with sign-in on, against an issuer that is never
// contacted unless a test signs in.
func testConfig(t *testing.T) Config {
	return Config{
		BaseURL:       mustURL(t, "http://agenda.test"),
		Issuer:        "http://127.0.0.1:1/oidc",
		ClientID:      "web",
		ClientSecret:  "web-secret",
		SessionSecret: testSecret,
		GPT:           testGPT,
	}
}

// newWeb builds a web UI with an in-memory session store.
func newWeb(t *testing.T, cfg Config) (*Web, *memstore.MemStore) {
	t.Helper()
	store := memstore.NewWithCleanupInterval(0)
	if cfg.Discover == nil {
		// The app's one discovery, as cmd/agenda wires it.
		a, err := auth.New(auth.Config{Issuer: cfg.Issuer, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Discover = a.Provider
	}
	w, err := New(cfg, store)
	if err != nil {
		t.Fatal(err)
	}
	return w, store
}

// signedIn stores a signed-in session the way the callback leaves it and
// returns its cookie.
func signedIn(t *testing.T, w *Web, userID, name string) *http.Cookie {
	t.Helper()
	ctx, err := w.sessions.Load(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	w.sessions.Put(ctx, keyUserID, userID)
	w.sessions.Put(ctx, keyName, name)
	token, _, err := w.sessions.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Cookie{Name: w.sessions.Cookie.Name, Value: token}
}

func serve(t *testing.T, h http.Handler, r *http.Request) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Result()
}

func get(t *testing.T, h http.Handler, path string, cookies ...*http.Cookie) (*http.Response, string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	resp := serve(t, h, r)
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestPages(t *testing.T) {
	w, _ := newWeb(t, testConfig(t))
	alice := signedIn(t, w, "sub-alice", `Alice <script>`)

	for _, tc := range []struct {
		name    string
		path    string
		cookie  *http.Cookie
		status  int
		want    []string
		notWant []string
	}{
		{
			name: "signed out home", path: "/", status: http.StatusOK,
			want: []string{`id="sign-in" href="/sign-in"`, "Add it to your GPT", testGPT.SchemaURL, testGPT.AuthorizationURL,
				testGPT.TokenURL, testGPT.Scope, "http://agenda.test/privacy", "copy.js"},
			notWant: []string{"agenda.js", "LOGTO_APP_ID"},
		},
		{
			name: "signed in home", path: "/", cookie: alice, status: http.StatusOK,
			want: []string{`id="agenda"`, `data-ws-path="/ws"`, `data-api-path="/api/events"`, `id="connection"`,
				`data-state="connecting"`, `aria-live="polite"`, `id="event-form"`, `id="sign-out"`,
				"Alice &lt;script&gt;", "agenda.js"},
			notWant: []string{`id="sign-in"`, "Alice <script>"},
		},
		{
			name: "privacy", path: "/privacy", status: http.StatusOK,
			want: []string{"Privacy policy", "Your events", "subject id", "session", "How to delete your data"},
		},
		{
			name: "privacy signed in", path: "/privacy", cookie: alice, status: http.StatusOK,
			want: []string{"Privacy policy", `id="sign-out"`},
		},
		{name: "not found", path: "/no/such/page", status: http.StatusNotFound, want: []string{"Page not found"}},
		{name: "not found signed in", path: "/events", cookie: alice, status: http.StatusNotFound, want: []string{"Page not found"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cookies []*http.Cookie
			if tc.cookie != nil {
				cookies = append(cookies, tc.cookie)
			}
			resp, body := get(t, w, tc.path, cookies...)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			checkPageHeaders(t, resp)
			if !strings.Contains(body, `href="/privacy"`) {
				t.Error("no link to the privacy page")
			}
			for _, s := range tc.want {
				if !strings.Contains(body, s) {
					t.Errorf("page lacks %q", s)
				}
			}
			for _, s := range tc.notWant {
				if strings.Contains(body, s) {
					t.Errorf("page has %q", s)
				}
			}
			if resp.Header.Get("Set-Cookie") != "" {
				t.Errorf("a page view set a cookie: %s", resp.Header.Get("Set-Cookie"))
			}
		})
	}

	t.Run("no token in the page", func(t *testing.T) {
		// Cross-origin requests are refused by their headers
		// (CheckCrossOrigin), so the page carries no secret.
		if _, body := get(t, w, "/", alice); strings.Contains(body, "csrf") {
			t.Error("the page still carries a CSRF token")
		}
	})
}

func checkPageHeaders(t *testing.T, resp *http.Response) {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "connect-src 'self' ws://agenda.test"} {
		if !strings.Contains(csp, d) {
			t.Errorf("CSP %q lacks %q", csp, d)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("CSP allows unsafe sources: %q", csp)
	}
	for h, want := range map[string]string{
		"Cache-Control": "no-store",
	} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
}

// TestNoInlineCode keeps the pages compatible with the CSP: no inline
// script, style or event handler attribute.
func TestNoInlineCode(t *testing.T) {
	w, _ := newWeb(t, testConfig(t))
	alice := signedIn(t, w, "sub-alice", "Alice")
	inline := regexp.MustCompile(`<script(?:[^>]*)>\s*[^<\s]|<style|\sstyle="|\son[a-z]+="|javascript:`)
	for _, path := range []string{"/", "/privacy", "/sign-out", "/nope"} {
		for _, c := range [][]*http.Cookie{nil, {alice}} {
			_, body := get(t, w, path, c...)
			if m := inline.FindString(body); m != "" {
				t.Errorf("%s has inline code: %q", path, m)
			}
		}
	}
}

func TestStatic(t *testing.T) {
	w, _ := newWeb(t, testConfig(t))
	alice := signedIn(t, w, "sub-alice", "Alice")

	// Every asset a page links to is served, cacheable for a year.
	ref := regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`)
	seen := map[string]bool{}
	for _, c := range [][]*http.Cookie{nil, {alice}} {
		_, body := get(t, w, "/", c...)
		for _, m := range ref.FindAllStringSubmatch(body, -1) {
			seen[strings.ReplaceAll(m[1], "&amp;", "&")] = true
		}
	}
	for _, name := range []string{"app.css", "agenda.js", "copy.js", "icon.svg"} {
		u, _ := w.assetURL(name)
		if !seen[u] {
			t.Errorf("no page links %s", u)
		}
	}
	types := map[string]string{".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
	for u := range seen {
		resp, body := get(t, w, u)
		if resp.StatusCode != http.StatusOK || body == "" {
			t.Errorf("%s: %d", u, resp.StatusCode)
			continue
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("%s: Cache-Control %q", u, cc)
		}
		ext := u[strings.LastIndex(u, "."):strings.Index(u, "?")]
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, types[ext]) {
			t.Errorf("%s: Content-Type %q", u, ct)
		}
	}

	resp, _ := get(t, w, "/static/app.css")
	if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("unversioned: Cache-Control %q", cc)
	}
	r := httptest.NewRequest(http.MethodGet, "/static/app.css", nil)
	r.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	if resp := serve(t, w, r); resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", resp.StatusCode)
	}
	if resp, _ := get(t, w, "/static/nope.js"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("missing file: %d", resp.StatusCode)
	}
	if resp, _ := get(t, w, "/static/static.go"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("static.go is served: %d", resp.StatusCode)
	}
}

func TestSignInOff(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     func(*Config)
		missing string
	}{
		{"no client id", func(c *Config) { *c = Config{BaseURL: c.BaseURL, GPT: c.GPT} }, "LOGTO_APP_ID, LOGTO_APP_SECRET, SESSION_SECRET"},
		{"no secrets", func(c *Config) { c.ClientSecret, c.SessionSecret = "", "" }, "LOGTO_APP_SECRET, SESSION_SECRET"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			cfg := testConfig(t)
			tc.cfg(&cfg)
			cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			w, err := New(cfg, nil) // no session store needed
			if err != nil {
				t.Fatal(err)
			}
			if w.Enabled() {
				t.Fatal("sign-in is on")
			}
			for _, s := range []string{"sign-in is off", "LOGTO_APP_ID, LOGTO_APP_SECRET and SESSION_SECRET", tc.missing, "http://agenda.test/callback"} {
				if !strings.Contains(logs.String(), s) {
					t.Errorf("log lacks %q:\n%s", s, logs.String())
				}
			}

			resp, body := get(t, w, "/")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("home: %d", resp.StatusCode)
			}
			for _, s := range []string{"Browser sign-in is off", "LOGTO_APP_ID", "LOGTO_APP_SECRET", "SESSION_SECRET",
				"http://agenda.test/callback", testGPT.SchemaURL, `href="/privacy"`} {
				if !strings.Contains(body, s) {
					t.Errorf("home lacks %q", s)
				}
			}
			if strings.Contains(body, `id="sign-in"`) {
				t.Error("home offers to sign in")
			}
			for _, path := range []string{"/sign-in", "/callback?code=x&state=y"} {
				resp, body := get(t, w, path)
				if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "LOGTO_APP_ID") {
					t.Errorf("%s: %d, note shown: %v", path, resp.StatusCode, strings.Contains(body, "LOGTO_APP_ID"))
				}
			}
			for _, path := range []string{"/privacy", "/nope", "/sign-out"} {
				if resp, _ := get(t, w, path); resp.StatusCode >= 500 {
					t.Errorf("%s: %d", path, resp.StatusCode)
				}
			}
			r := httptest.NewRequest(http.MethodPost, "/sign-out", nil)
			if resp := serve(t, w, r); resp.StatusCode >= 500 {
				t.Errorf("POST /sign-out: %d", resp.StatusCode)
			}

			r = httptest.NewRequest(http.MethodPost, "/api/events", nil)
			r.AddCookie(&http.Cookie{Name: "agenda_session", Value: "x"})
			r.Header.Set("Sec-Fetch-Site", "cross-site")
			if _, ok := w.Identity(r); ok {
				t.Error("Identity found a user")
			}
			if err := w.CheckCrossOrigin(r); agenda.ErrorCode(err) != agenda.EFORBIDDEN {
				t.Errorf("CheckCrossOrigin: %v", err)
			}
		})
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"no base URL":       func(c *Config) { c.BaseURL = nil },
		"relative base URL": func(c *Config) { c.BaseURL = &url.URL{Path: "/x"} },
		"short secret":      func(c *Config) { c.SessionSecret = "short" },
		"relative issuer":   func(c *Config) { c.Issuer = "/oidc" },
	} {
		cfg := testConfig(t)
		mod(&cfg)
		if _, err := New(cfg, memstore.NewWithCleanupInterval(0)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(testConfig(t), nil); err == nil {
		t.Error("sign-in on without a session store: accepted")
	}
}

func TestIdentity(t *testing.T) {
	w, _ := newWeb(t, testConfig(t))
	alice := signedIn(t, w, "sub-alice", "Alice")

	// A session with something in it but nobody signed in.
	ctx, _ := w.sessions.Load(context.Background(), "")
	w.sessions.Put(ctx, keyName, "pending")
	anon, _, err := w.sessions.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		cookie *http.Cookie
		want   string
	}{
		{"signed in", alice, "sub-alice"},
		{"no cookie", nil, ""},
		{"unknown token", &http.Cookie{Name: alice.Name, Value: "forged"}, ""},
		{"sign-in not finished", &http.Cookie{Name: alice.Name, Value: anon}, ""},
		{"other cookie name", &http.Cookie{Name: "session", Value: alice.Value}, ""},
	} {
		r := httptest.NewRequest(http.MethodGet, "/api/events", nil)
		if tc.cookie != nil {
			r.AddCookie(tc.cookie)
		}
		id, ok := w.Identity(r)
		if ok != (tc.want != "") || id.UserID != tc.want {
			t.Errorf("%s: Identity = %+v, %v; want user %q", tc.name, id, ok, tc.want)
		}
		if ok && (id.Name != "Alice" || id.Scoped() || id.ExpiresAt.IsZero()) {
			t.Errorf("%s: Identity = %+v; want the whole user Alice with an expiry", tc.name, id)
		}
	}
}

// TestCheckCrossOrigin: a state-changing request is refused when the
// browser says it comes from another origin (Sec-Fetch-Site, or Origin
// from browsers without it), unless that origin is in AllowedOrigins;
// requests from the app's own pages and from no browser pass.
func TestCheckCrossOrigin(t *testing.T) {
	cfg := testConfig(t)
	cfg.AllowedOrigins = []string{"https://other.example"}
	w, _ := newWeb(t, cfg)
	for _, tc := range []struct {
		name, method, fetchSite, origin, host string
		ok                                    bool
	}{
		{"same origin", "PATCH", "same-origin", "http://agenda.test", "agenda.test", true},
		{"typed in, or a bookmark", "POST", "none", "", "agenda.test", true},
		{"no browser at all", "DELETE", "", "", "agenda.test", true},
		{"an older browser, same origin", "POST", "", "http://agenda.test", "agenda.test", true},
		{"an allowed origin", "POST", "cross-site", "https://other.example", "agenda.test", true},
		{"BaseURL's origin behind a proxy that rewrites Host", "POST", "same-site", "http://agenda.test", "internal:8080", true},
		{"another site", "POST", "cross-site", "https://evil.example", "agenda.test", false},
		{"a sibling subdomain", "PATCH", "same-site", "http://evil.agenda.test", "agenda.test", false},
		{"another port", "DELETE", "same-site", "http://agenda.test:8080", "agenda.test", false},
		{"an older browser, another origin", "POST", "", "https://evil.example", "agenda.test", false},
		{"an opaque origin", "POST", "cross-site", "null", "agenda.test", false},
		{"a read from anywhere", "GET", "cross-site", "https://evil.example", "agenda.test", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "/api/events/1", nil)
			r.Host = tc.host
			if tc.fetchSite != "" {
				r.Header.Set("Sec-Fetch-Site", tc.fetchSite)
			}
			if tc.origin != "" {
				r.Header.Set("Origin", tc.origin)
			}
			err := w.CheckCrossOrigin(r)
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *agenda.Error
			if !errors.As(err, &e) || e.Code != agenda.EFORBIDDEN || !strings.Contains(e.Message, "ALLOWED_ORIGINS") {
				t.Fatalf("CheckCrossOrigin = %v; want an EFORBIDDEN *agenda.Error naming ALLOWED_ORIGINS", err)
			}
		})
	}
}

func TestSealedValues(t *testing.T) {
	k, err := deriveKeys(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	sealed := k.sealString("id-token", "sub-alice")
	if strings.Contains(sealed, "id-token") {
		t.Fatal("sealed value holds the clear text")
	}
	if got, err := k.openString(sealed, "sub-alice"); err != nil || got != "id-token" {
		t.Fatalf("open = %q, %v", got, err)
	}
	if _, err := k.openString(sealed, "sub-bob"); err == nil {
		t.Error("opened under another user")
	}
	other, _ := deriveKeys(testSecret + "x")
	if _, err := other.openString(sealed, "sub-alice"); err == nil {
		t.Error("opened with another secret")
	}
}

func TestContactURL(t *testing.T) {
	for in, want := range map[string]string{
		"privacy@example.com":         "mailto:privacy@example.com",
		"https://example.com/contact": "https://example.com/contact",
		"javascript:alert(1)":         "",
	} {
		if got := string(contactURL(in)); got != want {
			t.Errorf("contactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
