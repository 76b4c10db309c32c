package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	cryptorand "crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/agenda-gpt/agenda"
	"github.com/agenda-gpt/agenda/devidp"
	"github.com/agenda-gpt/agenda/internal/testidp"
)

const resource = "https://agenda.test/api"

// clock is a settable time source shared by the authenticator and its JWT
// verifier, so expiry is tested without waiting.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func setup(t *testing.T) (*testidp.Server, string, *Authenticator, *clock) {
	t.Helper()
	p := testidp.Start(t, devidp.Config{
		Clients:   []devidp.Client{{ID: "gpt", Secret: "secret", RedirectURIs: []string{"https://chatgpt.com/aip/g-x/oauth/callback"}}},
		Resources: []devidp.Resource{{Indicator: resource, Permissions: []string{"read", "write"}}},
	})
	a, err := New(Config{Issuer: p.Issuer(), APIResource: resource, CacheTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{now: time.Now()}
	a.now = c.Now
	return p, p.URL, a, c
}

func signIn(t *testing.T, p *testidp.Server) string {
	t.Helper()
	tok, err := devidp.SignIn(context.Background(), &http.Client{Timeout: 5 * time.Second}, p.Issuer(),
		devidp.ClientCredentials{ID: "gpt", Secret: "secret"}, "https://chatgpt.com/aip/g-x/oauth/callback",
		"alice", []string{"openid", "profile"}, "")
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// TestOpaqueTokenCachedForTTL: one userinfo call per token per TTL.
func TestOpaqueTokenCachedForTTL(t *testing.T) {
	p, _, a, c := setup(t)
	tok := signIn(t, p)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		id, err := a.Authenticate(ctx, tok, "192.0.2.1")
		if err != nil || id.UserID != "alice" || id.Name != "alice" || id.Scoped() {
			t.Fatalf("identity %+v, err %v", id, err)
		}
	}
	if n := p.UserinfoCalls(); n != 1 {
		t.Errorf("%d userinfo calls within the TTL, want 1", n)
	}
	c.Add(61 * time.Second)
	if _, err := a.Authenticate(ctx, tok, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if n := p.UserinfoCalls(); n != 2 {
		t.Errorf("%d userinfo calls after the TTL, want 2", n)
	}
}

// TestRejectionCachedBriefly: a refused token is asked about again after
// rejectionTTL, not before.
func TestRejectionCachedBriefly(t *testing.T) {
	p, _, a, c := setup(t)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if _, err := a.Authenticate(ctx, "bogus", "192.0.2.1"); agenda.ErrorCode(err) != agenda.EUNAUTHORIZED {
			t.Fatalf("err %v", err)
		}
	}
	if n := p.UserinfoCalls(); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
	c.Add(rejectionTTL + time.Second)
	a.Authenticate(ctx, "bogus", "192.0.2.1")
	if n := p.UserinfoCalls(); n != 2 {
		t.Errorf("%d calls after rejectionTTL, want 2", n)
	}
}

// TestCacheNeverOutlivesTheToken: a JWT accepted a minute before it expires
// is refused once it has, although the cache TTL is longer.
func TestCacheNeverOutlivesTheToken(t *testing.T) {
	p, _, a, c := setup(t)
	now := c.Now()
	tok, err := p.MintAccessToken(map[string]any{"iss": p.Issuer(), "sub": "alice", "aud": resource, "scope": "read",
		"iat": now.Unix(), "exp": now.Add(30 * time.Second).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	id, err := a.Authenticate(context.Background(), tok, "192.0.2.1")
	if err != nil || id.UserID != "alice" || !id.HasScope("read") || id.HasScope("write") {
		t.Fatalf("identity %+v, err %v", id, err)
	}
	c.Add(31 * time.Second)
	if _, err := a.Authenticate(context.Background(), tok, "192.0.2.1"); agenda.ErrorCode(err) != agenda.EUNAUTHORIZED {
		t.Fatalf("expired token accepted from the cache: %v", err)
	}
}

// TestUnreachableProviderIsUnavailable: discovery failing is a 503-kind
// error, never a 401, and the server may start before the provider is up.
func TestUnreachableProviderIsUnavailable(t *testing.T) {
	a, err := New(Config{Issuer: "http://127.0.0.1:1/oidc", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(context.Background(), "opaque", "192.0.2.1"); agenda.ErrorCode(err) != agenda.EUNAVAILABLE {
		t.Errorf("err %v", err)
	}
}

func TestLooksLikeJWT(t *testing.T) {
	for tok, want := range map[string]bool{
		"eyJhbGciOiJFUzM4NCJ9.eyJzdWIiOiJhIn0.c2ln": true,
		"a.b.c":          true,
		"opaque-token_1": false,
		"a.b":            false,
		"a.b.c.d":        false,
		"a b.c.d":        false,
	} {
		if got := looksLikeJWT(tok); got != want {
			t.Errorf("looksLikeJWT(%q) = %v", tok, got)
		}
	}
}

// countingTransport counts the requests made to each path of the provider.
type countingTransport struct {
	mu       sync.Mutex
	calls    map[string]int
	jwksDown atomic.Bool // the key set answers 503
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.calls[r.URL.Path]++
	c.mu.Unlock()
	if c.jwksDown.Load() && strings.HasSuffix(r.URL.Path, "/jwks") {
		return &http.Response{StatusCode: http.StatusServiceUnavailable, Body: http.NoBody, Request: r}, nil
	}
	return http.DefaultTransport.RoundTrip(r)
}

func (c *countingTransport) count(pathSuffix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for p, k := range c.calls {
		if strings.HasSuffix(p, pathSuffix) {
			n += k
		}
	}
	return n
}

// setupCounting is setup with an authenticator whose calls to the provider
// are counted.
func setupCounting(t *testing.T, cfg Config) (*testidp.Server, *Authenticator, *clock, *countingTransport) {
	t.Helper()
	p, _, _, _ := setup(t)
	counter := &countingTransport{calls: map[string]int{}}
	cfg.Issuer, cfg.APIResource = p.Issuer(), resource
	cfg.HTTPClient = &http.Client{Transport: counter, Timeout: 5 * time.Second}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{now: time.Now()}
	a.now = c.Now
	return p, a, c, counter
}

// TestRefusedTokensPerAddress: bogus opaque tokens from one address reach
// the provider at most RefusalBurst times, then at RefusalRate (issue 14,
// item 5). Other addresses, and tokens already known, are not held back.
func TestRefusedTokensPerAddress(t *testing.T) {
	p, a, c, counter := setupCounting(t, Config{RefusalRate: 1, RefusalBurst: 100})
	ctx := context.Background()
	good := signIn(t, p)
	if _, err := a.Authenticate(ctx, good, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	before := counter.count("/me")
	limited := 0
	const bogus = 1000
	for i := range bogus {
		_, err := a.Authenticate(ctx, fmt.Sprintf("bogus-%d", i), "192.0.2.1")
		switch agenda.ErrorCode(err) {
		case agenda.EUNAUTHORIZED:
		case agenda.ERATELIMIT:
			limited++
			if !strings.Contains(agenda.ErrorMessage(err), "too many refused access tokens") {
				t.Fatalf("rate limit message %q", agenda.ErrorMessage(err))
			}
		default:
			t.Fatalf("bogus token %d: %v", i, err)
		}
	}
	calls := counter.count("/me") - before
	t.Logf("%d bogus tokens from one address: %d userinfo calls, %d refused without asking", bogus, calls, limited)
	if calls != 100 || limited != bogus-100 {
		t.Errorf("%d userinfo calls and %d rate-limited for %d bogus tokens, want 100 and %d", calls, limited, bogus, bogus-100)
	}
	// The known token still works from the same address, from the cache.
	if _, err := a.Authenticate(ctx, good, "192.0.2.1"); err != nil {
		t.Errorf("a cached valid token from the limited address: %v", err)
	}
	// Another address has its own budget.
	if _, err := a.Authenticate(ctx, "bogus-elsewhere", "198.51.100.7"); agenda.ErrorCode(err) != agenda.EUNAUTHORIZED {
		t.Errorf("a bogus token from another address: %v, want it asked about and refused", err)
	}
	// The budget refills at the rate.
	c.Add(5 * time.Second)
	before = counter.count("/me")
	for i := range 20 {
		a.Authenticate(ctx, fmt.Sprintf("later-%d", i), "192.0.2.1")
	}
	if calls := counter.count("/me") - before; calls != 5 {
		t.Errorf("%d userinfo calls 5 s later, want 5", calls)
	}
}

// TestForgedKeyIDs: JWTs signed with keys the provider never had make the
// key set be fetched at most once per KeyRefetch (issue 14, item 5); a
// real rotation is still picked up.
func TestForgedKeyIDs(t *testing.T) {
	p, a, c, counter := setupCounting(t, Config{KeyRefetch: 30 * time.Second})
	ctx := context.Background()
	mint := func() string {
		now := c.Now()
		tok, err := p.MintAccessToken(map[string]any{"iss": p.Issuer(), "sub": "alice", "aud": resource, "scope": "read",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": cryptorand.Text()})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	if _, err := a.Authenticate(ctx, mint(), "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	forger, err := ecdsa.GenerateKey(elliptic.P256(), cryptorand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const forged = 300
	for i := range forged {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: forger, KeyID: cryptorand.Text()}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := josejwt.Signed(signer).Claims(map[string]any{"iss": p.Issuer(), "sub": "mallory", "aud": resource,
			"exp": c.Now().Add(time.Hour).Unix()}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Authenticate(ctx, tok, fmt.Sprintf("203.0.113.%d", i%250)); agenda.ErrorCode(err) != agenda.EUNAUTHORIZED {
			t.Fatalf("forged token %d: %v", i, err)
		}
	}
	fetches := counter.count("/jwks")
	t.Logf("%d JWTs with made-up key ids: %d key set fetches in all", forged, fetches)
	if fetches != 2 { // the first fetch, and one refetch
		t.Errorf("%d key set fetches, want 2", fetches)
	}
	c.Add(31 * time.Second)
	if err := p.RotateKey(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, mint(), "192.0.2.1"); err != nil {
		t.Errorf("a token signed after a rotation: %v", err)
	}
	if n := counter.count("/jwks"); n != 3 {
		t.Errorf("%d key set fetches after the rotation, want 3", n)
	}
}

// TestAllowedClients: with AllowedClients set, a JWT issued to another
// application of the tenant is refused, and an opaque token (which cannot
// say whose it is) is refused without asking the provider (issue 14,
// item 6). The MCP audience is not bound.
func TestAllowedClients(t *testing.T) {
	p, a, c, counter := setupCounting(t, Config{AllowedClients: []string{"gpt"}})
	ctx := context.Background()
	jwt := func(client, audience string) string {
		now := c.Now()
		tok, err := p.MintAccessToken(map[string]any{"iss": p.Issuer(), "sub": "alice", "aud": audience, "scope": "read write",
			"client_id": client, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	if id, err := a.Authenticate(ctx, jwt("gpt", resource), "192.0.2.1"); err != nil || id.ClientID != "gpt" {
		t.Errorf("the GPT's JWT: %+v %v", id, err)
	}
	_, err := a.Authenticate(ctx, jwt("other-app", resource), "192.0.2.1")
	if agenda.ErrorCode(err) != agenda.EUNAUTHORIZED || !strings.Contains(agenda.ErrorMessage(err), `"other-app"`) || !strings.Contains(agenda.ErrorMessage(err), "LOGTO_ALLOWED_CLIENTS") {
		t.Errorf("another application's JWT: %v, want 401 naming it and LOGTO_ALLOWED_CLIENTS", err)
	}
	before := counter.count("/me")
	_, err = a.Authenticate(ctx, signIn(t, p), "192.0.2.1")
	if agenda.ErrorCode(err) != agenda.EUNAUTHORIZED || !strings.Contains(agenda.ErrorMessage(err), "opaque") {
		t.Errorf("an opaque token: %v, want 401 saying opaque tokens are not accepted", err)
	}
	if n := counter.count("/me") - before; n != 0 {
		t.Errorf("an opaque token cost %d userinfo calls, want 0", n)
	}
	const mcpResource = "https://agenda.test/mcp"
	if _, err := a.ForAudience(mcpResource).Authenticate(ctx, jwt("registered-mcp-client", mcpResource), "192.0.2.1"); err != nil {
		t.Errorf("an MCP client's JWT: %v", err)
	}
}

// TestDiscoveryIsLazyAndRetried: nothing is asked of the provider before
// the first use; while it is down, discovery is retried at most every
// discoveryRetry, for the token checks and the web sign-in (Provider)
// alike, which share it; once it is up, it is not asked again.
func TestDiscoveryIsLazyAndRetried(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	p, err := devidp.New(devidp.Config{Issuer: "http://" + srv.Listener.Addr().String() + "/oidc"})
	if err != nil {
		t.Fatal(err)
	}
	var up atomic.Bool
	var discoveries atomic.Int64
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration") {
			discoveries.Add(1)
		}
		if !up.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		p.ServeHTTP(w, r)
	})
	srv.Start()
	a, err := New(Config{Issuer: p.Issuer()})
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{now: time.Now()}
	a.now = c.Now
	if n := discoveries.Load(); n != 0 {
		t.Fatalf("New made %d discoveries", n)
	}
	ctx := context.Background()
	for range 3 {
		if _, err := a.Provider(ctx); agenda.ErrorCode(err) != agenda.EUNAVAILABLE {
			t.Fatalf("Provider while down: %v", err)
		}
		if _, err := a.Authenticate(ctx, "opaque", "192.0.2.1"); agenda.ErrorCode(err) != agenda.EUNAVAILABLE {
			t.Fatalf("Authenticate while down: %v", err)
		}
	}
	if n := discoveries.Load(); n != 1 {
		t.Errorf("%d discoveries within the retry delay, want 1", n)
	}
	up.Store(true)
	c.Add(discoveryRetry)
	op, err := a.Provider(ctx)
	if err != nil || op.Endpoint().AuthURL != p.Issuer()+"/auth" {
		t.Fatalf("Provider once up: %v %v", op, err)
	}
	a.Provider(ctx)
	if n := discoveries.Load(); n != 2 {
		t.Errorf("%d discoveries in all, want 2", n)
	}
}

// TestKeySetOutage: while the key set cannot be fetched, JWTs get 503-kind
// errors and the fetch is retried at most every discoveryRetry, not once per
// request; once it is back, tokens verify.
func TestKeySetOutage(t *testing.T) {
	p, a, c, counter := setupCounting(t, Config{})
	counter.jwksDown.Store(true)
	ctx := context.Background()
	now := c.Now()
	tok, err := p.MintAccessToken(map[string]any{"iss": p.Issuer(), "sub": "alice", "aud": resource, "scope": "read",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		if _, err := a.Authenticate(ctx, tok, "192.0.2.1"); agenda.ErrorCode(err) != agenda.EUNAVAILABLE {
			t.Fatalf("a JWT while the keys are down: %v, want EUNAVAILABLE", err)
		}
	}
	if n := counter.count("/jwks"); n != 1 {
		t.Errorf("%d key set fetches for 50 requests during the outage, want 1", n)
	}
	counter.jwksDown.Store(false)
	c.Add(discoveryRetry)
	if _, err := a.Authenticate(ctx, tok, "192.0.2.1"); err != nil {
		t.Errorf("after the outage: %v", err)
	}
}

// TestRefusedTokensInParallel: tokens sent at once cannot all pass the
// budget's check before any is charged, and the addresses of one IPv6 /64
// share a budget.
func TestRefusedTokensInParallel(t *testing.T) {
	_, a, _, counter := setupCounting(t, Config{RefusalRate: 1, RefusalBurst: 100})
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 1000 {
		wg.Go(func() {
			// Many addresses of one /64, as one IPv6 client may use.
			a.Authenticate(ctx, fmt.Sprintf("parallel-%d", i), fmt.Sprintf("2001:db8:1:2::%x", i))
		})
	}
	wg.Wait()
	if n := counter.count("/me"); n > 100 {
		t.Errorf("%d userinfo calls for 1,000 bogus tokens sent at once from one /64, want at most the burst of 100", n)
	}
	if _, err := a.Authenticate(ctx, "elsewhere", "2001:db8:9::1"); agenda.ErrorCode(err) != agenda.EUNAUTHORIZED {
		t.Errorf("another /64: %v, want its own budget", err)
	}
}
