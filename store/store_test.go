package store

import (
	"slices"
	"testing"
)

func TestIsPostgres(t *testing.T) {
	for url, want := range map[string]bool{
		"postgres://db/agenda":             true,
		"PostgreSQL://u:p@db:5432/agenda":  true,
		"  postgresql://db/agenda":         true,
		"./data/agenda.db":                 false,
		"sqlite:./postgres://x":            false,
		"postgres.db":                      false,
		"mysql://db/agenda":                false,
		"sqlite:///var/lib/postgres/a.db":  false,
		"host=db dbname=agenda user=agent": false, // keyword form: not taken, to keep one way to write it
	} {
		if got := IsPostgres(url); got != want {
			t.Errorf("IsPostgres(%q) = %v, want %v", url, got, want)
		}
	}
}

// TestEventColumns: what reads, updates and the idempotency hash use is
// derived from eventRow's tags.
func TestEventColumns(t *testing.T) {
	if want := []string{"id", "user_id", "title", "start_unix", "end_unix", "time_zone", "all_day", "location", "notes", "created_unix", "updated_unix"}; !slices.Equal(eventColumns.read, want) {
		t.Errorf("read columns %q, want %q", eventColumns.read, want)
	}
	if want := []string{"title", "start_unix", "end_unix", "until_unix", "span_unix", "time_zone", "all_day", "location", "notes", "search_text", "updated_unix"}; !slices.Equal(eventColumns.update, want) {
		t.Errorf("update columns %q, want %q", eventColumns.update, want)
	}
	if len(eventColumns.content) != 10 {
		t.Errorf("the hash covers %d fields, want the 10 content columns", len(eventColumns.content))
	}
}
