package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// provider is what discovery yields: the OAuth client, the id_token
// verifier and the end-session endpoint.
type provider struct {
	oauth      oauth2.Config
	verifier   *oidc.IDTokenVerifier
	endSession string // empty when the provider has none
}

// provider is the OAuth client and id_token verifier over the provider's
// discovery, which Config.Discover makes once for the whole app (package
// auth: on first use, retried while the provider is down), so the app
// starts while it is down.
func (w *Web) provider(ctx context.Context) (*provider, error) {
	op, err := w.cfg.Discover(ctx)
	if err != nil {
		return nil, fmt.Errorf("web: discover %s: %w", w.cfg.Issuer, err)
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := op.Claims(&meta); err != nil {
		return nil, fmt.Errorf("web: discover %s: %w", w.cfg.Issuer, err)
	}
	return &provider{
		oauth: oauth2.Config{
			ClientID:     w.cfg.ClientID,
			ClientSecret: w.cfg.ClientSecret,
			Endpoint:     op.Endpoint(),
			RedirectURL:  w.callbackURL,
			// profile gives the display name; nothing more is asked.
			Scopes: []string{oidc.ScopeOpenID, "profile"},
		},
		verifier:   op.Verifier(&oidc.Config{ClientID: w.cfg.ClientID}),
		endSession: meta.EndSession,
	}, nil
}

// handleSignIn starts the authorization-code flow with PKCE (S256). State,
// nonce and verifier wait in a sealed cookie that lives signInTimeout, not
// in the session store: an anonymous visitor costs no stored row, however
// often /sign-in is asked for. The session row is written when the
// sign-in completes.
func (w *Web) handleSignIn(rw http.ResponseWriter, r *http.Request) {
	if !w.Enabled() {
		w.renderSetupNeeded(rw, r)
		return
	}
	ctx := r.Context()
	if w.sessionUser(ctx) != nil {
		http.Redirect(rw, r, "/", http.StatusSeeOther)
		return
	}
	p, err := w.provider(ctx)
	if err != nil {
		w.log.Error("web: sign-in: identity provider unreachable", "err", err)
		w.renderError(rw, r, http.StatusServiceUnavailable, "Sign-in is unavailable",
			"The sign-in service cannot be reached right now. Try again in a minute.")
		return
	}
	pending := signIn{State: rand.Text(), Nonce: rand.Text(), Verifier: oauth2.GenerateVerifier(), Expires: time.Now().Add(signInTimeout).Unix()}
	if err := w.setSignInCookie(rw, pending); err != nil {
		w.log.Error("web: sign-in: state cookie", "err", err)
		w.renderError(rw, r, http.StatusInternalServerError, "Something went wrong", "Sign-in could not start. Try again.")
		return
	}
	http.Redirect(rw, r, p.oauth.AuthCodeURL(pending.State, oidc.Nonce(pending.Nonce), oauth2.S256ChallengeOption(pending.Verifier)), http.StatusSeeOther)
}

// signIn is a sign-in under way, as sealed in its cookie.
type signIn struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Expires  int64  `json:"e"` // Unix seconds
}

// signInContext binds the sealed value to its use.
const signInContext = "agenda sign-in v1"

func (w *Web) signInCookie(value string, maxAge int) *http.Cookie {
	c := &http.Cookie{Name: "agenda_signin", Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		// Lax: sent on the provider's top-level redirect back to /callback.
		SameSite: http.SameSiteLaxMode}
	if w.cfg.BaseURL.Scheme == "https" {
		c.Secure, c.Name = true, "__Host-agenda_signin"
	}
	return c
}

func (w *Web) setSignInCookie(rw http.ResponseWriter, s signIn) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	http.SetCookie(rw, w.signInCookie(w.keys.sealString(string(b), signInContext), int(signInTimeout/time.Second)))
	return nil
}

// popSignIn reads and clears the sign-in cookie; ok is false when there is
// none, or it is forged, or it has expired.
func (w *Web) popSignIn(rw http.ResponseWriter, r *http.Request) (signIn, bool) {
	empty := w.signInCookie("", -1)
	c, err := r.Cookie(empty.Name)
	if err != nil {
		return signIn{}, false
	}
	http.SetCookie(rw, empty) // used once, whatever happens next
	plain, err := w.keys.openString(c.Value, signInContext)
	var s signIn
	if err != nil || json.Unmarshal([]byte(plain), &s) != nil || s.State == "" || time.Now().Unix() > s.Expires {
		return signIn{}, false
	}
	return s, true
}

// signInError is a failed callback: what the person reads, and what the log
// keeps.
type signInError struct {
	status int
	msg    string
	err    error
}

func (e *signInError) Error() string { return e.msg }

// handleCallback finishes the flow: it checks state, issuer and nonce,
// exchanges the code with the PKCE verifier, verifies the id_token and
// signs the session in under a new token.
func (w *Web) handleCallback(rw http.ResponseWriter, r *http.Request) {
	if !w.Enabled() {
		w.renderSetupNeeded(rw, r)
		return
	}
	if err := w.completeSignIn(rw, r); err != nil {
		var se *signInError
		if !errors.As(err, &se) {
			se = &signInError{status: http.StatusInternalServerError, msg: "Sign-in failed on our side. Try again.", err: err}
		}
		w.log.Warn("web: sign-in refused", "reason", se.msg, "err", se.err)
		w.renderError(rw, r, se.status, "Sign-in did not complete", se.msg)
		return
	}
	http.Redirect(rw, r, "/", http.StatusSeeOther)
}

func (w *Web) completeSignIn(rw http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	pending, ok := w.popSignIn(rw, r)
	state, nonce, verifier := pending.State, pending.Nonce, pending.Verifier
	if !ok {
		return &signInError{http.StatusBadRequest, "No sign-in was in progress in this browser, or it took longer than 15 minutes.", nil}
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 {
		return &signInError{http.StatusBadRequest, "The answer of the sign-in service does not belong to the sign-in this browser started (state mismatch).", nil}
	}
	if e := q.Get("error"); e != "" {
		if e == "access_denied" {
			return &signInError{http.StatusBadRequest, "Sign-in was cancelled.", nil}
		}
		desc := q.Get("error_description")
		if desc == "" {
			desc = e
		}
		return &signInError{http.StatusBadRequest, "The sign-in service answered: " + desc + ".", errors.New(e)}
	}
	// RFC 9207: when the provider names itself, it must be ours (mix-up attack).
	if iss := q.Get("iss"); iss != "" && iss != w.cfg.Issuer {
		return &signInError{http.StatusBadRequest, "The answer came from another sign-in service than this app's.", fmt.Errorf("iss %q", iss)}
	}
	code := q.Get("code")
	if code == "" {
		return &signInError{http.StatusBadRequest, "The answer of the sign-in service has no authorization code.", nil}
	}
	p, err := w.provider(ctx)
	if err != nil {
		return &signInError{http.StatusServiceUnavailable, "The sign-in service cannot be reached right now. Try again in a minute.", err}
	}

	ctx, cancel := context.WithTimeout(context.WithValue(ctx, oauth2.HTTPClient, w.client), exchangeTimeout)
	defer cancel()
	tok, err := p.oauth.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return &signInError{http.StatusBadGateway, "The sign-in service did not accept the sign-in.", err}
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return &signInError{http.StatusBadGateway, "The sign-in service sent no id_token.", nil}
	}
	idt, err := p.verifier.Verify(ctx, raw)
	if err != nil {
		return &signInError{http.StatusBadGateway, "The sign-in service sent an id_token that does not verify.", err}
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return &signInError{http.StatusBadRequest, "The id_token does not belong to the sign-in this browser started (nonce mismatch).", nil}
	}
	var claims struct {
		Name     string `json:"name"`
		Username string `json:"username"`
		Email    string `json:"email"`
	}
	if err := idt.Claims(&claims); err != nil {
		return &signInError{http.StatusBadGateway, "The sign-in service sent an id_token that cannot be read.", err}
	}
	name := firstNonEmpty(claims.Name, claims.Username, claims.Email, idt.Subject)

	// A new token on every change of privilege: a token planted before
	// sign-in (session fixation) is worthless after it.
	if err := w.sessions.RenewToken(r.Context()); err != nil {
		return fmt.Errorf("web: renew session token: %w", err)
	}
	w.sessions.Put(r.Context(), keyUserID, idt.Subject)
	w.sessions.Put(r.Context(), keyName, name)
	w.sessions.Put(r.Context(), keyIDToken, w.keys.sealString(raw, idt.Subject))
	w.log.Info("web: signed in", "user", idt.Subject)
	return nil
}

// handleSignOutPage asks for confirmation: signing out changes state, so it
// takes a POST from the app's own page.
func (w *Web) handleSignOutPage(rw http.ResponseWriter, r *http.Request) {
	d := w.pageData(r, "Sign out")
	if d.User == nil {
		http.Redirect(rw, r, "/", http.StatusSeeOther)
		return
	}
	w.render(rw, r, http.StatusOK, "signout.html", d)
}

// handleSignOut destroys the session, then sends the browser to the
// provider's end-session endpoint, which comes back to BaseURL/ (or straight
// home when the provider has none).
func (w *Web) handleSignOut(rw http.ResponseWriter, r *http.Request) {
	u := w.sessionUser(r.Context())
	if u == nil {
		http.Redirect(rw, r, "/", http.StatusSeeOther)
		return
	}
	if err := w.CheckCrossOrigin(r); err != nil {
		w.renderError(rw, r, http.StatusForbidden, "Sign-out refused",
			"This sign-out did not come from this app's page. Reload the page and sign out again.")
		return
	}
	hint, _ := w.keys.openString(w.sessions.GetString(r.Context(), keyIDToken), u.ID)
	if err := w.sessions.Destroy(r.Context()); err != nil {
		w.log.Error("web: sign-out: destroy session", "err", err)
		w.renderError(rw, r, http.StatusInternalServerError, "Sign-out failed", "Your session could not be ended. Try again.")
		return
	}
	w.log.Info("web: signed out", "user", u.ID)
	http.Redirect(rw, r, w.endSessionURL(r.Context(), hint), http.StatusSeeOther)
}

// endSessionURL is where the browser goes after sign-out.
func (w *Web) endSessionURL(ctx context.Context, idTokenHint string) string {
	p, err := w.provider(ctx)
	if err != nil || p.endSession == "" {
		return "/"
	}
	u, err := url.Parse(p.endSession)
	if err != nil {
		return "/"
	}
	q := u.Query()
	q.Set("client_id", w.cfg.ClientID)
	q.Set("post_logout_redirect_uri", w.home)
	if idTokenHint != "" {
		q.Set("id_token_hint", idTokenHint)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
