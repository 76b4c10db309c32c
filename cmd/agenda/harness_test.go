package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/agenda-gpt/agenda"
	"github.com/agenda-gpt/agenda/api"
	"github.com/agenda-gpt/agenda/config"
	"github.com/agenda-gpt/agenda/devidp"
)

// The identity provider the end-to-end tests stand in for Logto: a real
// OIDC provider (devidp, on zitadel's op) on its own loopback server.
const (
	gptOpaqueClient = "gpt-opaque"
	gptJWTClient    = "gpt-rbac"
	webClient       = "web"
	clientSecret    = "s3cret-for-tests-only"
	gptCallback     = "https://chatgpt.com/aip/g-test/oauth/callback"
	apiResource     = "https://agenda.test/api"
	readerUser      = "reader" // granted read only, like a Logto role without write
)

// testIdP is the provider plus switches that break it on purpose.
type testIdP struct {
	*devidp.Provider
	URL    string       // the server's base URL; the issuer is URL + "/oidc"
	keys   *devidp.Keys // the provider's, to sign crafted tokens
	faults *faults
}

// UserinfoCalls is how many requests /oidc/me has received.
func (idp *testIdP) UserinfoCalls() int64 { return idp.faults.userinfo.Load() }

// MintAccessToken signs claims, exactly as given, with the provider's key.
func (idp *testIdP) MintAccessToken(claims map[string]any) (string, error) {
	return idp.keys.Sign(claims)
}

// RotateKey makes the provider sign with a new key, as Logto's rotation.
func (idp *testIdP) RotateKey() error { return idp.keys.Rotate() }

func startIdP(t testing.TB) *testIdP {
	t.Helper()
	f := &faults{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	keys, err := devidp.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	p, err := devidp.New(devidp.Config{
		Issuer: srv.URL + "/oidc",
		Keys:   keys,
		Clients: []devidp.Client{
			{ID: gptOpaqueClient, Secret: clientSecret, RedirectURIs: []string{gptCallback}, AuthMethod: devidp.ClientSecretPost},
			{ID: gptJWTClient, Secret: clientSecret, RedirectURIs: []string{gptCallback}, AuthMethod: devidp.ClientSecretPost, DefaultResource: apiResource},
			{ID: webClient, Secret: clientSecret, RedirectURIGlobs: []string{"http://127.0.0.1:*/callback"}, PostLogoutRedirectURIs: []string{"http://127.0.0.1:*/"}},
		},
		Resources:       []devidp.Resource{{Indicator: apiResource, Permissions: []string{"read", "write"}}},
		UserPermissions: map[string][]string{readerUser: {"read"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.next.Store(&handlerBox{p})
	return &testIdP{Provider: p, URL: srv.URL, keys: keys, faults: f}
}

// faults wraps the provider. Each mode imitates one way Logto fails.
type faults struct {
	userinfo atomic.Int64 // requests to /oidc/me
	next     atomic.Pointer[handlerBox]
	mode     atomic.Value // string
	hold     chan struct{}
}

type handlerBox struct{ http.Handler }

const (
	faultNone         = ""
	faultDown         = "down"      // connections are cut
	faultSlow         = "slow"      // userinfo answers only when released (or never)
	faultError        = "error"     // userinfo answers 500
	faultMalformed    = "malformed" // userinfo answers 200 with broken JSON
	faultNoSubject    = "nosub"     // userinfo answers 200 without sub
	faultJWKSDown     = "jwksdown"  // the key set cannot be fetched
	userinfoPathTests = "/oidc/me"
)

func (f *faults) set(mode string) { f.mode.Store(mode) }

func (f *faults) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	mode, _ := f.mode.Load().(string)
	isUserinfo := r.URL.Path == userinfoPathTests
	if isUserinfo && r.Method != http.MethodOptions {
		f.userinfo.Add(1)
	}
	switch {
	case mode == faultDown:
		panic(http.ErrAbortHandler)
	case mode == faultJWKSDown && r.URL.Path == "/oidc/jwks":
		panic(http.ErrAbortHandler)
	case mode == faultSlow && isUserinfo:
		<-r.Context().Done() // the app's timeout ends the call
		return
	case mode == faultError && isUserinfo:
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	case mode == faultMalformed && isUserinfo:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"sub": "alice"`)
		return
	case mode == faultNoSubject && isUserinfo:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"name": "Alice"}`)
		return
	}
	f.next.Load().ServeHTTP(w, r)
}

// testApp is the real server (the same newApp and serveApp as production)
// on a loopback port, with its log captured. A test may stop it and start it
// again on the same address and database, as a deployment restarts it.
type testApp struct {
	URL  string
	app  *app
	logs *syncBuffer
	idp  *testIdP
	t    testing.TB

	cfg    config.Config
	addr   string
	limits func(*httpLimits) // changes the server's limits; nil keeps them
	stop   func() error      // nil while stopped
}

// startApp runs the app against idp with extra settings layered on the
// test defaults. A nil idp runs the built-in development provider.
func startApp(t testing.TB, idp *testIdP, settings map[string]string) *testApp {
	t.Helper()
	return launchApp(t, idp, settings, nil)
}

func launchApp(t testing.TB, idp *testIdP, settings map[string]string, limits func(*httpLimits)) *testApp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	env := map[string]string{
		"BASE_URL":     base,
		"DATABASE_URL": filepath.Join(t.TempDir(), "agenda.db"),
		"IDP_TIMEOUT":  "2s",
		"RATE_LIMIT":   "1000",
		"RATE_BURST":   "1000",
		"LOG_LEVEL":    "debug",
	}
	if idp != nil {
		env["LOGTO_ENDPOINT"] = idp.URL
		env["LOGTO_API_RESOURCE"] = apiResource
		env["LOGTO_APP_ID"] = webClient
		env["LOGTO_APP_SECRET"] = clientSecret
		env["SESSION_SECRET"] = strings.Repeat("x", 32)
	}
	for k, v := range settings {
		env[k] = v
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	ta := &testApp{URL: base, logs: &syncBuffer{}, idp: idp, t: t, cfg: cfg, addr: ln.Addr().String(), limits: limits}
	ta.serve(ln)
	t.Cleanup(func() {
		if ta.stop != nil {
			ta.Stop()
		}
	})
	return ta
}

func (ta *testApp) serve(ln net.Listener) {
	ta.t.Helper()
	logger := slog.New(slog.NewTextHandler(ta.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := newApp(context.Background(), ta.cfg, logger)
	if err != nil {
		ln.Close()
		ta.t.Fatal(err)
	}
	if ta.limits != nil {
		lim := a.serverLimits()
		ta.limits(&lim)
		a.limits = lim
	}
	ta.app = a
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveApp(ctx, a, ta.cfg, ln, logger, ta.logs) }()
	ta.stop = func() error {
		cancel()
		return <-done
	}
}

// Stop shuts the server down gracefully, as on SIGTERM, and waits for it.
func (ta *testApp) Stop() {
	ta.t.Helper()
	err := ta.stop()
	ta.stop = nil
	if err != nil {
		ta.t.Errorf("serve: %v", err)
	}
}

// Start serves again on the same address and database.
func (ta *testApp) Start() {
	ta.t.Helper()
	ln, err := net.Listen("tcp", ta.addr)
	if err != nil {
		ta.t.Fatalf("listen again on %s: %v", ta.addr, err)
	}
	ta.serve(ln)
}

// token signs user in through client the way ChatGPT does and returns the
// access token.
func (ta *testApp) token(user, client string, scopes ...string) string {
	ta.t.Helper()
	return ta.idp.token(ta.t, user, client, scopes...)
}

// token signs user in at the provider through client the way ChatGPT does
// (client secret in the POST body) and returns the access token; the scope
// is openid offline_access unless scopes are given.
func (idp *testIdP) token(t testing.TB, user, client string, scopes ...string) string {
	t.Helper()
	if len(scopes) == 0 {
		scopes = []string{"openid", "offline_access"}
	}
	tok, err := devidp.SignIn(context.Background(), &http.Client{Timeout: 10 * time.Second}, idp.URL+"/oidc",
		devidp.ClientCredentials{ID: client, Secret: clientSecret, AuthMethod: devidp.ClientSecretPost},
		gptCallback, user, scopes, "")
	if err != nil {
		t.Fatalf("sign in %s with %s: %v", user, client, err)
	}
	return tok.AccessToken
}

// response is what a call returned.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) problem(t *testing.T) api.Problem {
	t.Helper()
	var p api.Problem
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("status %d, body not a problem: %s", r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("problem content type %q", ct)
	}
	return p
}

func (r response) event(t *testing.T) agenda.Event {
	t.Helper()
	var e agenda.Event
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Fatalf("status %d, body not an event: %s", r.Status, r.Body)
	}
	return e
}

// call sends a request with a bearer token (none when token is "") and,
// for /api routes, validates the response against openapi.yaml.
func (ta *testApp) call(method, path, token string, body any, header ...string) response {
	ta.t.Helper()
	req, raw, err := newAPIRequest(method, ta.URL+path, token, body, header...)
	if err != nil {
		ta.t.Fatal(err)
	}
	r, err := send(req)
	if err != nil {
		ta.t.Fatalf("%s %s: %v", method, path, err)
	}
	if strings.HasPrefix(path, "/api/") {
		ta.validateResponse(req, raw, r)
	}
	return r
}

// callAPI calls the API; unlike testApp.call it may run on any goroutine, and
// returns the error of a server that is gone.
func callAPI(method, url, token string, body any) (response, error) {
	req, _, err := newAPIRequest(method, url, token, body)
	if err != nil {
		return response{}, err
	}
	return send(req)
}

// newAPIRequest builds a request with a bearer token (none when token is
// ""), a body (a string or []byte as it is, anything else as JSON) and extra
// header name/value pairs. It returns the body too, for validation.
func newAPIRequest(method, url, token string, body any, header ...string) (*http.Request, []byte, error) {
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			return nil, nil, err
		}
	}
	var rd io.Reader
	if raw != nil {
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, nil, err
	}
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return req, raw, nil
}

// apiHTTP is shared by the calls, so connections are reused as a GPT's would
// be.
var apiHTTP = &http.Client{
	Timeout:   30 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: time.Minute},
}

// send sends req and reads the whole response.
func send(req *http.Request) (response, error) {
	resp, err := apiHTTP.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: out}, nil
}

var (
	specRouterOnce sync.Once
	specRouter     routers.Router
)

// validateResponse proves the response is one the spec describes.
func (ta *testApp) validateResponse(req *http.Request, reqBody []byte, r response) {
	ta.t.Helper()
	specRouterOnce.Do(func() {
		doc, err := openapi3.NewLoader().LoadFromData(agenda.OpenAPI)
		if err != nil {
			panic(err)
		}
		doc.Servers = nil // match any host
		if specRouter, err = legacy.NewRouter(doc); err != nil {
			panic(err)
		}
	})
	vreq := req.Clone(context.Background())
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := specRouter.FindRoute(vreq)
	if err != nil {
		ta.t.Errorf("%s %s: not in openapi.yaml: %v", req.Method, req.URL.Path, err)
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status:  r.Status,
		Header:  r.Header,
		Body:    io.NopCloser(bytes.NewReader(r.Body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		ta.t.Errorf("%s %s answered %d, which openapi.yaml does not allow: %v\nbody: %s", req.Method, req.URL.Path, r.Status, err, r.Body)
	}
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func mustSpec(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(agenda.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}
