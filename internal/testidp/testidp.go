// Package testidp runs the development identity provider (package devidp)
// on its own loopback server, as a Logto tenant on a separate domain, for
// tests: the issuer is the server's URL + "/oidc", the signing keys are
// the test's to sign crafted tokens with and to rotate, and userinfo
// requests are counted at the server. Production code does not import it.
package testidp

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/agenda-gpt/agenda/devidp"
)

// Server is a running provider. It is closed when the test ends.
type Server struct {
	*devidp.Provider
	URL  string       // the server's, without /oidc: what LOGTO_ENDPOINT would be
	Keys *devidp.Keys // the provider's signing keys

	userinfo atomic.Int64
}

// Start runs a provider with cfg; cfg.Issuer and cfg.Keys are set here.
func Start(t testing.TB, cfg devidp.Config) *Server {
	t.Helper()
	// The listener exists before the server starts, so the issuer is known
	// before the first request can arrive.
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	keys, err := devidp.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Issuer, cfg.Keys = "http://"+srv.Listener.Addr().String()+"/oidc", keys
	p, err := devidp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Provider: p, URL: "http://" + srv.Listener.Addr().String(), Keys: keys}
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oidc/me" && r.Method != http.MethodOptions {
			s.userinfo.Add(1)
		}
		p.ServeHTTP(w, r)
	})
	srv.Start()
	return s
}

// UserinfoCalls is how many requests /oidc/me has received, so a test can
// tell whether the app cached a userinfo answer.
func (s *Server) UserinfoCalls() int64 { return s.userinfo.Load() }

// MintAccessToken signs claims, exactly as given, with the provider's
// current key: for tests of expiry, nbf, audience and issuer. The provider
// keeps no record of it.
func (s *Server) MintAccessToken(claims map[string]any) (string, error) {
	return s.Keys.Sign(claims)
}

// RotateKey makes the provider sign with a new key, as Logto's rotation.
func (s *Server) RotateKey() error { return s.Keys.Rotate() }
