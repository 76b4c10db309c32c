package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/agenda-gpt/agenda/config"
	"github.com/agenda-gpt/agenda/devidp"
)

// runToken signs in to the running server's development identity provider
// the way ChatGPT does (authorization code, client secret in the POST body)
// and prints the access token, so the API can be tried with curl.
func runToken(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	scope := fs.String("scope", "openid offline_access", "scopes to ask for")
	resource := fs.String("resource", "", "API resource to get a JWT for (e.g. the MCP resource)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: agenda token [-scope S] [-resource R] USER")
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("settings:\n%w", err)
	}
	if !cfg.DevIdP() {
		return errors.New("agenda token works with the development identity provider only (no LOGTO_ENDPOINT, loopback BASE_URL); with Logto, sign in through your GPT or client")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tok, err := devidp.SignIn(ctx, &http.Client{Timeout: 10 * time.Second}, cfg.Issuer(),
		devidp.ClientCredentials{ID: devGPTClientID, Secret: devGPTClientSecret, AuthMethod: devidp.ClientSecretPost},
		cfg.BaseURL.String()+devTokenCallback, fs.Arg(0), strings.Fields(*scope), *resource)
	if err != nil {
		return fmt.Errorf("sign in at %s (is `agenda serve` running?): %w", cfg.Issuer(), err)
	}
	fmt.Fprintln(stdout, tok.AccessToken)
	return nil
}
