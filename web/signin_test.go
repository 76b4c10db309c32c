package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2/memstore"

	"github.com/agenda-gpt/agenda/devidp"
	"github.com/agenda-gpt/agenda/internal/testidp"
)

// rig is the web UI and a development identity provider on two loopback
// servers, like the app and a Logto tenant on separate domains, and a
// browser: an HTTP client with a cookie jar.
type rig struct {
	web     *Web
	store   *memstore.MemStore
	idp     *testidp.Server
	base    string
	browser *http.Client
	// callbackCookies are the cookies set by the answer to /callback.
	callbackCookies []*http.Cookie
}

func newRig(t *testing.T) *rig {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	base := "http://" + srv.Listener.Addr().String()
	idp := testidp.Start(t, devidp.Config{Clients: []devidp.Client{{
		ID: "web", Secret: "web-secret",
		RedirectURIs:           []string{base + "/callback"},
		PostLogoutRedirectURIs: []string{base + "/"},
	}}})

	cfg := testConfig(t)
	cfg.BaseURL = mustURL(t, base)
	cfg.Issuer = idp.Issuer()
	cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	w, store := newWeb(t, cfg)
	srv.Config.Handler = w
	srv.Start()

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{web: w, store: store, idp: idp, base: base}
	r.browser = &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if prev := req.Response; prev != nil && prev.Request.URL.Path == "/callback" {
				r.callbackCookies = prev.Cookies()
			}
			return nil
		}}
	return r
}

// noFollow is the browser, stopping at the first redirect.
func (r *rig) noFollow() *http.Client {
	c := *r.browser
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func (r *rig) do(t *testing.T, c *http.Client, method, u string, form url.Values, header ...string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// sessionCookie returns the browser's session cookie for the app, or nil.
func (r *rig) sessionCookie(t *testing.T) *http.Cookie {
	t.Helper()
	for _, c := range r.browser.Jar.Cookies(mustURL(t, r.base)) {
		if c.Name == r.web.sessions.Cookie.Name {
			return c
		}
	}
	return nil
}

// identity asks the web UI who the browser's cookie belongs to.
func (r *rig) identity(t *testing.T) (string, bool) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, r.base+"/api/events", nil)
	if c := r.sessionCookie(t); c != nil {
		req.AddCookie(c)
	}
	id, ok := r.web.Identity(req)
	return id.UserID, ok
}

// startSignIn asks the app to sign in and returns the authorization
// request it redirects to.
func (r *rig) startSignIn(t *testing.T) *url.URL {
	t.Helper()
	resp, _ := r.do(t, r.noFollow(), http.MethodGet, r.base+"/sign-in", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("/sign-in: %s", resp.Status)
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestSignInAndOut(t *testing.T) {
	r := newRig(t)

	// The app sends the browser to the provider with PKCE, state and nonce.
	auth := r.startSignIn(t)
	if got := auth.Scheme + "://" + auth.Host + auth.Path; got != r.idp.Issuer()+"/auth" {
		t.Fatalf("sign-in goes to %s", got)
	}
	q := auth.Query()
	for k, want := range map[string]string{
		"client_id": "web", "response_type": "code", "redirect_uri": r.base + "/callback",
		"code_challenge_method": "S256", "scope": "openid profile",
	} {
		if q.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, q.Get(k), want)
		}
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) < 20 {
			t.Errorf("%s = %q: missing or short", k, q.Get(k))
		}
	}
	if r.sessionCookie(t) != nil {
		t.Fatal("a session was started for a sign-in that has not completed")
	}
	// A session token planted before sign-in (fixation) must not survive it.
	ctx, _ := r.web.sessions.Load(context.Background(), "")
	r.web.sessions.Put(ctx, keyName, "planted")
	planted, _, err := r.web.sessions.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r.browser.Jar.SetCookies(mustURL(t, r.base), []*http.Cookie{{Name: r.web.sessions.Cookie.Name, Value: planted, Path: "/"}})
	before := r.sessionCookie(t)

	// The person signs in at the provider's login page and lands on the agenda.
	resp, _ := r.do(t, r.browser, http.MethodGet, auth.String(), nil)
	login := *resp.Request.URL
	if resp.StatusCode != http.StatusOK || !strings.HasSuffix(login.Path, "/login") {
		t.Fatalf("authorization request: %s at %s", resp.Status, &login)
	}
	form := url.Values{"id": {login.Query().Get("id")}, "username": {"alice"}}
	login.RawQuery = ""
	resp, body := r.do(t, r.browser, http.MethodPost, login.String(), form)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.String() != r.base+"/" {
		t.Fatalf("after sign-in: %s at %s\n%s", resp.Status, resp.Request.URL, body)
	}
	for _, s := range []string{`id="agenda"`, `id="user-name">alice<`} {
		if !strings.Contains(body, s) {
			t.Errorf("agenda page lacks %q", s)
		}
	}
	if user, ok := r.identity(t); !ok || user != "alice" {
		t.Fatalf("Identity = %q, %v; want alice", user, ok)
	}

	// The session token changed at sign-in (fixation) and now lives 14 days.
	after := r.sessionCookie(t)
	if after.Value == before.Value {
		t.Error("the session token was not renewed at sign-in")
	}
	var set *http.Cookie
	for _, c := range r.callbackCookies {
		if c.Name == r.web.sessions.Cookie.Name {
			set = c
		}
	}
	if set == nil || !set.HttpOnly || set.SameSite != http.SameSiteLaxMode || set.Path != "/" || set.Secure ||
		set.MaxAge < int((sessionLifetime-time.Minute).Seconds()) {
		t.Errorf("cookie set at /callback: %+v", set)
	}

	// The store holds no token in clear, and only a hash of the session token.
	all, err := r.store.All()
	if err != nil {
		t.Fatal(err)
	}
	jwt := regexp.MustCompile(`eyJ[\w-]+\.eyJ[\w-]+\.`)
	for key, data := range all {
		if key == after.Value {
			t.Error("the store keys sessions by their clear token")
		}
		if jwt.Match(data) {
			t.Errorf("a stored session holds a JWT in clear: %q", data)
		}
	}

	// Signing out is a POST from the app's own page, and ends at the
	// provider; a page of another site cannot sign the person out.
	if _, page := r.do(t, r.browser, http.MethodGet, r.base+"/sign-out", nil); !strings.Contains(page, `action="/sign-out"`) {
		t.Fatalf("no sign-out form on the sign-out page:\n%s", page)
	}
	resp, _ = r.do(t, r.noFollow(), http.MethodPost, r.base+"/sign-out", url.Values{}, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("sign-out from another site: %s", resp.Status)
	}
	if _, ok := r.identity(t); !ok {
		t.Fatal("a refused sign-out ended the session")
	}
	resp, _ = r.do(t, r.noFollow(), http.MethodPost, r.base+"/sign-out", url.Values{}, "Sec-Fetch-Site", "same-origin")
	end, err := resp.Location()
	if resp.StatusCode != http.StatusSeeOther || err != nil {
		t.Fatalf("sign-out: %s, %v", resp.Status, err)
	}
	if got := end.Scheme + "://" + end.Host + end.Path; got != r.idp.Issuer()+"/session/end" {
		t.Errorf("sign-out goes to %s, want the end_session_endpoint", got)
	}
	eq := end.Query()
	if eq.Get("post_logout_redirect_uri") != r.base+"/" || eq.Get("client_id") != "web" || eq.Get("id_token_hint") == "" {
		t.Errorf("end-session query: %v", eq)
	}
	if _, ok := r.identity(t); ok {
		t.Error("still signed in after sign-out")
	}
	if c := r.sessionCookie(t); c != nil {
		t.Errorf("the session cookie survived sign-out: %v", c)
	}
	// The provider accepts the hint and returns the browser home, signed out.
	resp, body = r.do(t, r.browser, http.MethodGet, end.String(), nil)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" || resp.Request.URL.Host != mustURL(t, r.base).Host {
		t.Fatalf("after end-session: %s at %s", resp.Status, resp.Request.URL)
	}
	if !strings.Contains(body, `id="sign-in"`) {
		t.Error("the home page after sign-out offers no sign-in")
	}
}

func TestCallbackRefusals(t *testing.T) {
	r := newRig(t)

	resp, body := r.do(t, r.browser, http.MethodGet, r.base+"/callback?state=x&code=y", nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "No sign-in was in progress") {
		t.Errorf("callback without a sign-in: %s", resp.Status)
	}

	for _, tc := range []struct {
		name  string
		query func(state string) url.Values
		want  string
	}{
		{"state mismatch", func(string) url.Values { return url.Values{"state": {"forged"}, "code": {"c"}} }, "state mismatch"},
		{"cancelled", func(s string) url.Values { return url.Values{"state": {s}, "error": {"access_denied"}} }, "cancelled"},
		{"other issuer", func(s string) url.Values {
			return url.Values{"state": {s}, "code": {"c"}, "iss": {"https://evil.example/oidc"}}
		}, "another sign-in service"},
		{"forged code", func(s string) url.Values { return url.Values{"state": {s}, "code": {"forged"}} }, "did not accept"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state := r.startSignIn(t).Query().Get("state")
			u := r.base + "/callback?" + tc.query(state).Encode()
			resp, body := r.do(t, r.browser, http.MethodGet, u, nil)
			if resp.StatusCode < 400 || !strings.Contains(body, tc.want) || !strings.Contains(body, `href="/sign-in"`) {
				t.Errorf("%s: want a refusal saying %q with a way to sign in again:\n%s", resp.Status, tc.want, body)
			}
			if _, ok := r.identity(t); ok {
				t.Fatal("signed in")
			}
			// The sign-in is spent: the right state does not work twice.
			resp, _ = r.do(t, r.browser, http.MethodGet, r.base+"/callback?state="+url.QueryEscape(state)+"&code=c", nil)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("replayed state: %s", resp.Status)
			}
		})
	}
}

func TestSessionCookieFlags(t *testing.T) {
	idp := testidp.Start(t, devidp.Config{})
	for _, tc := range []struct {
		base   string
		name   string
		secure bool
	}{
		{"http://localhost:8080", "agenda_signin", false},
		{"https://agenda.example.com", "__Host-agenda_signin", true},
	} {
		cfg := testConfig(t)
		cfg.BaseURL = mustURL(t, tc.base)
		cfg.Issuer = idp.Issuer()
		w, _ := newWeb(t, cfg)
		resp := serve(t, w, httptest.NewRequest(http.MethodGet, "/sign-in", nil))
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: /sign-in: %d", tc.base, resp.StatusCode)
		}
		cookies := resp.Cookies()
		if len(cookies) != 1 {
			t.Fatalf("%s: cookies %v", tc.base, cookies)
		}
		c := cookies[0]
		if c.Name != tc.name || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" || c.Secure != tc.secure {
			t.Errorf("%s: cookie %s", tc.base, c)
		}
		// An unfinished sign-in is forgotten soon.
		if c.MaxAge <= 0 || c.MaxAge > int((signInTimeout+time.Minute).Seconds()) {
			t.Errorf("%s: sign-in cookie Max-Age %d", tc.base, c.MaxAge)
		}
		// The session cookie, set when the sign-in completes, has the
		// same flags under its own name.
		sc := w.sessions.Cookie
		if want := strings.Replace(tc.name, "signin", "session", 1); sc.Name != want || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" || sc.Domain != "" || sc.Secure != tc.secure {
			t.Errorf("%s: session cookie %+v, want %s", tc.base, sc, want)
		}
		if strings.Contains(resp.Header.Get("Location"), "redirect_uri="+url.QueryEscape(tc.base+"/callback")) == false {
			t.Errorf("%s: redirect_uri not derived from BaseURL: %s", tc.base, resp.Header.Get("Location"))
		}
	}
}

func TestDiscoveryIsLazy(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	idp, err := devidp.New(devidp.Config{Issuer: "http://" + srv.Listener.Addr().String() + "/oidc"})
	if err != nil {
		t.Fatal(err)
	}
	var up atomic.Bool
	var calls atomic.Int64
	srv.Config.Handler = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if !up.Load() {
			http.Error(rw, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		idp.ServeHTTP(rw, r)
	})
	srv.Start()

	cfg := testConfig(t)
	cfg.Issuer = idp.Issuer()
	w, _ := newWeb(t, cfg)
	if n := calls.Load(); n != 0 {
		t.Fatalf("New made %d calls to the provider", n)
	}
	if resp, _ := get(t, w, "/"); resp.StatusCode != http.StatusOK || calls.Load() != 0 {
		t.Fatalf("home page: %d, %d provider calls", resp.StatusCode, calls.Load())
	}

	// While the provider is down, sign-in says so (its retry delay is
	// tested in package auth, which owns the discovery).
	resp, body := get(t, w, "/sign-in")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "cannot be reached") {
		t.Fatalf("provider down: %d\n%s", resp.StatusCode, body)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d discovery attempts, want 1", n)
	}
}

func TestSignOutEdgeCases(t *testing.T) {
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	cfg := testConfig(t)
	cfg.Issuer = gone.URL + "/oidc"
	w, _ := newWeb(t, cfg)
	alice := signedIn(t, w, "sub-alice", "Alice")

	// Nobody to sign out: home, without asking for a token.
	resp := serve(t, w, httptest.NewRequest(http.MethodPost, "/sign-out", nil))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Errorf("sign-out without a session: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := get(t, w, "/sign-out"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("sign-out page without a session: %d", resp.StatusCode)
	}

	// A cross-site form post is refused.
	r := httptest.NewRequest(http.MethodPost, "/sign-out", nil)
	r.Header.Set("Origin", "https://evil.example")
	r.AddCookie(alice)
	if resp := serve(t, w, r); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin sign-out: %d", resp.StatusCode)
	}

	// The provider cannot be reached (its server is closed): the
	// session still ends, and the browser goes home.
	r = httptest.NewRequest(http.MethodPost, "/sign-out", nil)
	r.AddCookie(alice)
	resp = serve(t, w, r)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Errorf("sign-out with the provider down: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	r = httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(alice)
	if _, ok := w.Identity(r); ok {
		t.Error("still signed in")
	}
}

// TestAnonymousSignInStoresNothing: /sign-in asked for again and again by
// someone who never signs in writes no session (issue 14, item 8): the
// state lives in a sealed cookie, and a forged, replayed or expired one is
// refused at the callback.
func TestAnonymousSignInStoresNothing(t *testing.T) {
	idp := testidp.Start(t, devidp.Config{})
	cfg := testConfig(t)
	cfg.Issuer = idp.Issuer()
	w, store := newWeb(t, cfg)
	const visits = 500
	var last *http.Cookie
	for range visits {
		resp := serve(t, w, httptest.NewRequest(http.MethodGet, "/sign-in", nil))
		if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 {
			t.Fatalf("/sign-in: %d %v", resp.StatusCode, resp.Cookies())
		}
		last = resp.Cookies()[0]
	}
	if rows, err := store.All(); err != nil || len(rows) != 0 {
		t.Errorf("%d anonymous visits to /sign-in stored %d sessions (%v), want none", visits, len(rows), err)
	}

	callback := func(c *http.Cookie, state string) int {
		r := httptest.NewRequest(http.MethodGet, "/callback?code=x&state="+url.QueryEscape(state), nil)
		if c != nil {
			r.AddCookie(c)
		}
		return serve(t, w, r).StatusCode
	}
	plain, err := w.keys.openString(last.Value, signInContext)
	if err != nil {
		t.Fatal(err)
	}
	var pending signIn
	if err := json.Unmarshal([]byte(plain), &pending); err != nil {
		t.Fatal(err)
	}
	forged := *last
	forged.Value = last.Value[:10] + "A" + last.Value[11:]
	if forged.Value == last.Value {
		forged.Value = last.Value[:10] + "B" + last.Value[11:]
	}
	expired := *last
	pending.Expires = time.Now().Add(-time.Minute).Unix()
	b, _ := json.Marshal(pending)
	expired.Value = w.keys.sealString(string(b), signInContext)
	for name, c := range map[string]*http.Cookie{"no cookie": nil, "a forged cookie": &forged, "an expired cookie": &expired} {
		if got := callback(c, pending.State); got != http.StatusBadRequest {
			t.Errorf("callback with %s: %d, want 400", name, got)
		}
	}
	if rows, _ := store.All(); len(rows) != 0 {
		t.Errorf("refused callbacks stored %d sessions", len(rows))
	}
}
