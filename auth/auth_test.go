package auth

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/agenda-gpt/agenda"
	"github.com/agenda-gpt/agenda/devidp"
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

func setup(t *testing.T) (*devidp.Provider, string, *Authenticator, *clock) {
	t.Helper()
	p, srv, err := devidp.NewServer(devidp.Config{
		Clients:   []devidp.Client{{ID: "gpt", Secret: "secret", RedirectURIs: []string{"https://chatgpt.com/aip/g-x/oauth/callback"}}},
		Resources: []devidp.Resource{{Indicator: resource, Permissions: []string{"read", "write"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	a, err := New(Config{Issuer: p.Issuer(), APIResource: resource, CacheTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{now: time.Now()}
	a.now = c.Now
	return p, srv.URL, a, c
}

func signIn(t *testing.T, p *devidp.Provider) string {
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
		id, err := a.Authenticate(ctx, tok)
		if err != nil || id.UserID != "alice" || id.Name != "alice" || id.Scoped() {
			t.Fatalf("identity %+v, err %v", id, err)
		}
	}
	if n := p.UserinfoCalls(); n != 1 {
		t.Errorf("%d userinfo calls within the TTL, want 1", n)
	}
	c.Add(61 * time.Second)
	if _, err := a.Authenticate(ctx, tok); err != nil {
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
		if _, err := a.Authenticate(ctx, "bogus"); agenda.ErrorCode(err) != agenda.EUNAUTHORIZED {
			t.Fatalf("err %v", err)
		}
	}
	if n := p.UserinfoCalls(); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
	c.Add(rejectionTTL + time.Second)
	a.Authenticate(ctx, "bogus")
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
	id, err := a.Authenticate(context.Background(), tok)
	if err != nil || id.UserID != "alice" || !id.HasScope("read") || id.HasScope("write") {
		t.Fatalf("identity %+v, err %v", id, err)
	}
	c.Add(31 * time.Second)
	if _, err := a.Authenticate(context.Background(), tok); agenda.ErrorCode(err) != agenda.EUNAUTHORIZED {
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
	if _, err := a.Authenticate(context.Background(), "opaque"); agenda.ErrorCode(err) != agenda.EUNAVAILABLE {
		t.Errorf("err %v", err)
	}
	if err := a.Ready(context.Background()); agenda.ErrorCode(err) != agenda.EUNAVAILABLE {
		t.Errorf("Ready: %v", err)
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
