package main

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestForkingRecipe proves docs/forking.md's recipe for a new event field:
// in a scratch copy of the repository it makes exactly the edits the page
// lists to add `url`, then runs a test there (forkedFieldTest) that finds
// the field in REST, in the MCP tools, in validation and in storage. An
// edit the code no longer has an anchor for fails here, so the page and
// the code cannot drift apart.
func TestForkingRecipe(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a copy of the repository")
	}
	t.Parallel()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	fork := t.TempDir()
	copyTree(t, root, fork)

	for _, e := range forkingRecipe {
		path := filepath.Join(fork, e.file)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if strings.Count(s, e.anchor) != e.times {
			t.Fatalf("%s: the recipe's anchor %q occurs %d times, want %d: update docs/forking.md and this test",
				e.file, e.anchor, strings.Count(s, e.anchor), e.times)
		}
		s = strings.ReplaceAll(s, e.anchor, e.replacement)
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(fork, "cmd/agenda/forked_field_test.go"), []byte(forkedFieldTest), 0o644); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command("go", "test", "-count=1", "-v", "-run", "^TestForkedField$", "./cmd/agenda")
	cmd.Dir = fork
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestForkedField") {
		t.Fatalf("the fork with a url field fails its test: %v\n%s", err, out)
	}
}

// edit replaces anchor, which must occur times times, in file.
type edit struct {
	file, anchor, replacement string
	times                     int
}

// forkingRecipe is docs/forking.md's "Add a field to the event", as edits.
var forkingRecipe = []edit{
	// 1. The contract.
	{"openapi.yaml", "        notes:\n          type: string\n          description: Free-form notes; may be empty.\n",
		"        url:\n          type: string\n          description: A link for the event, like a video call; may be empty.\n          example: https://meet.example.com/abc\n" +
			"        notes:\n          type: string\n          description: Free-form notes; may be empty.\n", 1},
	{"openapi.yaml", "          description: Where the event takes place, up to 200 characters.\n          example: 12 rue de Rivoli, Paris\n",
		"          description: Where the event takes place, up to 200 characters.\n          example: 12 rue de Rivoli, Paris\n" +
			"        url:\n          type: string\n          maxLength: 300\n          description: A link for the event, like a video call, up to 300 characters.\n          example: https://meet.example.com/abc\n", 1},
	{"openapi.yaml", "          description: New location, or an empty string to clear it.\n          example: 14 rue de Rivoli, Paris\n",
		"          description: New location, or an empty string to clear it.\n          example: 14 rue de Rivoli, Paris\n" +
			"        url:\n          type: string\n          maxLength: 300\n          description: New link, or an empty string to clear it.\n          example: https://meet.example.com/abc\n", 1},
	// 2. The domain.
	{"agenda.go", "\tLocation  string\n", "\tLocation  string\n\tURL       string\n", 2},
	{"agenda.go", "\tLocation *string\n", "\tLocation *string\n\tURL      *string\n", 1},
	{"event.go", "\tLocation  string `json:\"location\"`\n", "\tLocation  string `json:\"location\"`\n\tURL       string `json:\"url\"`\n", 1},
	{"event.go", "\t\tLocation:  e.Location,\n", "\t\tLocation:  e.Location,\n\t\tURL:       e.URL,\n", 1},
	{"event.go", "Location: w.Location,", "Location: w.Location, URL: w.URL,", 1},
	{"event.go", "\t\tLocation: strings.TrimSpace(in.Location),\n", "\t\tLocation: strings.TrimSpace(in.Location),\n\t\tURL:      strings.TrimSpace(in.URL),\n", 1},
	{"event.go", "\tif p.Location != nil {\n", "\tif p.URL != nil {\n\t\te.URL = strings.TrimSpace(*p.URL)\n\t}\n\tif p.Location != nil {\n", 1},
	{"event.go", `{"location", e.Location},`, `{"location", e.Location}, {"url", e.URL},`, 1},
	// 3. The store.
	{"store/event.go", "\tLocation string `gorm:\"not null\"`\n", "\tLocation string `gorm:\"not null\"`\n\tURL      string `gorm:\"not null;default:''\"`\n", 1},
	{"store/event.go", "\t\tLocation:    e.Location,\n", "\t\tLocation:    e.Location,\n\t\tURL:         e.URL,\n", 1},
	{"store/event.go", "\t\tLocation:  r.Location,\n", "\t\tLocation:  r.Location,\n\t\tURL:       r.URL,\n", 1},
	// 4. The request forms.
	{"input.go", "\tLocation  string  `json:\"location\"`\n", "\tLocation  string  `json:\"location\"`\n\tURL       string  `json:\"url\"`\n", 1},
	{"input.go", "Location: in.Location, Notes: in.Notes, RequestID: in.RequestID,", "Location: in.Location, Notes: in.Notes, RequestID: in.RequestID, URL: in.URL,", 1},
	{"input.go", "\tLocation *string `json:\"location\"`\n", "\tLocation *string `json:\"location\"`\n\tURL      *string `json:\"url\"`\n", 1},
	{"input.go", "Location: in.Location, Notes: in.Notes}", "Location: in.Location, Notes: in.Notes, URL: in.URL}", 1},
}

// forkedFieldTest runs in the fork, with this package's harness.
const forkedFieldTest = `package main

import (
	"database/sql"
	"encoding/json"
	"strings"
	"testing"
)

func TestForkedField(t *testing.T) {
	app := startMCPApp(t)
	tok := app.devToken("alice", apiResource, "read", "write")

	// REST: create, read, update, clear.
	created := app.call("POST", "/api/events", tok, map[string]any{"title": "Standup", "start": "2027-01-04T09:00:00Z", "url": "https://meet.example.com/abc"})
	if created.Status != 201 || !strings.Contains(string(created.Body), ` + "`" + `"url":"https://meet.example.com/abc"` + "`" + `) {
		t.Fatalf("create with url: %d %s", created.Status, created.Body)
	}
	id := created.event(t).ID
	if r := app.call("PATCH", "/api/events/"+id, tok, map[string]any{"url": "https://meet.example.com/xyz"}); !strings.Contains(string(r.Body), "xyz") {
		t.Errorf("update url: %d %s", r.Status, r.Body)
	}
	// Validation: the spec's maxLength, in the API's words.
	r := app.call("POST", "/api/events", tok, map[string]any{"title": "x", "start": "2027-01-04T09:00:00Z", "url": strings.Repeat("u", 301)})
	if r.Status != 400 || !strings.Contains(r.problem(t).Detail, "url must be a string of at most 300 characters") {
		t.Errorf("a url too long: %d %s", r.Status, r.Body)
	}

	// Storage: the column exists and holds the value.
	db, err := sql.Open("sqlite3", app.cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var stored string
	if err := db.QueryRow("SELECT url FROM events WHERE id = ?", id).Scan(&stored); err != nil || stored != "https://meet.example.com/xyz" {
		t.Errorf("stored url %q, %v", stored, err)
	}

	// MCP: the tool's input schema has the field, and a call carries it.
	s := mcpSession(t, app.mcpResource(), app.devToken("alice", app.mcpResource(), "read", "write"))
	listed, err := s.ListTools(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, tool := range listed.Tools {
		if tool.Name == "create_event" {
			schema, _ := json.Marshal(tool.InputSchema)
			found = strings.Contains(string(schema), ` + "`" + `"url"` + "`" + `)
		}
	}
	if !found {
		t.Error("create_event's input schema lacks url")
	}
	res := callTool(t, s, "create_event", map[string]any{"title": "Retro", "start": "2027-01-05T09:00:00Z", "url": "https://meet.example.com/mcp"})
	if !strings.Contains(string(structured(t, res)), "https://meet.example.com/mcp") {
		t.Errorf("create_event with url: %s", structured(t, res))
	}
	if res := callTool(t, s, "update_event", map[string]any{"id": id, "url": strings.Repeat("u", 301)}); !res.IsError || !strings.Contains(textOf(res), "url must be a string of at most 300 characters") {
		t.Errorf("update_event with a url too long: %s", textOf(res))
	}
}
`

// copyTree copies the repository's files (not .git, not data) from src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			if name := d.Name(); rel != "." && (name == ".git" || name == "data" || name == "node_modules") {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
