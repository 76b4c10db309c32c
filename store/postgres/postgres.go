// Package postgres is the store on PostgreSQL, for any number of replicas.
// Every replica must hear every change, so a change goes through the
// database: pg_notify inside the write's transaction (notify.go), and one
// LISTEN connection per process that hands each notification to the
// Publisher (listener.go). PostgreSQL delivers notifications only for
// committed transactions, in commit order. Row locks order the writes.
package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/agenda-gpt/agenda"
	"github.com/agenda-gpt/agenda/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Options tune Open. The zero value suits tests and small deployments.
type Options struct {
	// MaxConns caps the pool; each process opens one more connection, to
	// LISTEN. Zero means max(4, GOMAXPROCS).
	MaxConns int

	// Logger hears what the store does on its own, outside any call: the
	// notification stream dropping and coming back. Nil discards it.
	Logger *slog.Logger
}

// engine is PostgreSQL's part of the store: one pool for reads and writes,
// and the listener when there is a Publisher.
type engine struct {
	db       *gorm.DB
	listener *listener // nil without a Publisher
}

// Open opens the database databaseURL names, a postgres:// or postgresql://
// URL, and creates or updates its tables. pub receives the committed
// changes of every process using the database; it may be nil. If it has a
// Resync method, that is called whenever changes may have been missed.
func Open(ctx context.Context, databaseURL string, pub agenda.Publisher, opts Options) (*store.Store, error) {
	s, _, err := open(ctx, databaseURL, pub, opts, time.Now)
	return s, err
}

// open is Open with a clock, so tests can expire keys and sessions, that
// also returns the engine.
func open(ctx context.Context, databaseURL string, pub agenda.Publisher, opts Options, now func() time.Time) (*store.Store, *engine, error) {
	if opts.MaxConns <= 0 {
		opts.MaxConns = max(4, runtime.GOMAXPROCS(0))
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	e, cfg, err := openEngine(ctx, databaseURL, opts)
	if err != nil {
		return nil, nil, err
	}
	s, err := store.New(ctx, e.db, e, now)
	if err != nil || pub == nil {
		return s, e, err
	}
	lcfg := cfg.Copy()
	// Names the connection in pg_stat_activity, per process, so an
	// operator (or a test) can tell which replica's listener it is.
	lcfg.RuntimeParams["application_name"] = fmt.Sprintf("agenda-listener-%d", os.Getpid())
	l := newListener(lcfg, pub, s.GetEvent, opts.Logger)
	if err := l.start(ctx); err != nil {
		s.Close()
		return nil, nil, err
	}
	e.listener = l
	return s, e, nil
}

// migrateLockID keys the advisory lock under which a process creates or
// alters the tables, so that replicas starting together take turns: two
// concurrent AutoMigrates would both try to create the same table or index.
const migrateLockID = 0x6167656e6461 // "agenda"

// Pool connections are recycled so that a pool recovers from a failover or
// a proxy that drops idle connections without waiting for an error.
const (
	connMaxLifetime = 30 * time.Minute
	connMaxIdleTime = 5 * time.Minute
)

// openEngine opens a pool of opts.MaxConns connections and creates or
// updates the tables.
//
// The URL is libpq's (postgres://user:password@host:5432/db?sslmode=require);
// pgx reads it, and also honours the PG* environment variables for what it
// leaves out. Connect directly or through a session-mode pooler: LISTEN needs
// a session of its own, which transaction-mode pooling does not keep.
func openEngine(ctx context.Context, databaseURL string, opts Options) (*engine, *pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(strings.TrimSpace(databaseURL))
	if err != nil {
		// pgx's message hides the password.
		return nil, nil, fmt.Errorf("store: DATABASE_URL is not a valid PostgreSQL URL (%v); write it like postgres://agenda:secret@db.example.com:5432/agenda?sslmode=require", err)
	}
	if _, set := cfg.RuntimeParams["application_name"]; !set {
		cfg.RuntimeParams["application_name"] = "agenda"
	}

	sqlDB := stdlib.OpenDB(*cfg)
	sqlDB.SetMaxOpenConns(opts.MaxConns)
	sqlDB.SetMaxIdleConns(opts.MaxConns)
	sqlDB.SetConnMaxLifetime(connMaxLifetime)
	sqlDB.SetConnMaxIdleTime(connMaxIdleTime)
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true, // writes run in explicit transactions
		DisableAutomaticPing:   true, // pinged below, within ctx
	})
	if err != nil {
		sqlDB.Close()
		return nil, nil, fmt.Errorf("store: open PostgreSQL: %w", err)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, nil, fmt.Errorf("store: connect to PostgreSQL at %s: %w", cfg.Host, err)
	}
	if err := migrate(ctx, db); err != nil {
		sqlDB.Close()
		return nil, nil, fmt.Errorf("store: create tables: %w", err)
	}
	return &engine{db: db}, cfg, nil
}

// Write runs fn in a transaction and sends its change with pg_notify inside
// it: PostgreSQL delivers the change to every listener when, and only when,
// the transaction commits, in commit order.
func (e *engine) Write(ctx context.Context, fn func(tx *gorm.DB) (*agenda.Change, error)) error {
	return e.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		change, err := fn(tx)
		if err != nil || change == nil {
			return err
		}
		return notify(tx, *change)
	})
}

// Unavailable: the server cannot be reached, refuses connections, or is
// shutting down or out of connections.
func (e *engine) Unavailable(err error) bool {
	var (
		connect *pgconn.ConnectError
		pgErr   *pgconn.PgError
		netErr  net.Error
	)
	switch {
	case errors.As(err, &connect), errors.As(err, &netErr),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return true
	case errors.As(err, &pgErr):
		// Class 08 is connection exceptions; 57P01-57P03 a server shutting
		// down or starting; 53300 too many connections.
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" ||
			pgErr.Code == "57P03" || pgErr.Code == "53300"
	}
	return pgconn.SafeToRetry(err)
}

// Close stops the listener and closes the pool.
func (e *engine) Close() error {
	if e.listener != nil {
		e.listener.close()
	}
	sqlDB, err := e.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// migratePostgres creates or updates the tables and indexes in one
// transaction, holding an advisory lock until it commits (PostgreSQL's DDL is
// transactional, so a replica that waited sees the tables done).
func migrate(ctx context.Context, db *gorm.DB) error {
	return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", migrateLockID).Error; err != nil {
			return err
		}
		if err := store.Migrate(tx); err != nil {
			return err
		}
		return createSearchIndex(tx)
	})
}

// createSearchIndex adds a trigram index for text search when the pg_trgm
// extension is there or may be created (it ships with PostgreSQL, and since
// PostgreSQL 13 a database owner may create it). With it, a search for
// three characters or more finds the matching rows through the index, and
// the planner combines it with the user's rows; without it, a search reads
// the user's events through idx_events_user_start and filters them, which
// stays fast for the thousands of events a person keeps. LIKE '%text%' can
// use no B-tree index, so there is nothing else to add.
func createSearchIndex(tx *gorm.DB) error {
	if err := tx.SavePoint("search_index").Error; err != nil {
		return err
	}
	err := tx.Exec("CREATE EXTENSION IF NOT EXISTS pg_trgm").Error
	if err == nil {
		err = tx.Exec("CREATE INDEX IF NOT EXISTS idx_events_search ON events USING gin (search_text gin_trgm_ops)").Error
	}
	if err != nil {
		// Not available or not allowed: search works without it.
		return tx.RollbackTo("search_index").Error
	}
	return nil
}
