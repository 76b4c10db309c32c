package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

//go:embed templates/*.html
var templateFS embed.FS

// pageData is what every template receives.
type pageData struct {
	Title    string
	User     *user // nil when signed out
	Enabled  bool  // browser sign-in is on
	Missing  []string
	Settings string // the settings that turn sign-in on
	Home     string // BaseURL/
	Callback string // BaseURL/callback
	GPT      GPTSettings
	Contact  string
	Message  *message
}

// message is the content of the message page (errors, sign-in off).
type message struct {
	Heading string
	Text    string
	SignIn  bool // offer to sign in again
	Setup   bool // explain how to turn sign-in on
}

// parsePages parses each page together with the layout and the partials.
func (w *Web) parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{"asset": w.assetURL, "contactURL": contactURL, "dict": dict}
	names := []string{"home.html", "agenda.html", "privacy.html", "notfound.html", "signout.html", "message.html"}
	pages := make(map[string]*template.Template, len(names))
	for _, name := range names {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", "templates/"+name)
		if err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// pageData fills the common data of a page whose request went through page.
func (w *Web) pageData(r *http.Request, title string) pageData {
	d := w.baseData(title)
	d.User = w.sessionUser(r.Context())
	return d
}

// baseData is the data that does not depend on the session, for pages shown
// when the session could not be loaded.
func (w *Web) baseData(title string) pageData {
	return pageData{
		Title:    title,
		Enabled:  w.Enabled(),
		Missing:  w.missing,
		Settings: setupSettings,
		Home:     w.home,
		Callback: w.callbackURL,
		GPT:      w.cfg.GPT,
		Contact:  w.cfg.Contact,
	}
}

// render executes a page into a buffer, so a template error becomes a clean
// 500, and writes it with the security headers.
func (w *Web) render(rw http.ResponseWriter, r *http.Request, status int, name string, d pageData) {
	var buf bytes.Buffer
	if err := w.pages[name].ExecuteTemplate(&buf, "layout", d); err != nil {
		w.log.Error("web: render page", "page", name, "err", err)
		w.setPageHeaders(rw.Header())
		http.Error(rw, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	w.setPageHeaders(rw.Header())
	rw.WriteHeader(status)
	if r.Method != http.MethodHead {
		rw.Write(buf.Bytes())
	}
}

// renderError shows a message page. It does not touch the session, which may
// be the thing that failed.
func (w *Web) renderError(rw http.ResponseWriter, r *http.Request, status int, heading, text string) {
	d := w.baseData(heading)
	d.Message = &message{Heading: heading, Text: text, SignIn: w.Enabled() && r.URL.Path == "/callback"}
	w.render(rw, r, status, "message.html", d)
}

// renderSetupNeeded answers the sign-in routes while sign-in is off.
func (w *Web) renderSetupNeeded(rw http.ResponseWriter, r *http.Request) {
	d := w.baseData("Sign-in is off")
	d.Message = &message{Heading: "Sign-in is off on this server", Setup: true}
	w.render(rw, r, http.StatusServiceUnavailable, "message.html", d)
}

// setPageHeaders sets what is particular to an HTML page: its CSP, and
// no-store, since pages carry personal data. The headers every response
// has are the API server's (api's securityHeaders).
func (w *Web) setPageHeaders(h http.Header) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", w.csp)
	h.Set("Cache-Control", "no-store")
}

// contentSecurityPolicy allows only the app's own files: no inline script
// or style, no framing. connect-src names the WebSocket origin because older
// Safari does not match ws(s) with 'self'; form-action names the provider
// because browsers check it on the redirect that follows the sign-out form.
func (w *Web) contentSecurityPolicy() string {
	wsScheme := "ws://"
	if w.cfg.BaseURL.Scheme == "https" {
		wsScheme = "wss://"
	}
	formAction := "'self'"
	if w.Enabled() {
		if u, err := url.Parse(w.cfg.Issuer); err == nil && u.Scheme+"://"+u.Host != w.cfg.BaseURL.Scheme+"://"+w.cfg.BaseURL.Host {
			formAction += " " + u.Scheme + "://" + u.Host
		}
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self'",
		"connect-src 'self' " + wsScheme + w.cfg.BaseURL.Host,
		"form-action " + formAction,
		"base-uri 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}

// contactURL turns the operator's contact into a link: mailto: for an
// address, the URL itself otherwise.
func contactURL(c string) template.URL {
	if strings.Contains(c, "@") && !strings.Contains(c, "/") {
		return template.URL("mailto:" + url.PathEscape(c))
	}
	if u, err := url.Parse(c); err == nil && (u.Scheme == "https" || u.Scheme == "http") {
		return template.URL(u.String())
	}
	return ""
}

func (w *Web) handleHome(rw http.ResponseWriter, r *http.Request) {
	d := w.pageData(r, "Your agenda")
	if d.User != nil {
		w.render(rw, r, http.StatusOK, "agenda.html", d)
		return
	}
	d.Title = "A live agenda for your GPT"
	w.render(rw, r, http.StatusOK, "home.html", d)
}

func (w *Web) handlePrivacy(rw http.ResponseWriter, r *http.Request) {
	w.render(rw, r, http.StatusOK, "privacy.html", w.pageData(r, "Privacy policy"))
}

func (w *Web) handleNotFound(rw http.ResponseWriter, r *http.Request) {
	w.render(rw, r, http.StatusNotFound, "notfound.html", w.pageData(r, "Page not found"))
}

// dict builds a map from key-value pairs, to pass several values to a
// partial template.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}
