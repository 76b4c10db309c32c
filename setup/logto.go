package setup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	agenda "github.com/agenda-gpt/agenda"
)

// The shapes of Logto's Management API responses, as far as setup reads them
// (https://openapi.logto.io).
type (
	logtoApp struct {
		ID                 string `json:"id"`
		Name               string `json:"name"`
		Type               string `json:"type"` // Native, SPA, Traditional, MachineToMachine, Protected, SAML
		OIDCClientMetadata struct {
			RedirectURIs           []string `json:"redirectUris"`
			PostLogoutRedirectURIs []string `json:"postLogoutRedirectUris"`
		} `json:"oidcClientMetadata"`
		CustomClientMetadata struct {
			AlwaysIssueRefreshToken bool `json:"alwaysIssueRefreshToken"`
		} `json:"customClientMetadata"`
	}
	logtoResource struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		Indicator string `json:"indicator"`
		IsDefault bool   `json:"isDefault"`
	}
	logtoScope struct {
		ID         string `json:"id"`
		ResourceID string `json:"resourceId"`
		Name       string `json:"name"`
	}
	logtoRole struct {
		ID         string `json:"id"`
		Name       string `json:"name"`
		Type       string `json:"type"` // User or MachineToMachine
		IsDefault  bool   `json:"isDefault"`
		UsersCount *int   `json:"usersCount"`
	}
)

// chatGPTCallback matches the redirect URI ChatGPT shows for a GPT's action.
var chatGPTCallback = regexp.MustCompile(`^https://(chatgpt\.com|chat\.openai\.com)/aip/g-[A-Za-z0-9]+/oauth/callback$`)

// Management API paging: Logto serves at most 100 items a page.
const (
	pageSize = 100
	maxPages = 20
)

// errMgmt means a Management API call failed and was reported; the checks
// that depend on it stop there.
var errMgmt = errors.New("management API call failed")

// logto reads a tenant's configuration through the Management API, with a
// token from the Machine-to-machine application.
type logto struct {
	d     *doctor
	base  string // the origin the Management API is served at
	token string
}

// managementAPI returns the Management API's resource indicator and the
// origin it is served at. Logto Cloud names it after the tenant,
// https://<tenant-id>.logto.app/api; a self-hosted Logto always calls it
// https://default.logto.app/api and serves it at its own endpoint.
func (d *doctor) managementAPI() (resource, base string) {
	endpoint := strings.TrimSuffix(d.cfg.LogtoEndpoint.String(), "/")
	resource = d.mgmtAPI
	if resource == "" {
		if host := d.cfg.LogtoEndpoint.Hostname(); strings.HasSuffix(host, ".logto.app") {
			resource = "https://" + host + "/api"
		} else {
			resource = "https://default.logto.app/api"
		}
	}
	base = endpoint
	if u, err := url.Parse(resource); err == nil && strings.HasSuffix(u.Hostname(), ".logto.app") && u.Hostname() != "default.logto.app" {
		base = u.Scheme + "://" + u.Host // a Cloud tenant, whatever domain LOGTO_ENDPOINT uses
	}
	return resource, base
}

// checkLogto is the deeper doctor: the GPT's application, the web UI's, and
// with RBAC the API resource, its permissions and the roles granting them.
func (d *doctor) checkLogto(ctx context.Context) {
	if d.cfg.LogtoEndpoint == nil {
		return // the development provider has no Management API
	}
	if d.disc == nil {
		d.report(note, "Logto's own configuration was not checked, since its discovery document could not be read.", "")
		return
	}
	resource, base := d.managementAPI()
	l := &logto{d: d, base: base}
	if err := l.authenticate(ctx, resource); err != nil {
		return
	}
	d.pass("The Machine-to-machine application reads the Logto Management API at %s.", base)

	gpt, err := l.gptApp(ctx)
	if errors.Is(err, errMgmt) {
		return // reported; the next calls would fail the same way
	}
	if gpt != nil {
		l.checkGPTApp(gpt)
	}
	if d.cfg.WebAppID != "" {
		l.checkWebApp(ctx, gpt)
	}
	if d.rbac() {
		l.checkAPIResource(ctx)
	}
}

// authenticate gets a Management API token with client_credentials.
func (l *logto) authenticate(ctx context.Context, resource string) error {
	d := l.d
	tokenURL := l.base + "/oidc/token"
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {resource}, "scope": {"all"}}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(d.cfg.M2MAppID, d.cfg.M2MAppSecret)
	resp, err := d.client.Do(req)
	if err != nil {
		d.report(warning, "Logto's configuration was not checked: its token endpoint "+tokenURL+" cannot be reached ("+describe(err)+").",
			"check LOGTO_ENDPOINT.")
		return errMgmt
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken      string `json:"access_token"`
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tok)
	if resp.StatusCode == http.StatusOK && tok.AccessToken != "" {
		l.token = tok.AccessToken
		return nil
	}
	text := fmt.Sprintf("Logto's configuration was not checked: Logto refused a Management API token to LOGTO_M2M_APP_ID (HTTP %d %s: %s).",
		resp.StatusCode, tok.Error, tok.ErrorDescription)
	switch tok.Error {
	case "invalid_client":
		d.report(warning, text, "copy the App ID and App secret of the Machine-to-machine application into LOGTO_M2M_APP_ID and LOGTO_M2M_APP_SECRET again.")
	case "invalid_target":
		d.report(warning, text, "Logto does not know the Management API as "+resource+". On Logto Cloud behind a custom domain, "+
			"set LOGTO_MANAGEMENT_API=https://<tenant-id>.logto.app/api (the tenant id is the first part of the console's address); a self-hosted Logto uses https://default.logto.app/api.")
	case "unauthorized_client":
		d.report(warning, text, "LOGTO_M2M_APP_ID must be a Machine-to-machine application.")
	default:
		d.report(warning, text, "give the Machine-to-machine application a role with the Logto Management API's all permission (Console → Applications → the app → Machine-to-machine roles).")
	}
	return errMgmt
}

// fetch GETs a Management API path into v; it reports a failure once and
// returns errMgmt, or returns errNotFound for a 404.
func (l *logto) fetch(ctx context.Context, path string, v any) error {
	d := l.d
	status, body, err := d.get(ctx, l.base+path, http.Header{"Authorization": {"Bearer " + l.token}})
	switch {
	case err != nil:
		d.report(warning, "Logto's configuration was checked only in part: GET "+path+" failed ("+describe(err)+").", "run setup again.")
		return errMgmt
	case status == http.StatusNotFound:
		return errNotFound
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		d.report(warning, fmt.Sprintf("Logto's configuration was checked only in part: the Management API refused GET %s (HTTP %d).", path, status),
			"give the Machine-to-machine application a role with the Logto Management API's all permission.")
		return errMgmt
	case status != http.StatusOK:
		d.report(warning, fmt.Sprintf("Logto's configuration was checked only in part: GET %s answered HTTP %d.", path, status), "run setup again.")
		return errMgmt
	}
	if err := json.Unmarshal(body, v); err != nil {
		d.report(warning, "Logto's configuration was checked only in part: GET "+path+" returned something setup cannot read.", "")
		return errMgmt
	}
	return nil
}

var errNotFound = errors.New("not found")

// list GETs every page of a Management API listing.
func list[T any](ctx context.Context, l *logto, path string) ([]T, error) {
	var all []T
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	for page := 1; page <= maxPages; page++ {
		var items []T
		if err := l.fetch(ctx, fmt.Sprintf("%s%spage=%d&page_size=%d", path, sep, page, pageSize), &items); err != nil {
			if errors.Is(err, errNotFound) {
				l.d.report(warning, "Logto's configuration was checked only in part: "+path+" is not served by this Logto version.", "")
				return nil, errMgmt
			}
			return nil, err
		}
		all = append(all, items...)
		if len(items) < pageSize {
			break
		}
	}
	return all, nil
}

// gptApp finds the GPT's application: by LOGTO_GPT_APP_ID, or as the one
// application with a ChatGPT callback among its redirect URIs.
func (l *logto) gptApp(ctx context.Context) (*logtoApp, error) {
	d := l.d
	if d.gptAppID != "" {
		var app logtoApp
		err := l.fetch(ctx, "/api/applications/"+url.PathEscape(d.gptAppID), &app)
		if errors.Is(err, errNotFound) {
			d.report(problem, "LOGTO_GPT_APP_ID is "+d.gptAppID+", but this Logto tenant has no application with that App ID.",
				"copy the App ID of the GPT's application (Console → Applications) into LOGTO_GPT_APP_ID, and check that LOGTO_ENDPOINT is the same tenant.")
			return nil, err
		}
		if err != nil {
			return nil, err
		}
		d.clientID = app.ID
		return &app, nil
	}

	apps, err := list[logtoApp](ctx, l, "/api/applications")
	if err != nil {
		return nil, err
	}
	var found []logtoApp
	for _, a := range apps {
		if len(chatGPTCallbacks(a)) > 0 {
			found = append(found, a)
		}
	}
	switch len(found) {
	case 0:
		d.report(problem, "No Logto application has a ChatGPT callback URL among its redirect URIs, so sign-in from the GPT fails with a redirect_uri error.",
			"save the GPT, copy the Callback URL its action shows (https://chatgpt.com/aip/g-<id>/oauth/callback) into the Redirect URIs of the GPT's Traditional web application, "+
				"and set LOGTO_GPT_APP_ID to that application's App ID.")
		return nil, nil
	case 1:
		d.report(note, "The GPT's application was taken to be "+quote(found[0].Name)+" ("+found[0].ID+"), the one with a ChatGPT callback URL.",
			"set LOGTO_GPT_APP_ID="+found[0].ID+" so setup always checks that one.")
		d.clientID = found[0].ID
		return &found[0], nil
	default:
		var names []string
		for _, a := range found {
			names = append(names, quote(a.Name)+" ("+a.ID+")")
		}
		d.report(warning, "Several applications have a ChatGPT callback URL: "+strings.Join(names, ", ")+"; setup did not check them.",
			"set LOGTO_GPT_APP_ID to the App ID the GPT uses as its Client ID.")
		return nil, nil
	}
}

func chatGPTCallbacks(a logtoApp) []string {
	var out []string
	for _, u := range a.OIDCClientMetadata.RedirectURIs {
		if chatGPTCallback.MatchString(u) {
			out = append(out, u)
		}
	}
	return out
}

func (l *logto) checkGPTApp(app *logtoApp) {
	d := l.d
	name := quote(app.Name)
	if app.Type == "Traditional" {
		d.pass("The GPT's application %s is a Traditional web application.", name)
	} else {
		d.report(problem, "The GPT's application "+name+" is of type "+app.Type+", not Traditional web: a GPT sends a client secret and no PKCE, "+
			"and Logto requires PKCE of single-page and native applications, so the token exchange fails.",
			"create a Traditional web application for the GPT, and use its App ID and App secret as the GPT's Client ID and Client Secret.")
	}

	callbacks := chatGPTCallbacks(*app)
	switch {
	case len(callbacks) == 0:
		fix := "save the GPT, then copy the Callback URL its action shows (https://chatgpt.com/aip/g-<id>/oauth/callback) into this application's Redirect URIs. It changes whenever the action's authentication is edited."
		for _, u := range app.OIDCClientMetadata.RedirectURIs {
			if strings.Contains(u, "/aip/") {
				fix = "the redirect URI " + u + " looks like ChatGPT's but is not exactly https://chatgpt.com/aip/g-<id>/oauth/callback: copy the Callback URL from the GPT editor again, whole."
			}
		}
		d.report(problem, "The GPT's application "+name+" has no ChatGPT callback URL among its redirect URIs, so sign-in from the GPT fails with a redirect_uri error.", fix)
	case len(callbacks) > 1:
		d.report(note, fmt.Sprintf("The GPT's application %s has %d ChatGPT callback URLs: %s. Only the one the GPT shows now is used.",
			name, len(callbacks), strings.Join(callbacks, ", ")),
			"if sign-in fails with a redirect_uri error, compare them with the Callback URL in the GPT editor; the others can go.")
	default:
		d.pass("The GPT's application %s redirects to %s; if the GPT editor shows another Callback URL, add that one.", name, callbacks[0])
	}

	if app.CustomClientMetadata.AlwaysIssueRefreshToken {
		d.pass("The GPT's application always issues refresh tokens.")
	} else {
		d.report(problem, `"Always issue Refresh Token" is off for the GPT's application `+name+
			", so ChatGPT gets no refresh token and people must sign in again every hour.",
			`turn it on: Console → Applications → `+app.Name+` → Advanced settings → Always issue Refresh Token.`)
	}
}

// checkWebApp checks the web UI's application. The GPT works without it, so
// what is wrong here is a warning.
func (l *logto) checkWebApp(ctx context.Context, gpt *logtoApp) {
	d := l.d
	if gpt != nil && gpt.ID == d.cfg.WebAppID {
		d.report(warning, "LOGTO_APP_ID is the GPT's own application; the web UI and the GPT should each have one, with their own redirect URIs.",
			"create a second Traditional web application for the web UI and put its App ID and App secret in LOGTO_APP_ID and LOGTO_APP_SECRET.")
		return
	}
	var app logtoApp
	err := l.fetch(ctx, "/api/applications/"+url.PathEscape(d.cfg.WebAppID), &app)
	if errors.Is(err, errNotFound) {
		d.report(warning, "LOGTO_APP_ID is "+d.cfg.WebAppID+", but this Logto tenant has no such application, so the web UI cannot sign in.",
			"copy the web UI application's App ID into LOGTO_APP_ID.")
		return
	}
	if err != nil {
		return
	}
	callback := d.baseURL() + "/callback"
	ok := true
	if app.Type != "Traditional" {
		ok = false
		d.report(warning, "The web UI's application "+quote(app.Name)+" is of type "+app.Type+", not Traditional web, which the app's server-side sign-in needs.",
			"create a Traditional web application for the web UI and use its App ID and App secret.")
	}
	if !contains(app.OIDCClientMetadata.RedirectURIs, callback) {
		ok = false
		d.report(warning, "The web UI's application "+quote(app.Name)+" lacks the redirect URI "+callback+", so signing in to the web UI fails.",
			"add "+callback+" to its Redirect URIs.")
	}
	if home := d.baseURL() + "/"; !contains(app.OIDCClientMetadata.PostLogoutRedirectURIs, home) {
		ok = false
		d.report(warning, "The web UI's application "+quote(app.Name)+" lacks the post sign-out redirect URI "+home+", so Logto will not send people back to the app after they sign out.",
			"add "+home+" to its Post sign-out redirect URIs.")
	}
	if ok {
		d.pass("The web UI's application %s is Traditional web and redirects to %s.", quote(app.Name), callback)
	}
}

// checkAPIResource checks what RBAC needs: the API resource, marked Default
// API, with read and write permissions that some user role grants.
func (l *logto) checkAPIResource(ctx context.Context) {
	d := l.d
	want := d.cfg.LogtoAPIResource
	resources, err := list[logtoResource](ctx, l, "/api/resources")
	if err != nil {
		return
	}
	var res *logtoResource
	var near []string
	for i, r := range resources {
		switch {
		case r.Indicator == want:
			res = &resources[i]
		case strings.TrimSuffix(r.Indicator, "/") == strings.TrimSuffix(want, "/"):
			near = append(near, r.Indicator)
		}
	}
	if res == nil {
		fix := "Console → API resources → Create API resource, with the identifier " + want + " exactly."
		if len(near) > 0 {
			fix = "Logto has " + strings.Join(near, ", ") + ", which differs only by a trailing slash; identifiers are compared exactly. Make LOGTO_API_RESOURCE and the identifier the same string."
		}
		d.report(problem, "LOGTO_API_RESOURCE is "+want+", but Logto has no API resource with that identifier, so it never issues a JWT for it and every call is refused.", fix)
		return
	}
	if res.IsDefault {
		d.pass("The API resource %s is the Default API.", want)
	} else {
		d.report(problem, "The API resource "+want+" is not the Default API. ChatGPT cannot send a resource parameter, so Logto issues an opaque token without openid, which its userinfo endpoint refuses: every call gets 401 and ChatGPT asks people to sign in again.",
			"Console → API resources → "+res.Name+` → turn on "Default API".`)
	}

	scopes, err := list[logtoScope](ctx, l, "/api/resources/"+url.PathEscape(res.ID)+"/scopes")
	if err != nil {
		return
	}
	needed := []string{agenda.ScopeRead, agenda.ScopeWrite}
	var missing []string
	for _, s := range needed {
		if !hasScope(scopes, res.ID, s) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		d.report(problem, "The API resource "+want+" lacks the permission "+strings.Join(missing, " and ")+
			", so Logto drops it from the scope the GPT asks for and the app answers 403.",
			"Console → API resources → "+res.Name+" → Permissions → add "+strings.Join(missing, " and ")+".")
		return
	}
	d.pass("The API resource %s has the read and write permissions.", want)

	roles, err := list[logtoRole](ctx, l, "/api/roles?type=User")
	if err != nil {
		return
	}
	granting := map[string][]logtoRole{}
	for _, r := range roles {
		if r.Type != "" && r.Type != "User" {
			continue
		}
		var rs []logtoScope
		if err := l.fetch(ctx, "/api/roles/"+url.PathEscape(r.ID)+"/scopes", &rs); err != nil {
			if !errors.Is(err, errNotFound) {
				return
			}
			continue
		}
		for _, s := range needed {
			if hasScope(rs, res.ID, s) {
				granting[s] = append(granting[s], r)
			}
		}
	}
	for _, s := range needed {
		if len(granting[s]) == 0 {
			d.report(problem, "No user role grants the "+s+" permission of "+want+
				". Logto silently drops a permission the user's roles do not grant, so the token lacks it and the app answers 403.",
				"Console → Roles → create or open a user role → Permissions → assign "+s+" of "+res.Name+"; then assign the role to the GPT's users, or make it a default role for new users.")
		}
	}
	if len(granting[agenda.ScopeRead]) == 0 || len(granting[agenda.ScopeWrite]) == 0 {
		return
	}
	var names []string
	seen := map[string]bool{}
	used := false
	for _, r := range append(granting[agenda.ScopeRead], granting[agenda.ScopeWrite]...) {
		if seen[r.ID] {
			continue
		}
		seen[r.ID] = true
		names = append(names, quote(r.Name))
		if r.IsDefault || r.UsersCount == nil || *r.UsersCount > 0 {
			used = true
		}
	}
	if !used {
		d.report(warning, "The roles granting read and write ("+strings.Join(names, ", ")+") are assigned to no user and are not default roles, so every user would get 403.",
			"assign them to the GPT's users (Console → User management → the user → Roles), or make them default roles so new users get them.")
		return
	}
	d.pass("Roles grant read and write of %s: %s.", want, strings.Join(names, ", "))
}

func hasScope(scopes []logtoScope, resourceID, name string) bool {
	for _, s := range scopes {
		if s.Name == name && (s.ResourceID == "" || s.ResourceID == resourceID) {
			return true
		}
	}
	return false
}
