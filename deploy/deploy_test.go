package deploy

import (
	"cmp"
	"go/build"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/agenda-gpt/agenda/config"
)

// This machine has no Docker engine, so these tests read the Dockerfile and
// docker-compose.yml and hold them to the code: every setting the app reads,
// its default port, /healthz, /readyz, and the package the README runs.

// compose is the part of docker-compose.yml the tests read.
type compose struct {
	Services map[string]service `yaml:"services"`
	Volumes  map[string]any     `yaml:"volumes"`
	Configs  map[string]struct {
		Content string `yaml:"content"`
		File    string `yaml:"file"`
	} `yaml:"configs"`
}

type service struct {
	Build       any               `yaml:"build"`
	Image       string            `yaml:"image"`
	Profiles    []string          `yaml:"profiles"`
	Entrypoint  []string          `yaml:"entrypoint"`
	Command     []string          `yaml:"command"`
	Ports       []string          `yaml:"ports"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Configs     []struct {
		Source string `yaml:"source"`
		Target string `yaml:"target"`
	} `yaml:"configs"`
	DependsOn map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	Networks map[string]struct {
		Aliases []string `yaml:"aliases"`
	} `yaml:"networks"`
}

func readCompose(t *testing.T) compose {
	t.Helper()
	b, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	for _, name := range []string{"app", "logto", "postgres"} {
		if _, ok := c.Services[name]; !ok {
			t.Fatalf("docker-compose.yml has no %s service", name)
		}
	}
	return c
}

// interpolate resolves ${VAR:-default} and ${VAR-default} as compose does
// when VAR is unset.
func interpolate(s string) string {
	return regexp.MustCompile(`\$\{[A-Z_]+:?-([^}]*)\}`).ReplaceAllString(s, "$1")
}

// settingNames returns every environment variable the app reads: the names
// config.Load reads, and those any other package reads through getenv.
func settingNames(t *testing.T) []string {
	t.Helper()
	configRead := regexp.MustCompile(`\br\.[a-z]+\("([A-Z][A-Z0-9_]*)"`) // config's reader
	getenvRead := regexp.MustCompile(`\b[gG]etenv\("([A-Z][A-Z0-9_]*)"\)`)
	var names []string
	err := filepath.WalkDir("..", func(path string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// Not the app: the load benchmark and test helpers read their own.
		if e.IsDir() && (e.Name() == ".git" || e.Name() == "testdata" || e.Name() == "bench" || e.Name() == "storetest" || e.Name() == "testenv") {
			return filepath.SkipDir
		}
		if e.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		patterns := []*regexp.Regexp{getenvRead}
		if filepath.Base(filepath.Dir(path)) == "config" {
			patterns = append(patterns, configRead)
		}
		for _, p := range patterns {
			for _, m := range p.FindAllStringSubmatch(string(src), -1) {
				if !slices.Contains(names, m[1]) {
					names = append(names, m[1])
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, must := range []string{"BASE_URL", "PORT", "DATABASE_URL", "LOGTO_ENDPOINT", "SESSION_SECRET", "LOGTO_GPT_APP_ID"} {
		if !slices.Contains(names, must) {
			t.Fatalf("found the settings %v, without %s: the pattern no longer matches how config reads them", names, must)
		}
	}
	return names
}

func TestComposeSetsEverySetting(t *testing.T) {
	c := readCompose(t)
	names := settingNames(t)
	for _, svc := range append([]string{"app"}, replicaNames(t, c)...) {
		for _, name := range names {
			if _, ok := c.Services[svc].Environment[name]; !ok {
				t.Errorf("docker-compose.yml: %s.environment lacks %s; list it (empty means the default)", svc, name)
			}
		}
	}
}

func TestComposeRunsTheAppAsConfigured(t *testing.T) {
	c := readCompose(t)
	app := c.Services["app"]
	env := func(name string) string { return interpolate(app.Environment[name]) }

	if app.Build == nil {
		t.Error("the app service is not built from this repository")
	}
	cfg, err := config.Load(env)
	if err != nil {
		t.Fatalf("the app's environment does not load: %v", err)
	}
	if cfg.Port != config.DefaultPort {
		t.Errorf("PORT is %d, want the app's default %d", cfg.Port, config.DefaultPort)
	}
	if want := strconv.Itoa(cfg.Port) + ":" + strconv.Itoa(cfg.Port); !slices.Contains(app.Ports, want) {
		t.Errorf("the app publishes %v, want %s", app.Ports, want)
	}
	if cfg.BaseURL.Port() != strconv.Itoa(cfg.Port) {
		t.Errorf("BASE_URL %s is not on the published port %d", cfg.BaseURL, cfg.Port)
	}

	// The database lives on a named volume.
	dbDir := filepath.Dir(cfg.Database)
	onVolume := false
	for _, v := range app.Volumes {
		name, target, _ := strings.Cut(v, ":")
		if target == dbDir {
			onVolume = true
			if _, ok := c.Volumes[name]; !ok {
				t.Errorf("the volume %s mounted at %s is not declared", name, dbDir)
			}
		}
	}
	if !onVolume {
		t.Errorf("DATABASE_URL %s is not on a volume (volumes: %v)", cfg.Database, app.Volumes)
	}

	if !slices.Contains(app.Healthcheck.Test, "healthcheck") {
		t.Errorf("the app's health check %v does not run `agenda healthcheck` (which asks /healthz)", app.Healthcheck.Test)
	}
	if app.DependsOn["logto"].Condition != "service_healthy" {
		t.Error("the app does not wait for Logto to be healthy")
	}

	// The app reaches Logto by the URL browsers use, which is Logto's own
	// ENDPOINT, so the issuer matches.
	logto := c.Services["logto"]
	if !strings.HasPrefix(logto.Image, "svhd/logto") {
		t.Errorf("Logto's image is %q, want the official svhd/logto", logto.Image)
	}
	if cfg.LogtoEndpoint == nil {
		t.Fatal("LOGTO_ENDPOINT is not set: the app would run its development provider")
	}
	if got := interpolate(logto.Environment["ENDPOINT"]); got != cfg.LogtoEndpoint.String() {
		t.Errorf("Logto's ENDPOINT is %s, the app's LOGTO_ENDPOINT %s: the issuers would differ", got, cfg.LogtoEndpoint)
	}
	if !slices.Contains(logto.Networks["default"].Aliases, cfg.LogtoEndpoint.Hostname()) {
		t.Errorf("Logto is not reachable as %s inside the network", cfg.LogtoEndpoint.Hostname())
	}
	if !strings.HasSuffix(cfg.LogtoEndpoint.Hostname(), ".localhost") {
		t.Errorf("browsers cannot reach %s on this machine without a hosts entry", cfg.LogtoEndpoint.Hostname())
	}
	for _, want := range []string{cfg.LogtoEndpoint.Port() + ":3001", "3002:3002"} {
		if !slices.Contains(logto.Ports, want) {
			t.Errorf("Logto publishes %v, want %s", logto.Ports, want)
		}
	}
	admin, err := url.Parse(interpolate(logto.Environment["ADMIN_ENDPOINT"]))
	if err != nil || admin.Port() != "3002" {
		t.Errorf("Logto's ADMIN_ENDPOINT is %q, want the console on port 3002", logto.Environment["ADMIN_ENDPOINT"])
	}
	if len(logto.Healthcheck.Test) == 0 {
		t.Error("Logto has no health check, so the app cannot wait for it")
	}

	// Logto's database.
	db, err := url.Parse(interpolate(logto.Environment["DB_URL"]))
	if err != nil || db.Hostname() != "postgres" {
		t.Errorf("Logto's DB_URL %q does not point at the postgres service", logto.Environment["DB_URL"])
	}
	if logto.DependsOn["postgres"].Condition != "service_healthy" {
		t.Error("Logto does not wait for its database to be healthy")
	}
	pg := c.Services["postgres"]
	if !strings.HasPrefix(pg.Image, "postgres:17") {
		t.Errorf("the database image is %q, want postgres:17", pg.Image)
	}
	if password, _ := db.User.Password(); password != interpolate(pg.Environment["POSTGRES_PASSWORD"]) {
		t.Error("Logto's DB_URL password differs from POSTGRES_PASSWORD")
	}
	if !slices.ContainsFunc(pg.Volumes, func(v string) bool { return strings.HasSuffix(v, ":/var/lib/postgresql/data") }) {
		t.Error("Logto's database is not on a volume")
	}
	if len(pg.Healthcheck.Test) == 0 {
		t.Error("the database has no health check")
	}
}

// replicasProfile is the compose profile that runs the app as replicas on
// PostgreSQL behind a reverse proxy.
const replicasProfile = "replicas"

// replicaNames returns the services of the replicas profile that serve the
// app's image, sorted.
func replicaNames(t *testing.T, c compose) []string {
	t.Helper()
	var names []string
	for name, s := range c.Services {
		serves := len(s.Command) == 0 || s.Command[0] == "serve"
		if name != "app" && s.Image == c.Services["app"].Image && slices.Contains(s.Profiles, replicasProfile) && serves {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	if len(names) < 2 {
		t.Fatalf("docker-compose.yml: the %q profile runs %d replicas of the app %v, want at least 2", replicasProfile, len(names), names)
	}
	return names
}

// The replicas profile: the app's own PostgreSQL, replicas of the app that
// share every setting but the database with the single app, a proxy that
// balances over them by /readyz, and a one-shot copy of the SQLite data.
func TestComposeReplicasProfile(t *testing.T) {
	c := readCompose(t)
	app := c.Services["app"]

	// A plain `docker compose up` starts what it always did.
	var always []string
	for name, s := range c.Services {
		if len(s.Profiles) == 0 {
			always = append(always, name)
		}
	}
	slices.Sort(always)
	if want := []string{"app", "logto", "postgres"}; !slices.Equal(always, want) {
		t.Errorf("services outside any profile: %v, want %v; give new services a profile so the default stack stays as it was", always, want)
	}

	replicas := replicaNames(t, c)
	first := c.Services[replicas[0]]
	sharedWithApp := []string{"BASE_URL", "SESSION_SECRET", "MCP_RESOURCE", "ALLOWED_ORIGINS"}
	for _, name := range settingNames(t) {
		if strings.HasPrefix(name, "LOGTO_") {
			sharedWithApp = append(sharedWithApp, name)
		}
	}
	var cfg config.Config
	for _, name := range replicas {
		r := c.Services[name]
		// Round robin sends any request to any replica: they must be alike.
		for _, k := range slices.Sorted(maps.Keys(first.Environment)) {
			if v := first.Environment[k]; r.Environment[k] != v {
				t.Errorf("%s sets %s to %q, %s to %q; replicas behind one proxy need the same settings", replicas[0], k, v, name, r.Environment[k])
			}
		}
		// They replace the single app at its URL, with its Logto applications.
		for _, k := range sharedWithApp {
			if r.Environment[k] != app.Environment[k] {
				t.Errorf("%s sets %s to %q, the app to %q; the replicas take over the app's URL and Logto applications, so they need its value", name, k, r.Environment[k], app.Environment[k])
			}
		}
		if v := r.Environment["SESSION_SECRET"]; !strings.Contains(v, "${SESSION_SECRET") {
			t.Errorf("%s sets SESSION_SECRET to %q; read it from the SESSION_SECRET variable, the same on every replica", name, v)
		}

		var err error
		if cfg, err = config.Load(func(k string) string { return interpolate(r.Environment[k]) }); err != nil {
			t.Fatalf("%s: its environment does not load: %v", name, err)
		}
		if cfg.DevIdP() {
			t.Errorf("%s would run the development identity provider, which keeps its sign-ins in one process's memory; replicas need LOGTO_ENDPOINT", name)
		}
		if len(r.Ports) > 0 {
			t.Errorf("%s publishes %v; only the proxy should be reachable from outside", name, r.Ports)
		}
		if !slices.Contains(r.Healthcheck.Test, "healthcheck") {
			t.Errorf("%s's health check %v does not run `agenda healthcheck`", name, r.Healthcheck.Test)
		}
		if r.DependsOn["logto"].Condition != "service_healthy" {
			t.Errorf("%s does not wait for Logto to be healthy", name)
		}
	}

	// The database: PostgreSQL of its own, in the profile, healthy before
	// the replicas start.
	dbURL, err := url.Parse(cfg.Database)
	if err != nil || (dbURL.Scheme != "postgres" && dbURL.Scheme != "postgresql") {
		t.Fatalf("the replicas' DATABASE_URL %q is not a postgres:// URL", cfg.Database)
	}
	dbName := dbURL.Hostname()
	db, ok := c.Services[dbName]
	switch {
	case !ok:
		t.Fatalf("the replicas' DATABASE_URL names the host %s, which is no service", dbName)
	case dbName == "postgres":
		t.Fatal("the replicas use Logto's database service; give the app a PostgreSQL of its own")
	}
	if !slices.Contains(db.Profiles, replicasProfile) {
		t.Errorf("the database %s is not in the %q profile", dbName, replicasProfile)
	}
	if !strings.HasPrefix(db.Image, "postgres:17") {
		t.Errorf("the app's database image is %q, want postgres:17", db.Image)
	}
	user := db.Environment["POSTGRES_USER"]
	password, _ := dbURL.User.Password()
	dbname := cmp.Or(db.Environment["POSTGRES_DB"], user)
	if dbURL.User.Username() != user || password != db.Environment["POSTGRES_PASSWORD"] || strings.TrimPrefix(dbURL.Path, "/") != dbname {
		t.Errorf("DATABASE_URL %s does not match %s's POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB", dbURL.Redacted(), dbName)
	}
	var dbVolume string
	for _, v := range db.Volumes {
		if name, target, _ := strings.Cut(v, ":"); target == "/var/lib/postgresql/data" {
			dbVolume = name
		}
	}
	if _, declared := c.Volumes[dbVolume]; !declared {
		t.Errorf("%s's data is not on a declared volume (volumes: %v)", dbName, db.Volumes)
	}
	if slices.Contains(c.Services["postgres"].Volumes, dbVolume+":/var/lib/postgresql/data") {
		t.Errorf("%s shares the volume %s with Logto's database", dbName, dbVolume)
	}
	if !slices.ContainsFunc(db.Healthcheck.Test, func(s string) bool { return strings.Contains(s, "pg_isready") }) {
		t.Errorf("%s's health check %v does not run pg_isready", dbName, db.Healthcheck.Test)
	}
	for _, name := range replicas {
		if c.Services[name].DependsOn[dbName].Condition != "service_healthy" {
			t.Errorf("%s does not wait for %s to be healthy", name, dbName)
		}
	}

	t.Run("proxy", func(t *testing.T) { checkProxy(t, c, replicas, cfg) })
	t.Run("migrate", func(t *testing.T) { checkMigrate(t, c, dbName, cfg.Database) })
}

// checkProxy holds the profile's Caddy to the replicas: it publishes their
// BASE_URL's port, balances over every replica without stickiness, and
// checks them by /readyz.
func checkProxy(t *testing.T, c compose, replicas []string, cfg config.Config) {
	var proxies []string
	for name, s := range c.Services {
		if slices.Contains(s.Profiles, replicasProfile) && strings.HasPrefix(s.Image, "caddy:") {
			proxies = append(proxies, name)
		}
	}
	if len(proxies) != 1 {
		t.Fatalf("the %q profile has the Caddy services %v, want one", replicasProfile, proxies)
	}
	proxy := c.Services[proxies[0]]

	var caddyfile string
	for _, m := range proxy.Configs {
		if m.Target != "/etc/caddy/Caddyfile" {
			continue
		}
		src, ok := c.Configs[m.Source]
		switch {
		case !ok:
			t.Fatalf("the proxy mounts the config %s, which is not declared", m.Source)
		case src.File != "":
			b, err := os.ReadFile(filepath.Join("..", src.File))
			if err != nil {
				t.Fatal(err)
			}
			caddyfile = string(b)
		default:
			caddyfile = src.Content
		}
	}
	if caddyfile == "" {
		t.Fatal("the proxy mounts no Caddyfile at /etc/caddy/Caddyfile")
	}
	lines := caddyLines(caddyfile)
	if len(lines) > 0 && slices.Equal(lines[0], []string{"{"}) {
		// Global options come first; the site follows them.
		end := slices.IndexFunc(lines, func(l []string) bool { return slices.Equal(l, []string{"}"}) })
		lines = lines[end+1:]
	}
	if len(lines) == 0 {
		t.Fatal("the Caddyfile has no site")
	}

	// Published on BASE_URL's port, where browsers and the GPT find it.
	site := lines[0][0]
	listen := site[strings.LastIndex(site, ":")+1:]
	if want := cfg.BaseURL.Port() + ":" + listen; !slices.Equal(proxy.Ports, []string{want}) {
		t.Errorf("the proxy publishes %v, want %s: BASE_URL's port onto the Caddyfile's %s", proxy.Ports, want, site)
	}
	if slices.Contains(c.Services["app"].Ports, cfg.BaseURL.Port()+":"+strconv.Itoa(cfg.Port)) {
		// Both want the port: the profile runs with the single app at zero.
		b, err := os.ReadFile("../docker-compose.yml")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "--profile replicas up -d --scale app=0") {
			t.Error("the proxy and the app publish the same port, and docker-compose.yml no longer says to start the profile with --scale app=0")
		}
	}

	var upstreams []string
	directive := func(name string) []string {
		for _, l := range lines {
			if l[0] == name {
				return l[1:]
			}
		}
		return nil
	}
	for _, l := range lines {
		if l[0] == "reverse_proxy" || l[0] == "to" {
			for _, f := range l[1:] {
				if f != "{" {
					upstreams = append(upstreams, f)
				}
			}
		}
	}
	slices.Sort(upstreams)
	var want []string
	for _, name := range replicas {
		want = append(want, name+":"+strconv.Itoa(cfg.Port))
	}
	if !slices.Equal(upstreams, want) {
		t.Errorf("the proxy balances over %v, want every replica: %v", upstreams, want)
	}
	if h := directive("health_uri"); !slices.Equal(h, []string{"/readyz"}) {
		t.Errorf("the proxy's health_uri is %v, want /readyz (the replica can reach the database)", h)
	}
	if lb := directive("lb_policy"); len(lb) > 0 && slices.Contains([]string{"cookie", "ip_hash", "client_ip_hash", "header", "query", "uri_hash"}, lb[0]) {
		t.Errorf("the proxy's lb_policy is %s, which pins clients to one replica; any replica serves any request, so balance without stickiness", lb[0])
	}
	for _, name := range replicas {
		if _, ok := proxy.DependsOn[name]; !ok {
			t.Errorf("the proxy does not wait for %s", name)
		}
	}
}

// checkMigrate holds the one-shot copy to the single app's SQLite file and
// the replicas' database, in a profile of its own.
func checkMigrate(t *testing.T, c compose, dbName, databaseURL string) {
	app := c.Services["app"]
	var found bool
	for name, m := range c.Services {
		if m.Image != app.Image || len(m.Command) == 0 || m.Command[0] != "migrate" {
			continue
		}
		found = true
		if len(m.Profiles) == 0 || slices.Contains(m.Profiles, replicasProfile) {
			t.Errorf("%s has the profiles %v; give it one of its own, or `up` would copy again each time and bring back events deleted since", name, m.Profiles)
		}
		var from string
		if i := slices.Index(m.Command, "-from"); i >= 0 && i+1 < len(m.Command) {
			from = m.Command[i+1]
		}
		if want := interpolate(app.Environment["DATABASE_URL"]); from != want {
			t.Errorf("%s runs %v, want -from %s, the app's database", name, m.Command, want)
		}
		appVolume := func(s service) string {
			for _, v := range s.Volumes {
				if name, target, _ := strings.Cut(v, ":"); target == filepath.Dir(from) {
					return name
				}
			}
			return ""
		}
		if v := appVolume(m); v == "" || v != appVolume(app) {
			t.Errorf("%s does not mount the app's volume at %s (volumes: %v)", name, filepath.Dir(from), m.Volumes)
		}
		if got := interpolate(m.Environment["DATABASE_URL"]); got != databaseURL {
			t.Errorf("%s copies into %q, the replicas use %q", name, got, databaseURL)
		}
		if m.DependsOn[dbName].Condition != "service_healthy" {
			t.Errorf("%s does not wait for %s to be healthy", name, dbName)
		}
		// `docker compose run` turns on the target's profiles, not its
		// dependencies'.
		if !slices.ContainsFunc(m.Profiles, func(p string) bool { return slices.Contains(c.Services[dbName].Profiles, p) }) {
			t.Errorf("%s (profiles %v) shares no profile with %s (%v), so `docker compose run %s` cannot start the database", name, m.Profiles, dbName, c.Services[dbName].Profiles, name)
		}
	}
	if !found {
		t.Skip("no service runs `agenda migrate`")
	}
}

// caddyLines returns the fields of each line of a Caddyfile, without
// comments and blank lines.
func caddyLines(src string) [][]string {
	var lines [][]string
	for _, l := range strings.Split(src, "\n") {
		l, _, _ = strings.Cut(l, "#")
		if f := strings.Fields(l); len(f) > 0 {
			lines = append(lines, f)
		}
	}
	return lines
}

func TestDockerfileBuildsTheServer(t *testing.T) {
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	// Join continuation lines, then look at instructions.
	text := regexp.MustCompile(`\\\n\s*`).ReplaceAllString(string(b), " ")
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	has := func(prefix, sub string) bool {
		return slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, prefix) && strings.Contains(l, sub) })
	}

	pkg := mainPackage(t)
	for _, c := range []struct{ prefix, sub, why string }{
		{"FROM golang:1.26", " AS build", "a golang:1.26 builder stage"},
		{"ENV CGO_ENABLED=1", "", "cgo on, for the SQLite driver"},
		{"RUN ", "go build", "a go build"},
		{"RUN ", pkg, "a build of " + pkg + ", the package the README runs"},
		{"EXPOSE ", strconv.Itoa(config.DefaultPort), "the app's default port exposed"},
		{"ENV ", "PORT=" + strconv.Itoa(config.DefaultPort), "PORT set to the exposed port"},
		{"ENV ", "DATABASE_URL=/data/", "the database under /data"},
		{"VOLUME ", "/data", "a /data volume"},
		{"HEALTHCHECK ", "healthcheck", "a health check through `agenda healthcheck`"},
		{"ENTRYPOINT ", "agenda", "the agenda binary as entry point"},
	} {
		if !has(c.prefix, c.sub) {
			t.Errorf("the Dockerfile lacks %s (%s... %s)", c.why, c.prefix, c.sub)
		}
	}

	var user string
	for _, l := range lines {
		if strings.HasPrefix(l, "USER ") {
			user = strings.TrimSpace(strings.TrimPrefix(l, "USER "))
		}
	}
	if user == "" || user == "root" || strings.HasPrefix(user, "0:") || user == "0" {
		t.Errorf("the image runs as %q, want a non-root user", user)
	}
}

// mainPackage returns the package the README tells people to run, checking
// that it is a main package. Until the README names one, it is ./cmd/agenda.
func mainPackage(t *testing.T) string {
	t.Helper()
	pkg := "./cmd/agenda"
	if readme, err := os.ReadFile("../README.md"); err == nil {
		if m := regexp.MustCompile(`go (?:run|build|install) (?:-\S+ )*(\./cmd/[a-z0-9_-]+)`).FindSubmatch(readme); m != nil {
			pkg = string(m[1])
		}
	}
	p, err := build.ImportDir(filepath.Join("..", pkg), 0)
	if err != nil {
		t.Fatalf("%s: %v", pkg, err)
	}
	if p.Name != "main" {
		t.Fatalf("%s is package %s, not a main package", pkg, p.Name)
	}
	return pkg
}
