package setup

import (
	"go/build"
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
// its default port, /healthz, and the package the README runs.

// compose is the part of docker-compose.yml the tests read.
type compose struct {
	Services map[string]struct {
		Build       any               `yaml:"build"`
		Image       string            `yaml:"image"`
		Entrypoint  []string          `yaml:"entrypoint"`
		Ports       []string          `yaml:"ports"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []string          `yaml:"volumes"`
		DependsOn   map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
		Healthcheck struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
		Networks map[string]struct {
			Aliases []string `yaml:"aliases"`
		} `yaml:"networks"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
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
		if e.IsDir() && (e.Name() == ".git" || e.Name() == "testdata" || e.Name() == "bench" || e.Name() == "storetest") {
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
	app := readCompose(t).Services["app"]
	for _, name := range settingNames(t) {
		if _, ok := app.Environment[name]; !ok {
			t.Errorf("docker-compose.yml: app.environment lacks %s; list it (empty means the default)", name)
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
