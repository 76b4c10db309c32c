package devidp_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/agenda-gpt/agenda/devidp"
)

// A GPT action's sign-in, as ChatGPT runs it, against a provider on its own
// loopback port.
func ExampleSignIn() {
	const callback = "https://chatgpt.com/aip/g-1/oauth/callback"
	gpt := devidp.Client{ID: "gpt", Secret: "secret", RedirectURIs: []string{callback}}
	// The listener first, so the issuer is known before the server starts.
	srv := httptest.NewUnstartedServer(nil)
	p, err := devidp.New(devidp.Config{Issuer: "http://" + srv.Listener.Addr().String() + "/oidc", Clients: []devidp.Client{gpt}})
	if err != nil {
		log.Fatal(err)
	}
	srv.Config.Handler = p
	srv.Start()
	defer srv.Close()

	tok, err := devidp.SignIn(context.Background(), nil, p.Issuer(), gpt.Credentials(), callback,
		"alice", []string{"openid", "profile", "offline_access"}, "")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.RefreshToken != "", tok.Extra("scope"))
	// Output: true openid profile offline_access
}
