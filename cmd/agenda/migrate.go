package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/agenda-gpt/agenda/store"
	"github.com/agenda-gpt/agenda/store/postgres"
	"github.com/agenda-gpt/agenda/store/sqlite"
)

// runMigrate copies a SQLite database into PostgreSQL: what a deployment
// that outgrew one machine runs once, before starting its replicas.
func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "the SQLite database to copy: a file path or a sqlite: URL (required)")
	to := fs.String("to", "", "the PostgreSQL database to copy into (default: DATABASE_URL)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: agenda migrate -from ./data/agenda.db [-to postgres://...]\n\n"+
			"Copies events, unexpired idempotency keys and unexpired sessions from a SQLite\n"+
			"database into PostgreSQL. Safe to run again: nothing is duplicated, and an event\n"+
			"changed in SQLite since the last run is updated unless PostgreSQL has a newer version.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *to == "" {
		*to = strings.TrimSpace(getenv("DATABASE_URL"))
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("migrate: unexpected argument %q; name the SQLite file with -from", fs.Arg(0))
	case *from == "":
		return errors.New("migrate: -from is required: the SQLite file the server used until now (./data/agenda.db by default)")
	case store.IsPostgres(*from):
		return errors.New("migrate: -from must be a SQLite database; it copies from SQLite into PostgreSQL")
	case !store.IsPostgres(*to):
		return errors.New("migrate: set -to, or DATABASE_URL, to the PostgreSQL URL to copy into, like postgres://agenda:secret@db.example.com:5432/agenda")
	}

	src, err := sqlite.Open(ctx, *from, nil, sqlite.Options{MustExist: true})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer src.Close()
	dst, err := postgres.Open(ctx, *to, nil, postgres.Options{MaxConns: 2})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer dst.Close()
	st, err := store.Copy(ctx, dst, src, func(line string) { fmt.Fprintln(stdout, line) })
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	fmt.Fprintf(stdout, "Copied %s into %s: %d events, %d idempotency keys, %d sessions written (rows already there were kept, or updated when older).\n",
		*from, redacted(*to), st.Events, st.IdempotencyKeys, st.Sessions)
	if st.Repaired > 0 || st.Skipped > 0 {
		fmt.Fprintf(stdout, "%d rows held NUL characters or invalid UTF-8, which PostgreSQL cannot store: %d repaired, %d skipped (listed above).\n",
			st.Repaired+st.Skipped, st.Repaired, st.Skipped)
	}
	return nil
}

// redacted is a database URL without its password, for printing.
func redacted(databaseURL string) string {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return "the database"
	}
	return u.Redacted()
}
