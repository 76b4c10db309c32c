// Package setup is `agenda setup`: from the app's own settings it prints what
// goes into the GPT editor and which Logto console steps remain, then checks
// what it can reach (the provider's discovery document, the app's public
// pages and, given a Machine-to-machine application, Logto's configuration
// through its Management API) and says what is wrong, each with its fix.
package setup

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/agenda-gpt/agenda/config"
)

// callTimeout bounds every request setup makes. It is longer than the
// server's IDP_TIMEOUT: a person waits for setup, and a slow link should not
// read as a broken configuration.
const callTimeout = 10 * time.Second

// Run prints, to out, the values for the GPT editor and the Logto console
// steps that fit cfg, then the result of every check. It returns false when
// something stops the GPT from working; warnings (the web UI, MCP, what it
// could not check) leave it true.
//
// getenv reads the two settings only setup uses, until config carries them:
// LOGTO_GPT_APP_ID, the App ID of the GPT's Logto application, and
// LOGTO_MANAGEMENT_API, the Management API's resource indicator when it
// cannot be told from LOGTO_ENDPOINT (a Logto Cloud tenant behind a custom
// domain: https://<tenant-id>.logto.app/api).
func Run(ctx context.Context, cfg config.Config, getenv func(string) string, client *http.Client, out io.Writer) bool {
	if client == nil {
		client = &http.Client{Timeout: callTimeout}
	}
	d := &doctor{
		cfg:      cfg,
		client:   client,
		gptAppID: strings.TrimSpace(getenv("LOGTO_GPT_APP_ID")),
		mgmtAPI:  strings.TrimSpace(getenv("LOGTO_MANAGEMENT_API")),
	}
	d.run(ctx)
	d.print(out)
	return d.count(problem) == 0
}

// severity orders findings from a passed check to a problem.
type severity int

const (
	passed  severity = iota // a check that passed
	note                    // not checked, or worth knowing
	warning                 // wrong or missing, but the GPT still works
	problem                 // stops the GPT from working
)

func (s severity) label() string {
	return [...]string{"ok", "note", "warning", "PROBLEM"}[s]
}

// A finding is one line of the report: what is the case, in plain words, and
// what to do about it.
type finding struct {
	sev  severity
	text string
	fix  string
}

// doctor runs the checks for one configuration and keeps what they found.
type doctor struct {
	cfg      config.Config
	client   *http.Client
	gptAppID string // LOGTO_GPT_APP_ID
	mgmtAPI  string // LOGTO_MANAGEMENT_API

	disc     *discovery // nil until read, and when it could not be read
	clientID string     // the GPT application's App ID, once known
	findings []finding
}

func (d *doctor) report(sev severity, text, fix string) {
	d.findings = append(d.findings, finding{sev: sev, text: text, fix: fix})
}

func (d *doctor) pass(format string, args ...any) {
	d.report(passed, fmt.Sprintf(format, args...), "")
}

func (d *doctor) count(sev severity) int {
	n := 0
	for _, f := range d.findings {
		if f.sev == sev {
			n++
		}
	}
	return n
}

func (d *doctor) run(ctx context.Context) {
	d.checkBaseURL()
	d.checkDiscovery(ctx)
	d.checkDomains()
	d.checkApp(ctx)
	d.checkWeb()
	d.checkTokenBinding()
	if d.cfg.M2MAppID != "" && d.cfg.M2MAppSecret != "" {
		d.checkLogto(ctx)
	} else {
		d.notChecked()
	}
}

// baseURL is BASE_URL without a trailing slash (config trims it).
func (d *doctor) baseURL() string { return d.cfg.BaseURL.String() }

// rbac reports whether tokens are JWTs for an API resource.
func (d *doctor) rbac() bool { return d.cfg.LogtoAPIResource != "" }

// scope is what the GPT asks for. With the API resource, openid must stay
// out: Logto issues a JWT for the Default API only when the scope has no
// openid, and an opaque userinfo token otherwise.
func (d *doctor) scope() string {
	if d.rbac() {
		return "read write offline_access"
	}
	return "openid offline_access"
}

// endpoints returns the authorization and token URLs: discovered, or Logto's
// usual layout under the issuer when discovery failed.
func (d *doctor) endpoints() (auth, token string, discovered bool) {
	if d.disc != nil && d.disc.AuthorizationEndpoint != "" && d.disc.TokenEndpoint != "" {
		return d.disc.AuthorizationEndpoint, d.disc.TokenEndpoint, true
	}
	return d.cfg.Issuer() + "/auth", d.cfg.Issuer() + "/token", false
}

// tokenExchangeMethod is the editor's choice for how ChatGPT sends the client
// secret. "Default (POST request)" puts it in the form body
// (client_secret_post), which Logto accepts.
func (d *doctor) tokenExchangeMethod() string {
	if d.disc != nil && len(d.disc.TokenEndpointAuthMethodsSupported) > 0 &&
		!contains(d.disc.TokenEndpointAuthMethodsSupported, "client_secret_post") &&
		contains(d.disc.TokenEndpointAuthMethodsSupported, "client_secret_basic") {
		return "Basic authorization header"
	}
	return "Default (POST request)"
}

func (d *doctor) print(out io.Writer) {
	p := &printer{w: out}
	base := d.baseURL()
	auth, token, discovered := d.endpoints()
	clientID := "<App ID of the Logto application for the GPT>"
	if d.clientID != "" {
		clientID = d.clientID
	}

	p.heading("In the GPT editor: Configure → Actions → Create new action")
	p.field("Schema", "Import from URL: "+base+"/openapi.yaml")
	p.field("Authentication", "OAuth")
	p.field("  Client ID", clientID)
	p.field("  Client Secret", "<App secret of that application>")
	p.field("  Authorization URL", auth)
	p.field("  Token URL", token)
	p.field("  Scope", d.scope())
	if d.rbac() {
		p.para(27, "No openid, on purpose: with openid in the scope Logto keeps issuing opaque tokens for its userinfo endpoint; "+
			"without it, and with "+d.cfg.LogtoAPIResource+" marked Default API, Logto issues a JWT for that API carrying the read and write permissions the user's roles grant.")
	}
	p.field("  Token exchange method", d.tokenExchangeMethod())
	p.field("Privacy policy", base+"/privacy")
	if !discovered {
		p.para(0, "(The authorization and token URLs follow Logto's usual layout: discovery could not be read, see the checks below.)")
	}

	p.heading("In the Logto console")
	step := 0
	next := func(text string) { step++; p.item(fmt.Sprintf("%d.", step), 4, text) }
	next("Applications → Create application → Traditional web, for the GPT alone. " +
		"Traditional web, because a GPT sends no PKCE, which Logto requires of single-page and native apps. " +
		"Its App ID and App secret are the GPT's Client ID and Client Secret.")
	next(`In that application turn on "Always issue Refresh Token", so ChatGPT refreshes the one-hour access token instead of asking people to sign in again.`)
	next("Save the GPT. The action then shows its Callback URL, https://chatgpt.com/aip/g-<id>/oauth/callback: " +
		"add it to the application's Redirect URIs. It changes whenever the action's authentication is edited: copy it again each time.")
	if d.rbac() {
		next("API resources → the API with identifier " + d.cfg.LogtoAPIResource + ": mark it Default API, give it the permissions read and write, " +
			"and grant both through a role (Roles → the role → Permissions) that every user of the GPT has, for instance a default role. " +
			"Logto silently drops permissions a user's roles do not grant, and the app then answers 403.")
	}
	if !d.cfg.DevIdP() {
		next("For the web UI, a second Traditional web application: Redirect URI " + base + "/callback, post sign-out redirect URI " + base +
			"/ (with the final slash). Its App ID and App secret go in LOGTO_APP_ID and LOGTO_APP_SECRET.")
	}

	p.heading("Checks")
	for _, f := range d.findings {
		p.item(f.sev.label(), 11, f.text)
		if f.fix != "" {
			p.para(11, "Fix: "+f.fix)
		}
	}
	p.line("")
	warnings := ""
	if n := d.count(warning); n > 0 {
		warnings = " (" + plural(n, "warning") + " besides)"
	}
	switch n := d.count(problem); n {
	case 0:
		p.para(0, "Nothing found that stops the GPT from working"+warnings+".")
	case 1:
		p.para(0, "1 problem stops the GPT from working"+warnings+". Fix it and run agenda setup again.")
	default:
		p.para(0, fmt.Sprintf("%d problems stop the GPT from working%s. Fix them and run agenda setup again.", n, warnings))
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// printer writes the report as plain text wrapped for a terminal; it breaks
// lines at spaces only, so URLs stay whole for copying.
type printer struct {
	w   io.Writer
	err error
}

const width = 88

func (p *printer) line(s string) {
	if p.err == nil {
		_, p.err = fmt.Fprintln(p.w, s)
	}
}

func (p *printer) heading(s string) {
	p.line("")
	p.line(s)
	p.line(strings.Repeat("-", len([]rune(s))))
}

// field prints a name and the value to copy, the values aligned.
func (p *printer) field(name, value string) {
	p.line(fmt.Sprintf("%-26s %s", name, value))
}

// item prints text after a label, continuation lines indented under it.
func (p *printer) item(label string, indent int, text string) {
	for i, l := range wrap(text, width-indent) {
		if i == 0 {
			p.line(fmt.Sprintf("%-*s%s", indent, label, l))
		} else {
			p.line(strings.Repeat(" ", indent) + l)
		}
	}
}

func (p *printer) para(indent int, text string) {
	for _, l := range wrap(text, width-indent) {
		p.line(strings.Repeat(" ", indent) + l)
	}
}

func wrap(text string, width int) []string {
	var lines []string
	var cur strings.Builder
	for _, word := range strings.Fields(text) {
		if cur.Len() > 0 && cur.Len()+1+len(word) > width {
			lines = append(lines, cur.String())
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteByte(' ')
		}
		cur.WriteString(word)
	}
	if cur.Len() > 0 {
		lines = append(lines, cur.String())
	}
	return lines
}
