package store

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// IsPostgres reports whether databaseURL names a PostgreSQL database rather
// than a SQLite file.
func IsPostgres(databaseURL string) bool {
	lower := strings.ToLower(strings.TrimSpace(databaseURL))
	return strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://")
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

// openPostgres opens a pool of opts.MaxConns connections, creates or updates
// the tables, and, when the store has a Publisher, starts listening for the
// changes every replica announces.
//
// The URL is libpq's (postgres://user:password@host:5432/db?sslmode=require);
// pgx reads it, and also honours the PG* environment variables for what it
// leaves out. Connect directly or through a session-mode pooler: LISTEN needs
// a session of its own, which transaction-mode pooling does not keep.
func (s *Store) openPostgres(ctx context.Context, databaseURL string, opts Options) error {
	cfg, err := pgx.ParseConfig(strings.TrimSpace(databaseURL))
	if err != nil {
		// pgx's message hides the password.
		return fmt.Errorf("store: DATABASE_URL is not a valid PostgreSQL URL (%v); write it like postgres://agenda:secret@db.example.com:5432/agenda?sslmode=require", err)
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
		return fmt.Errorf("store: open PostgreSQL: %w", err)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return fmt.Errorf("store: connect to PostgreSQL at %s: %w", cfg.Host, err)
	}
	s.writer, s.reader, s.viaDatabase = db, db, true

	if err := migratePostgres(ctx, db); err != nil {
		s.closeDB()
		return fmt.Errorf("store: create tables: %w", err)
	}
	if s.pub != nil {
		lcfg := cfg.Copy()
		// Names the connection in pg_stat_activity, per process, so an
		// operator (or a test) can tell which replica's listener it is.
		lcfg.RuntimeParams["application_name"] = fmt.Sprintf("agenda-listener-%d", os.Getpid())
		l := newListener(lcfg, s.pub, s.GetEvent, opts.Logger)
		if err := l.start(ctx); err != nil {
			s.closeDB()
			return err
		}
		s.listener = l
	}
	return nil
}

// migratePostgres creates or updates the tables and indexes in one
// transaction, holding an advisory lock until it commits (PostgreSQL's DDL is
// transactional, so a replica that waited sees the tables done).
func migratePostgres(ctx context.Context, db *gorm.DB) error {
	return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", migrateLockID).Error; err != nil {
			return err
		}
		if err := tx.AutoMigrate(tables...); err != nil {
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
