package devidp

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// routes lists everything served below the issuer path. zitadel's op serves
// the protocol; the few handlers in front of it add what Logto does and op
// does not: the resource parameter, a client's single auth method, and
// userinfo's refusal of tokens with an audience.
func (p *Provider) routes(protocol http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(authPath, withResourceParam(protocol))
	mux.Handle(tokenPath, p.checkAuthMethod(withResourceParam(protocol)))
	mux.Handle(userinfoPath, refuseJWT(protocol))
	mux.HandleFunc(loginPath, p.login)
	mux.HandleFunc(signedOutPath, signedOut)
	mux.Handle("/", protocol) // discovery, jwks, callback, introspection, revocation, end-session
	return mux
}

type resourceKey struct{}

// withResourceParam hands the RFC 8707 resource parameter, which op's
// request types do not carry, to the storage through the context.
func withResourceParam(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err == nil {
			r = r.WithContext(context.WithValue(r.Context(), resourceKey{}, r.Form["resource"]))
		}
		next.ServeHTTP(w, r)
	})
}

// resourceParam returns the resource parameters of the request being served.
func resourceParam(ctx context.Context) []string {
	v, _ := ctx.Value(resourceKey{}).([]string)
	return v
}

// checkAuthMethod refuses a client that sends its secret another way than
// the one configured for it: op accepts either.
func (p *Provider) checkAuthMethod(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			next.ServeHTTP(w, r)
			return
		}
		id, _, basic := r.BasicAuth()
		used := ClientSecretBasic
		if !basic {
			id, used = r.PostForm.Get("client_id"), ClientSecretPost
			if r.PostForm.Get("client_secret") == "" {
				used = AnyAuthMethod // none: a public client, or a mistake op will report
			}
		}
		if c, ok := p.store.clients[id]; ok && c.AuthMethod != AnyAuthMethod && used != AnyAuthMethod && used != c.AuthMethod {
			writeOAuthError(w, http.StatusUnauthorized, oidc.ErrInvalidClient().WithDescription(
				"client %s must authenticate with %s", id, c.AuthMethod))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// refuseJWT answers 401 to a JWT at the userinfo endpoint. Logto's /oidc/me
// refuses any access token that has an audience, and every JWT access token
// has one: only opaque tokens are good there.
func refuseJWT(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.Header.Get("Authorization")
		if len(token) > len(oidc.PrefixBearer) && strings.EqualFold(token[:len(oidc.PrefixBearer)], oidc.PrefixBearer) {
			token = token[len(oidc.PrefixBearer):]
		} else {
			token = r.FormValue("access_token") // RFC 6750 section 2.2
		}
		if strings.Count(token, ".") == 2 {
			const why = "access token audience prevents accessing the userinfo endpoint"
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+why+`"`)
			writeOAuthError(w, http.StatusUnauthorized, &oidc.Error{ErrorType: "invalid_token", Description: why})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeOAuthError(w http.ResponseWriter, status int, e *oidc.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": string(e.ErrorType), "error_description": e.Description})
}
