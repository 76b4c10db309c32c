package devidp

import (
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// validUserName: the user name becomes the subject, so it must be stable and
// must not contain ":", which op uses to join a token id and a subject.
var validUserName = regexp.MustCompile(`^[A-Za-z0-9._@+-]{1,64}$`)

var pages = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in</title>
<style>body{font:16px system-ui,sans-serif;max-width:24rem;margin:4rem auto;padding:0 1rem}input,button{font:inherit;padding:.4rem}</style>
</head><body><main>
<h1>Sign in</h1>
<p>Development sign-in: any user name signs you in, without a password.</p>
{{with .Error}}<p role="alert">{{.}}</p>{{end}}
<form method="post" action="login">
<input type="hidden" name="id" value="{{.ID}}">
<p><label>User name <input name="username" value="{{.UserName}}" required autofocus autocomplete="username"></label></p>
<p><button type="submit">Sign in</button></p>
</form>
</main></body></html>
{{define "message"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.}}</title></head><body><main><p>{{.}}</p></main></body></html>
{{end}}`))

type loginForm struct {
	ID, UserName, Error string
}

// login is the sign-in page an authorization request is sent to: GET shows
// the form, POST signs the user in and returns to op's callback, which
// redirects to the client with a code.
func (p *Provider) login(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	switch r.Method {
	case http.MethodGet:
		id := r.URL.Query().Get("id")
		hint, err := p.store.loginHint(id)
		if err != nil {
			expired(w)
			return
		}
		render(w, http.StatusOK, "login", loginForm{ID: id, UserName: hint})
	case http.MethodPost:
		id, name := r.PostFormValue("id"), strings.TrimSpace(r.PostFormValue("username"))
		if !validUserName.MatchString(name) {
			render(w, http.StatusBadRequest, "login", loginForm{ID: id, UserName: name,
				Error: "A user name is 1 to 64 letters, digits or . _ @ + -"})
			return
		}
		if err := p.store.signIn(id, name); err != nil {
			expired(w)
			return
		}
		http.Redirect(w, r, p.issuer+callbackPath+"?id="+url.QueryEscape(id), http.StatusSeeOther)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func expired(w http.ResponseWriter) {
	render(w, http.StatusBadRequest, "message", "This sign-in request is unknown or has expired: start again from the app.")
}

// signedOut is where end-session lands without a post_logout_redirect_uri.
func signedOut(w http.ResponseWriter, _ *http.Request) {
	render(w, http.StatusOK, "message", "You are signed out.")
}

func render(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = pages.ExecuteTemplate(w, name, data)
}
