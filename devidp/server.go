package devidp

import (
	"errors"
	"net/http/httptest"
)

// NewServer starts a provider on its own loopback server, on a free port,
// as a Logto tenant on a separate domain: for tests and tools. cfg.Issuer
// must be empty; it becomes the server's URL + "/oidc". Close the server when
// done.
func NewServer(cfg Config) (*Provider, *httptest.Server, error) {
	if cfg.Issuer != "" {
		return nil, nil, errors.New("devidp: NewServer chooses the issuer; leave Config.Issuer empty")
	}
	// The listener exists before the server starts, so the issuer is known
	// before the first request can arrive.
	srv := httptest.NewUnstartedServer(nil)
	cfg.Issuer = "http://" + srv.Listener.Addr().String() + "/oidc"
	p, err := New(cfg)
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	srv.Config.Handler = p
	srv.Start()
	return p, srv, nil
}
