package setup

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/agenda-gpt/agenda/config"
)

// discovery is the part of an OpenID Provider's metadata that setup reads.
type discovery struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	ScopesSupported                   []string `json:"scopes_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
}

// minSessionSecret is the shortest SESSION_SECRET setup accepts: 32 bytes,
// the key size of the cookie's HMAC and encryption.
const minSessionSecret = 32

// checkBaseURL checks what ChatGPT needs of the app's address: public HTTPS
// on port 443.
func (d *doctor) checkBaseURL() {
	u := d.cfg.BaseURL
	switch {
	case config.IsLoopback(u):
		fix := "deploy the app (see docs/setup.md) and set BASE_URL to its public https URL, or for a trial expose this machine through an HTTPS tunnel and set BASE_URL to the tunnel's URL."
		if d.cfg.DevIdP() {
			fix += " The built-in development sign-in runs only on loopback: a GPT needs Logto, so set LOGTO_ENDPOINT too."
		}
		d.report(problem, "BASE_URL is "+u.String()+", a loopback address ChatGPT cannot reach: GPT actions call public HTTPS URLs only.", fix)
	case u.Scheme != "https":
		d.report(problem, "BASE_URL is "+u.String()+", not https: ChatGPT calls actions over HTTPS only (TLS 1.2 or later, a valid certificate, port 443).",
			"serve the app behind TLS (a reverse proxy or your platform's HTTPS) and set BASE_URL to its https URL.")
	case u.Port() != "" && u.Port() != "443":
		d.report(problem, "BASE_URL is "+u.String()+", on port "+u.Port()+": ChatGPT calls actions on port 443 only.",
			"serve the app on the standard HTTPS port and drop the port from BASE_URL.")
	default:
		d.pass("BASE_URL %s is a public https URL.", u)
	}
}

// checkDiscovery reads the provider's discovery document and checks that it
// looks like Logto's: the issuer the app expects and the endpoints a GPT and
// the app use.
func (d *doctor) checkDiscovery(ctx context.Context) {
	issuer := d.cfg.Issuer()
	where := issuer + "/.well-known/openid-configuration"
	status, body, err := d.get(ctx, where, nil)
	if err != nil {
		d.report(problem, "The sign-in provider's discovery document cannot be read at "+where+": "+describe(err)+".", d.endpointFix())
		return
	}
	if status != http.StatusOK {
		d.report(problem, fmt.Sprintf("The sign-in provider answers HTTP %d at %s instead of its discovery document.", status, where), d.endpointFix())
		return
	}
	var disc discovery
	if err := json.Unmarshal(body, &disc); err != nil || disc.Issuer == "" {
		d.report(problem, "What "+where+" returns is not an OpenID discovery document.", d.endpointFix())
		return
	}

	var missing []string
	for _, f := range []struct{ name, value string }{
		{"authorization_endpoint", disc.AuthorizationEndpoint},
		{"token_endpoint", disc.TokenEndpoint},
		{"userinfo_endpoint", disc.UserinfoEndpoint},
		{"jwks_uri", disc.JWKSURI},
	} {
		if !absoluteURL(f.value) {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		d.report(problem, "The discovery document at "+where+" lacks "+strings.Join(missing, ", ")+": it is not Logto's, which has them all.", d.endpointFix())
		return
	}
	d.disc = &disc

	if disc.Issuer != issuer {
		d.report(problem, "The provider names its issuer "+disc.Issuer+", but the app expects "+issuer+
			", so every token would be refused (iss mismatch).",
			"set LOGTO_ENDPOINT to the origin Logto uses in its issuer. Logto builds the issuer from the domain it is reached by: "+
				"with a custom domain (auth.example.com), use the custom domain in LOGTO_ENDPOINT and everywhere else; "+
				"a self-hosted Logto behind a proxy needs its ENDPOINT set to its public https URL.")
	} else {
		d.pass("The provider's discovery document at %s names the expected issuer.", where)
	}

	var outside []string
	for _, e := range []string{disc.AuthorizationEndpoint, disc.TokenEndpoint, disc.UserinfoEndpoint, disc.JWKSURI} {
		if !strings.HasPrefix(e, strings.TrimSuffix(disc.Issuer, "/")+"/") {
			outside = append(outside, e)
		}
	}
	if len(outside) > 0 {
		d.report(warning, "Some endpoints are not under the issuer, as Logto's are: "+strings.Join(outside, ", ")+".",
			"check that LOGTO_ENDPOINT is your Logto endpoint and not another provider.")
	}

	if d.tokenExchangeMethod() != "Default (POST request)" {
		d.report(warning, "The provider does not accept the client secret in the form body (client_secret_post), so the editor's Default (POST request) fails with invalid_client.",
			`choose "Basic authorization header" as the token exchange method, as printed above.`)
	}
	if len(disc.GrantTypesSupported) > 0 && !contains(disc.GrantTypesSupported, "refresh_token") {
		d.report(problem, "The provider does not offer the refresh_token grant, so ChatGPT cannot refresh tokens and people must sign in again every hour.",
			"use a provider that issues refresh tokens; Logto does.")
	}
	if len(disc.ScopesSupported) > 0 && !contains(disc.ScopesSupported, "offline_access") {
		d.report(warning, "The provider does not list the offline_access scope the GPT asks for.",
			`turn on "Always issue Refresh Token" for the GPT's application so refresh tokens come without it.`)
	}
	if contains(disc.CodeChallengeMethodsSupported, "S256") {
		d.pass("The provider supports PKCE with S256, which MCP clients require.")
	} else {
		d.report(warning, "MCP: the provider's discovery document does not list S256 in code_challenge_methods_supported, and ChatGPT and other MCP clients refuse such an authorization server. GPT actions are not affected.",
			"use Logto, which supports S256, as LOGTO_ENDPOINT.")
	}
	if d.rbac() {
		d.checkJWKS(ctx)
	}
}

// endpointFix says what LOGTO_ENDPOINT should be when discovery fails.
func (d *doctor) endpointFix() string {
	if d.cfg.DevIdP() {
		return "start the app (agenda serve) with the same settings: with no LOGTO_ENDPOINT and a loopback BASE_URL it serves the development sign-in under /oidc."
	}
	return "set LOGTO_ENDPOINT to your Logto endpoint without /oidc, e.g. https://<tenant>.logto.app or your custom domain https://auth.example.com, " +
		"not the admin console's URL nor the app's; check that it resolves and that its certificate is valid."
}

// checkJWKS checks that the keys JWTs are verified with can be read.
func (d *doctor) checkJWKS(ctx context.Context) {
	status, body, err := d.get(ctx, d.disc.JWKSURI, nil)
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	switch {
	case err != nil:
		d.report(problem, "The provider's signing keys cannot be read at "+d.disc.JWKSURI+": "+describe(err)+"; with LOGTO_API_RESOURCE set, the app verifies JWTs with them.", d.endpointFix())
	case status != http.StatusOK || json.Unmarshal(body, &set) != nil || len(set.Keys) == 0:
		d.report(problem, fmt.Sprintf("The provider's JWKS at %s has no keys (HTTP %d); with LOGTO_API_RESOURCE set, the app verifies JWTs with them.", d.disc.JWKSURI, status), d.endpointFix())
	default:
		d.pass("The provider's JWKS has %s for verifying JWTs.", plural(len(set.Keys), "signing key"))
	}
}

// checkDomains compares registrable domains: ChatGPT wants the OAuth URLs on
// the same root domain as the API.
func (d *doctor) checkDomains() {
	app := d.cfg.BaseURL.Hostname()
	appRoot, ok := rootDomain(app)
	if !ok {
		return // a loopback or IP address, reported by checkBaseURL
	}
	auth, token, _ := d.endpoints()
	var apart []string
	for _, e := range []string{auth, token} {
		u, err := url.Parse(e)
		if err != nil {
			continue
		}
		root, ok := rootDomain(u.Hostname())
		if ok && root != appRoot && !contains(apart, u.Hostname()) {
			apart = append(apart, u.Hostname())
		}
	}
	if len(apart) > 0 {
		d.report(problem, "The app is on "+appRoot+" but sign-in is on "+strings.Join(apart, ", ")+
			": ChatGPT requires the authorization and token URLs to share the API's root domain.",
			"add a Logto custom domain under "+appRoot+", such as auth."+appRoot+" (Console → Settings → Domains), and set LOGTO_ENDPOINT to it.")
		return
	}
	d.pass("The app and its sign-in share the root domain %s.", appRoot)
}

// rootDomain returns host's registrable domain (eTLD+1), or false for IP
// addresses, localhost and the like.
func rootDomain(host string) (string, bool) {
	if host == "" || host == "localhost" || net.ParseIP(host) != nil {
		return "", false
	}
	root, err := publicsuffix.EffectiveTLDPlusOne(strings.ToLower(host))
	if err != nil {
		return "", false
	}
	return root, true
}

// checkApp checks the app's public pages as ChatGPT will see them.
func (d *doctor) checkApp(ctx context.Context) {
	base := d.baseURL()
	status, _, err := d.get(ctx, base+"/healthz", nil)
	if err != nil {
		d.report(problem, "The app does not answer at "+base+": "+describe(err)+".",
			"start it, and check that BASE_URL is its public URL, that the name resolves and that its certificate is valid. "+
				"The privacy page, the schema and the MCP metadata were not checked.")
		return
	}
	if status != http.StatusOK {
		d.report(warning, fmt.Sprintf("%s/healthz answers HTTP %d, where the app answers 200.", base, status),
			"check that BASE_URL points at this app and not at another site or a proxy's error page.")
	}

	d.checkPrivacy(ctx)
	d.checkSchema(ctx)
	d.checkProtectedResource(ctx)
}

func (d *doctor) checkPrivacy(ctx context.Context) {
	where := d.baseURL() + "/privacy"
	status, _, err := d.get(ctx, where, nil)
	if err == nil && status == http.StatusOK {
		d.pass("The privacy policy is reachable at %s.", where)
		if d.cfg.PrivacyContact == "" && !d.cfg.DevIdP() {
			d.report(note, "The privacy policy gives no way to reach you to have someone's data deleted.",
				"set PRIVACY_CONTACT to an e-mail address or a URL; /privacy shows it.")
		}
		return
	}
	what := "an error: "
	if err == nil {
		what = fmt.Sprintf("HTTP %d", status)
	} else {
		what += describe(err)
	}
	d.report(problem, "The privacy policy is not reachable at "+where+" ("+what+"). An action cannot be published without one, and actions without one are reported to hang.",
		"deploy a build that serves /privacy and let any proxy in front pass it through; the editor's privacy policy field must hold this URL.")
}

// checkSchema checks the schema the editor imports: it must be reachable and
// name BASE_URL as its one server, which ChatGPT calls.
func (d *doctor) checkSchema(ctx context.Context) {
	base := d.baseURL()
	status, _, err := d.get(ctx, base+"/openapi.yaml", nil)
	if err != nil || status != http.StatusOK {
		d.report(problem, "The schema is not reachable at "+base+"/openapi.yaml, where the GPT editor imports it from.",
			"deploy the app at BASE_URL and let any proxy in front pass /openapi.yaml through.")
		return
	}
	status, body, err := d.get(ctx, base+"/openapi.json", nil)
	var spec struct {
		Servers []struct {
			URL string `json:"url"`
		} `json:"servers"`
	}
	if err != nil || status != http.StatusOK || json.Unmarshal(body, &spec) != nil {
		d.report(warning, "The schema's JSON form at "+base+"/openapi.json cannot be read, so its server URL was not checked.", "")
		return
	}
	switch {
	case len(spec.Servers) != 1:
		d.report(problem, fmt.Sprintf("The schema lists %d servers; ChatGPT wants exactly one, the app's public URL.", len(spec.Servers)),
			"set BASE_URL to the public URL; the app writes it into the schema as its one server.")
	case strings.TrimSuffix(spec.Servers[0].URL, "/") != base:
		d.report(problem, "The schema names its server "+spec.Servers[0].URL+", but BASE_URL is "+base+": ChatGPT calls the schema's server and refuses one outside the origin it imported from.",
			"set BASE_URL to the URL people and ChatGPT reach the app by, and restart it.")
	default:
		d.pass("The schema at %s/openapi.yaml names %s as its server.", base, base)
	}
}

// checkProtectedResource checks the MCP endpoint's OAuth metadata (RFC 9728)
// when the app serves it.
func (d *doctor) checkProtectedResource(ctx context.Context) {
	base := d.baseURL()
	where := base + "/.well-known/oauth-protected-resource"
	status, body, err := d.get(ctx, where, nil)
	if err != nil || status == http.StatusNotFound {
		d.report(warning, "MCP: "+where+" is not served, so MCP clients cannot find how to sign in. GPT actions are not affected.",
			"run a build with the MCP endpoint; nothing to do if you use only the GPT action.")
		return
	}
	var meta struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &meta) != nil {
		d.report(warning, fmt.Sprintf("MCP: %s answers HTTP %d without readable metadata.", where, status),
			"check that a proxy in front of the app passes /.well-known/ through.")
		return
	}
	ok := true
	if meta.Resource != d.cfg.MCPResource {
		ok = false
		d.report(warning, "MCP: the protected resource metadata names the resource "+quote(meta.Resource)+", but MCP_RESOURCE is "+quote(d.cfg.MCPResource)+
			"; clients compare them as exact strings (a trailing slash counts) and loop on sign-in.",
			"use one identifier, such as "+base+"/mcp, in MCP_RESOURCE and as the Logto API resource's identifier.")
	}
	if !contains(trimAll(meta.AuthorizationServers), d.cfg.Issuer()) {
		ok = false
		d.report(warning, "MCP: the protected resource metadata lists the authorization servers "+quote(strings.Join(meta.AuthorizationServers, ", "))+
			", not the issuer "+d.cfg.Issuer()+".", "check LOGTO_ENDPOINT; the app lists the issuer it trusts.")
	}
	// RFC 9728 inserts the resource's path after the well-known name; some
	// clients look only there.
	if u, err := url.Parse(d.cfg.MCPResource); err == nil && strings.Trim(u.Path, "/") != "" {
		inserted := where + "/" + strings.Trim(u.Path, "/")
		if status, _, err := d.get(ctx, inserted, nil); err != nil || status != http.StatusOK {
			ok = false
			d.report(warning, "MCP: "+inserted+" is not served; some MCP clients look for the metadata only there.",
				"serve the same metadata at both paths.")
		}
	}
	if ok {
		d.pass("MCP: the protected resource metadata names %s and the issuer.", meta.Resource)
	}
}

// checkWeb checks the browser sign-in's settings. The GPT works without the
// web UI, so nothing here is a problem.
func (d *doctor) checkWeb() {
	if d.cfg.DevIdP() {
		d.pass("The web UI signs in with the built-in development provider.")
		return
	}
	var missing []string
	for _, s := range []struct{ name, value string }{
		{"LOGTO_APP_ID", d.cfg.WebAppID},
		{"LOGTO_APP_SECRET", d.cfg.WebAppSecret},
		{"SESSION_SECRET", d.cfg.SessionSecret},
	} {
		if s.value == "" {
			missing = append(missing, s.name)
		}
	}
	switch {
	case len(missing) == 3:
		d.report(warning, "The web UI is off: LOGTO_APP_ID, LOGTO_APP_SECRET and SESSION_SECRET are not set. The GPT works without it, but nobody can watch the agenda change live.",
			"create the web UI's Logto application (the last console step above), put its App ID and App secret in LOGTO_APP_ID and LOGTO_APP_SECRET, "+
				"and set SESSION_SECRET to a random string of at least 32 characters (openssl rand -base64 32).")
	case len(missing) > 0:
		fix := "set " + strings.Join(missing, " and ") + "."
		if contains(missing, "SESSION_SECRET") {
			fix += " For SESSION_SECRET, a random string of at least 32 characters: openssl rand -base64 32."
		}
		d.report(warning, "The web UI is off because "+strings.Join(missing, " and ")+" is not set; it needs LOGTO_APP_ID, LOGTO_APP_SECRET and SESSION_SECRET together.", fix)
	default:
		d.pass("The web UI's settings are all there.")
	}
	if n := len(d.cfg.SessionSecret); n > 0 && n < minSessionSecret {
		d.report(warning, fmt.Sprintf("SESSION_SECRET is %d characters long; session cookies need at least %d random ones to stay unguessable.", n, minSessionSecret),
			"set SESSION_SECRET to the output of openssl rand -base64 32.")
	}
}

// checkTokenBinding says which applications' tokens the API accepts. Logto
// issues opaque tokens to every application of the tenant, and its userinfo
// answer does not name the application, so only JWTs can be bound to the
// GPT's (LOGTO_ALLOWED_CLIENTS).
func (d *doctor) checkTokenBinding() {
	gpt := "the GPT's App ID"
	if d.gptAppID != "" {
		gpt = d.gptAppID
	}
	switch {
	case d.cfg.DevIdP():
	case !d.rbac():
		d.report(warning, "Access tokens are opaque, and Logto does not say which application an opaque token was issued to: a token any application of your tenant obtains for a user (scope openid) reads and writes that user's agenda.",
			"use JWTs: follow the API resource steps of docs/setup.md, set LOGTO_API_RESOURCE to its indicator, and set LOGTO_ALLOWED_CLIENTS to "+gpt+".")
	case len(d.cfg.AllowedClients) == 0:
		d.report(note, "Any application of your tenant that obtains a JWT for "+d.cfg.LogtoAPIResource+" may call the API, not only the GPT's.",
			"set LOGTO_ALLOWED_CLIENTS to "+gpt+" to accept the GPT's tokens only.")
	default:
		d.pass("The API accepts tokens of %s only.", strings.Join(d.cfg.AllowedClients, ", "))
	}
}

// notChecked says what only the Management API would show.
func (d *doctor) notChecked() {
	if d.cfg.M2MAppID != "" || d.cfg.M2MAppSecret != "" {
		d.report(warning, "Only one of LOGTO_M2M_APP_ID and LOGTO_M2M_APP_SECRET is set, so Logto's own configuration was not checked.",
			"set both, from a Machine-to-machine application with a role granting the Logto Management API's all permission.")
		return
	}
	if d.cfg.DevIdP() {
		return
	}
	if d.rbac() {
		d.report(warning, "LOGTO_API_RESOURCE is "+d.cfg.LogtoAPIResource+", but discovery says nothing of API resources: "+
			"setup checked the signing keys, not whether that API exists in Logto, is the Default API, has the read and write permissions, or has them granted through a role.",
			"check those in the console, or set LOGTO_M2M_APP_ID and LOGTO_M2M_APP_SECRET so setup checks them.")
	}
	d.report(note, "The GPT's Logto application (type, callback URL, refresh tokens) was not checked.",
		"set LOGTO_M2M_APP_ID and LOGTO_M2M_APP_SECRET, from a Machine-to-machine application with a role granting the Logto Management API's all permission, "+
			"and LOGTO_GPT_APP_ID to the GPT application's App ID, so setup checks it.")
}

// get fetches url with a timeout and returns at most 1 MiB of its body.
func (d *doctor) get(ctx context.Context, url string, header http.Header) (status int, body []byte, err error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, body, err
}

// describe turns a transport error into words a person can act on.
func describe(err error) string {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var opErr *net.OpError
	switch {
	case errors.As(err, &dnsErr):
		return "the name " + dnsErr.Name + " does not resolve"
	case errors.As(err, &certErr):
		return "its certificate is not valid (" + certErr.Err.Error() + ")"
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer within " + callTimeout.String()
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return "nothing accepts connections there (" + opErr.Err.Error() + ")"
	}
	return err.Error()
}

func absoluteURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

func trimAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = strings.TrimSuffix(s, "/")
	}
	return out
}

func quote(s string) string { return fmt.Sprintf("%q", s) }
