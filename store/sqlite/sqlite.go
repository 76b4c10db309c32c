// Package sqlite is the store on a SQLite file, for one process: a writer of
// one connection that commits the writes in groups (batch.go) and publishes
// each change once it has committed, and a pool of read-only connections.
package sqlite

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/agenda-gpt/agenda"
	"github.com/agenda-gpt/agenda/store"
	sqlite3 "github.com/mattn/go-sqlite3"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Options tune Open. The zero value suits tests and small deployments.
type Options struct {
	// MaxConns caps the pool of read-only connections. Zero means
	// max(4, GOMAXPROCS).
	MaxConns int

	// MustExist makes Open fail when the file does not exist, instead of
	// creating it: for reading a database that should be there.
	MustExist bool
}

// engine is SQLite's part of the store: writer has a single connection and
// every write goes through the queue, so writes never contend for the
// database lock and commit one at a time; reader is a pool of read-only
// connections.
type engine struct {
	writer *gorm.DB
	reader *gorm.DB
	pub    agenda.Publisher
	writes *writeQueue
}

// Open opens the SQLite file databaseURL names, a file path
// (./data/agenda.db) or a sqlite: URL (sqlite:./data/agenda.db,
// sqlite:///var/lib/agenda/agenda.db), creating it, its folder and its tables
// if needed. pub, which may be nil, receives each committed change.
func Open(ctx context.Context, databaseURL string, pub agenda.Publisher, opts Options) (*store.Store, error) {
	return open(ctx, databaseURL, pub, opts, busyTimeout, time.Now)
}

// open is Open with the busy timeout and the clock to use, for tests.
func open(ctx context.Context, databaseURL string, pub agenda.Publisher, opts Options, busy time.Duration, now func() time.Time) (*store.Store, error) {
	e, err := openEngine(ctx, databaseURL, pub, opts, busy)
	if err != nil {
		return nil, err
	}
	return store.New(ctx, e.reader, e, now)
}

// urlExamples ends every DATABASE_URL error, so the fix is in the message.
const urlExamples = "use a file path such as ./data/agenda.db, a sqlite: URL such as sqlite:./data/agenda.db or sqlite:///var/lib/agenda/agenda.db, or a PostgreSQL URL such as postgres://agenda:secret@db.example.com:5432/agenda"

// sqlitePath returns the file path a DATABASE_URL names, or an error that
// says how to write it.
func sqlitePath(databaseURL string) (string, error) {
	raw := strings.TrimSpace(databaseURL)
	lower := strings.ToLower(raw)
	var path string
	switch {
	case raw == "":
		return "", fmt.Errorf("store: DATABASE_URL is empty; %s", urlExamples)
	case store.IsPostgres(raw):
		return "", fmt.Errorf("store: DATABASE_URL is a PostgreSQL URL, not a SQLite file")
	case strings.HasPrefix(lower, "sqlite:"):
		u, err := url.Parse(raw)
		if err != nil {
			return "", fmt.Errorf("store: DATABASE_URL %q is not a valid URL (%v); %s", raw, err, urlExamples)
		}
		switch {
		case u.RawQuery != "" || u.Fragment != "":
			return "", fmt.Errorf("store: DATABASE_URL %q has options after the path, which the store does not take (it sets its own); %s", raw, urlExamples)
		case u.Opaque != "": // sqlite:./data/agenda.db
			if path, err = url.PathUnescape(u.Opaque); err != nil {
				return "", fmt.Errorf("store: DATABASE_URL %q is not a valid URL (%v); %s", raw, err, urlExamples)
			}
		case u.Host != "":
			return "", fmt.Errorf("store: DATABASE_URL %q names a host (%s), but SQLite is a local file: write sqlite:./relative/path.db or sqlite:///absolute/path.db", raw, u.Host)
		default: // sqlite:///var/lib/agenda/agenda.db
			path = u.Path
		}
	case strings.Contains(lower, "dbname=") || strings.Contains(lower, "host="):
		return "", fmt.Errorf("store: DATABASE_URL looks like a PostgreSQL connection string in keyword=value form; write it as a URL, like postgres://agenda:secret@db.example.com:5432/agenda")
	case strings.Contains(raw, "://"):
		return "", fmt.Errorf("store: DATABASE_URL %q uses a database this store does not support; %s", raw, urlExamples)
	default:
		path = raw
	}
	switch {
	case path == "":
		return "", fmt.Errorf("store: DATABASE_URL %q has no file path; %s", raw, urlExamples)
	case path == ":memory:" || strings.HasPrefix(path, "file:"):
		return "", fmt.Errorf("store: DATABASE_URL %q is not a plain file path (the store opens several connections to one file); %s", raw, urlExamples)
	case strings.ContainsAny(path, "?#"):
		return "", fmt.Errorf("store: database path %q contains ? or #, which SQLite would read as options; choose a path without them", path)
	}
	return path, nil
}

// busyTimeout is how long a connection waits for a lock held by another
// process (a backup, a second instance by mistake) before giving up, and the
// client is told to retry (EUNAVAILABLE). Within this process the single
// writer means writes never wait on each other.
const busyTimeout = 10 * time.Second

// stmtCacheSize is how many prepared statements each connection keeps, so
// that a statement is parsed and planned once per connection rather than
// on every call (inside transactions too): the store sends a few dozen
// distinct statements.
const stmtCacheSize = 64

// openSQLite opens the file databaseURL names, creating it and its folder
// (unless opts.MustExist), with a writer of one connection and a pool of
// read-only connections, and creates the tables.
//
// The database runs in WAL mode, where readers never block the writer nor the
// writer them. synchronous=NORMAL writes each commit to the WAL before COMMIT
// returns but syncs it to disk only at checkpoints: a commit survives the
// process being killed (the OS holds the data), while a power loss or kernel
// crash may roll back the last commits, never corrupting the file. FULL would
// close that window at the cost of an fsync per write.
func openEngine(ctx context.Context, databaseURL string, pub agenda.Publisher, opts Options, busy time.Duration) (*engine, error) {
	if opts.MaxConns <= 0 {
		opts.MaxConns = max(4, runtime.GOMAXPROCS(0))
	}
	path, err := sqlitePath(databaseURL)
	if err != nil {
		return nil, err
	}
	if opts.MustExist {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("store: no SQLite database at %s: %w", path, err)
		}
	} else if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("store: create the database folder: %w", err)
	}
	common := fmt.Sprintf("_busy_timeout=%d&_foreign_keys=on&_synchronous=NORMAL&_stmt_cache_size=%d", busy.Milliseconds(), stmtCacheSize)

	e := &engine{pub: pub, writes: newWriteQueue()}
	// _txlock=immediate makes BEGIN take the write lock at once, so a
	// transaction never fails half-way when it first writes.
	if e.writer, err = openGORM(ctx, path+"?_journal_mode=WAL&_txlock=immediate&"+common, 1); err != nil {
		return nil, err
	}
	if e.reader, err = openGORM(ctx, path+"?_query_only=on&"+common, opts.MaxConns); err != nil {
		e.Close()
		return nil, err
	}
	if err := store.Migrate(e.writer.WithContext(ctx)); err != nil {
		e.Close()
		return nil, fmt.Errorf("store: create tables: %w", err)
	}
	return e, nil
}

// Write queues fn for the single writer, which commits it, with the writes
// queued alongside, in one transaction (batch.go), then publishes its
// change.
func (e *engine) Write(ctx context.Context, fn func(tx *gorm.DB) (*agenda.Change, error)) error {
	return e.writeGrouped(ctx, fn)
}

// Unavailable: another process has held the database lock for longer than
// the busy timeout.
func (e *engine) Unavailable(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked)
}

// Close closes both pools.
func (e *engine) Close() error {
	return errors.Join(closeGORM(e.writer), closeGORM(e.reader))
}

func closeGORM(db *gorm.DB) error {
	if db == nil {
		return nil
	}
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

func openGORM(ctx context.Context, dsn string, conns int) (*gorm.DB, error) {
	db, err := gorm.Open(sqlite.Open(dsn), &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true, // writes run in explicit transactions
	})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", strings.SplitN(dsn, "?", 2)[0], err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	sqlDB.SetMaxOpenConns(conns)
	sqlDB.SetMaxIdleConns(conns)
	sqlDB.SetConnMaxLifetime(0)
	sqlDB.SetConnMaxIdleTime(0)
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("store: open %s: %w", strings.SplitN(dsn, "?", 2)[0], err)
	}
	return db, nil
}
