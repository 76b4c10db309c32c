// Package config reads the app's settings from the environment, once, for
// the server and for `agenda setup` alike. A malformed setting is an error
// that names the variable and says how to fix it.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config is every setting the app reads. The README lists them with the same
// names and defaults.
type Config struct {
	BaseURL  *url.URL // BASE_URL: the public URL of the app
	Port     int      // PORT
	Database string   // DATABASE_URL: a file path or sqlite: URL (SQLite), or a postgres:// URL

	LogtoEndpoint    *url.URL // LOGTO_ENDPOINT; nil selects the built-in development provider
	LogtoAPIResource string   // LOGTO_API_RESOURCE: the API resource indicator JWTs are issued for
	AllowedClients   []string // LOGTO_ALLOWED_CLIENTS: the applications whose JWTs the API accepts
	MCPResource      string   // MCP_RESOURCE: the MCP endpoint's resource identifier

	WebAppID      string // LOGTO_APP_ID: the browser's Logto application
	WebAppSecret  string // LOGTO_APP_SECRET
	SessionSecret string // SESSION_SECRET

	M2MAppID     string // LOGTO_M2M_APP_ID: Management API access for `agenda setup`
	M2MAppSecret string // LOGTO_M2M_APP_SECRET

	AllowedOrigins []string // ALLOWED_ORIGINS: more browser origins allowed on /ws and the API
	PrivacyContact string   // PRIVACY_CONTACT: an e-mail address or URL shown on /privacy

	TokenCacheTTL  time.Duration // TOKEN_CACHE_TTL
	TokenCacheSize int           // TOKEN_CACHE_SIZE
	IdPTimeout     time.Duration // IDP_TIMEOUT: every call to the identity provider
	RequestTimeout time.Duration // REQUEST_TIMEOUT: every request, well inside ChatGPT's 45 s
	RateLimit      float64       // RATE_LIMIT: requests per second per user
	RateBurst      int           // RATE_BURST
	// AUTH_FAILURE_RATE and AUTH_FAILURE_BURST: refused opaque tokens per
	// second per client address that are passed on to the provider.
	AuthFailureRate  float64
	AuthFailureBurst int
	TrustedProxies   []*net.IPNet // TRUSTED_PROXIES: whose X-Forwarded-For names the client
	WSMaxPerUser     int          // WS_MAX_CONNECTIONS_PER_USER: one user's live WebSockets
	DBMaxConns       int          // DB_MAX_CONNS: the read pool (and PostgreSQL pool) size

	LogLevel  string // LOG_LEVEL: debug, info, warn, error
	LogFormat string // LOG_FORMAT: text or json
}

// Defaults, as documented in the README.
const (
	DefaultBaseURL  = "http://localhost:8080"
	DefaultPort     = 8080
	DefaultDatabase = "./data/agenda.db"
)

// Load reads the settings through getenv (os.Getenv in production, a map in
// tests). It reports every malformed setting at once.
func Load(getenv func(string) string) (Config, error) {
	r := reader{getenv: getenv}
	c := Config{
		BaseURL:          r.url("BASE_URL", DefaultBaseURL, true),
		Port:             r.int("PORT", DefaultPort, 1, 65535),
		Database:         r.str("DATABASE_URL", DefaultDatabase),
		LogtoEndpoint:    r.url("LOGTO_ENDPOINT", "", false),
		LogtoAPIResource: r.str("LOGTO_API_RESOURCE", ""),
		AllowedClients:   r.list("LOGTO_ALLOWED_CLIENTS"),
		WebAppID:         r.str("LOGTO_APP_ID", ""),
		WebAppSecret:     r.str("LOGTO_APP_SECRET", ""),
		SessionSecret:    r.str("SESSION_SECRET", ""),
		M2MAppID:         r.str("LOGTO_M2M_APP_ID", ""),
		M2MAppSecret:     r.str("LOGTO_M2M_APP_SECRET", ""),
		AllowedOrigins:   r.origins("ALLOWED_ORIGINS"),
		PrivacyContact:   r.str("PRIVACY_CONTACT", ""),
		TokenCacheTTL:    r.duration("TOKEN_CACHE_TTL", 60*time.Second),
		TokenCacheSize:   r.int("TOKEN_CACHE_SIZE", 10000, 1, 10_000_000),
		IdPTimeout:       r.duration("IDP_TIMEOUT", 3*time.Second),
		RequestTimeout:   r.duration("REQUEST_TIMEOUT", 30*time.Second),
		RateLimit:        r.float("RATE_LIMIT", 20),
		RateBurst:        r.int("RATE_BURST", 40, 1, 1_000_000),
		AuthFailureRate:  r.float("AUTH_FAILURE_RATE", 1),
		AuthFailureBurst: r.int("AUTH_FAILURE_BURST", 100, 1, 1_000_000),
		TrustedProxies:   r.networks("TRUSTED_PROXIES"),
		WSMaxPerUser:     r.int("WS_MAX_CONNECTIONS_PER_USER", 20, 1, 10_000),
		DBMaxConns:       r.int("DB_MAX_CONNS", 8, 1, 1000),
		LogLevel:         r.oneOf("LOG_LEVEL", "info", "debug", "info", "warn", "error"),
		LogFormat:        r.oneOf("LOG_FORMAT", "text", "text", "json"),
	}
	if c.BaseURL != nil {
		c.MCPResource = r.str("MCP_RESOURCE", c.BaseURL.String()+"/mcp")
	}
	if c.LogtoEndpoint != nil && strings.HasSuffix(c.LogtoEndpoint.Path, "/oidc") {
		r.fail("LOGTO_ENDPOINT", "is %s; give the endpoint without /oidc, like https://tenant.logto.app (the app adds /oidc)", c.LogtoEndpoint)
	}
	if len(c.AllowedClients) > 0 && c.LogtoAPIResource == "" {
		r.fail("LOGTO_ALLOWED_CLIENTS", "needs LOGTO_API_RESOURCE: only JWTs say which application they were issued to, and without an API resource every token would be refused")
	}
	if c.IdPTimeout >= c.RequestTimeout {
		r.fail("IDP_TIMEOUT", "must be shorter than REQUEST_TIMEOUT (%s), so a slow identity provider still gets a clear 503", c.RequestTimeout)
	}
	if c.LogtoEndpoint == nil && c.BaseURL != nil && !c.DevIdP() && !IsLoopback(c.BaseURL) {
		r.fail("LOGTO_ENDPOINT", "is required when BASE_URL (%s) is not a loopback URL; set it to your Logto endpoint, e.g. https://auth.example.com", c.BaseURL)
	}
	return c, errors.Join(r.errs...)
}

// DevIdP reports whether the built-in development identity provider runs:
// only with no LOGTO_ENDPOINT and a loopback BASE_URL, so a deployment can
// never fall into it.
func (c Config) DevIdP() bool {
	return c.LogtoEndpoint == nil && c.BaseURL != nil && IsLoopback(c.BaseURL)
}

// Issuer is the OIDC issuer: Logto serves OIDC under /oidc, and so does the
// development provider, so the app discovers both the same way.
func (c Config) Issuer() string {
	if c.LogtoEndpoint != nil {
		return strings.TrimSuffix(c.LogtoEndpoint.String(), "/") + "/oidc"
	}
	return c.BaseURL.String() + "/oidc"
}

// Origins are the browser origins allowed on /ws and for cookie-authenticated
// API calls: the app's own plus ALLOWED_ORIGINS.
func (c Config) Origins() []string {
	return append([]string{Origin(c.BaseURL)}, c.AllowedOrigins...)
}

// Origin returns scheme://host[:port] of u.
func Origin(u *url.URL) string { return u.Scheme + "://" + u.Host }

// IsLoopback reports whether u's host is localhost or a loopback address.
func IsLoopback(u *url.URL) bool {
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

type reader struct {
	getenv func(string) string
	errs   []error
}

func (r *reader) fail(name, format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf("%s %s", name, fmt.Sprintf(format, args...)))
}

func (r *reader) str(name, def string) string {
	if v := strings.TrimSpace(r.getenv(name)); v != "" {
		return v
	}
	return def
}

func (r *reader) url(name, def string, required bool) *url.URL {
	v := r.str(name, def)
	if v == "" && !required {
		return nil
	}
	u, err := url.Parse(strings.TrimSuffix(v, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		r.fail(name, "is %q; set it to an absolute http(s) URL with no query, like https://agenda.example.com", v)
		return nil
	}
	return u
}

func (r *reader) int(name string, def, min, max int) int {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		r.fail(name, "is %q; set it to a whole number from %d to %d", v, min, max)
		return def
	}
	return n
}

func (r *reader) float(name string, def float64) float64 {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 {
		r.fail(name, "is %q; set it to a positive number, like 20", v)
		return def
	}
	return f
}

func (r *reader) duration(name string, def time.Duration) time.Duration {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.fail(name, "is %q; set it to a positive duration, like 3s or 500ms", v)
		return def
	}
	return d
}

func (r *reader) oneOf(name, def string, allowed ...string) string {
	v := strings.ToLower(r.str(name, def))
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	r.fail(name, "is %q; set it to one of %s", v, strings.Join(allowed, ", "))
	return def
}

// list reads a comma-separated list, without empty items.
func (r *reader) list(name string) []string {
	var out []string
	for _, v := range strings.Split(r.str(name, ""), ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// networks reads a comma-separated list of CIDR ranges or single addresses.
func (r *reader) networks(name string) []*net.IPNet {
	var out []*net.IPNet
	for _, v := range strings.Split(r.str(name, ""), ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		if !strings.Contains(v, "/") {
			if ip := net.ParseIP(v); ip != nil {
				bits := 8 * len(ip.To16())
				if ip.To4() != nil {
					ip, bits = ip.To4(), 32
				}
				out = append(out, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
				continue
			}
		}
		_, n, err := net.ParseCIDR(v)
		if err != nil {
			r.fail(name, "has %q; list the proxies' addresses or ranges, like 10.0.0.0/8,192.0.2.7", v)
			continue
		}
		out = append(out, n)
	}
	return out
}

func (r *reader) origins(name string) []string {
	var out []string
	for _, o := range strings.Split(r.str(name, ""), ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			r.fail(name, "has %q; list origins like https://app.example.com, separated by commas", o)
			continue
		}
		out = append(out, Origin(u))
	}
	return out
}
