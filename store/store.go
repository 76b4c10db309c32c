// Package store keeps events, idempotency keys and browser sessions in a SQL
// database through GORM: SQLite for one process, PostgreSQL for any number of
// replicas. It implements agenda.EventService and announces every committed
// change to an agenda.Publisher, in commit order.
//
// With SQLite the store publishes each change itself, right after commit.
// With PostgreSQL every replica must hear every change, so the change goes
// through the database instead: pg_notify inside the write's transaction, and
// one LISTEN connection per process that hands each notification to the
// Publisher (listener.go). PostgreSQL delivers notifications only for
// committed transactions, in commit order.
//
// What differs between database engines lives in one file per engine
// (sqlite.go, postgres.go); the queries here are written to run unchanged on
// both: times are Unix seconds, text search compares lowercased text with
// LIKE ... ESCAPE, upserts use ON CONFLICT, and the row an update reads is
// locked (FOR UPDATE, which SQLite's single writer makes unnecessary and its
// driver leaves out).
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/agenda-gpt/agenda"
	"gorm.io/gorm"
)

// pruneInterval is how often expired idempotency keys and sessions are
// deleted. Reads ignore expired rows anyway, so this only bounds table size.
const pruneInterval = 10 * time.Minute

// Store is the database. It is safe for concurrent use.
type Store struct {
	// SQLite: writer has a single connection and every write goes through
	// write, so writes never contend for the database lock and commit one at
	// a time; reader is a pool of read-only connections.
	// PostgreSQL: both are the same pool; row locks order the writes.
	writer *gorm.DB
	reader *gorm.DB
	pub    agenda.Publisher
	now    func() time.Time

	// writes queues the writes for SQLite's single writer, which commits
	// them in groups (batch.go); nil on PostgreSQL, where transactions
	// commit concurrently.
	writes *writeQueue
	// viaDatabase is set on PostgreSQL: changes are announced with
	// pg_notify inside their transaction, and listener publishes them.
	viaDatabase bool
	listener    *listener // nil without a Publisher or on SQLite

	stop      chan struct{} // closed by Close to end pruneLoop
	pruned    chan struct{} // closed when pruneLoop has returned
	closeOnce sync.Once
	closeErr  error
}

// Options tune Open. The zero value suits tests and small deployments.
type Options struct {
	// MaxConns caps the read pool (SQLite) or the whole pool (PostgreSQL,
	// where each process opens one more connection, to LISTEN). Zero means
	// max(4, GOMAXPROCS).
	MaxConns int

	// Logger hears what the store does on its own, outside any call: the
	// PostgreSQL notification stream dropping and coming back. Nil
	// discards it.
	Logger *slog.Logger

	// MustExist makes Open fail when a SQLite file does not exist, instead
	// of creating it: for reading a database that should be there.
	MustExist bool
}

// Open opens the database named by databaseURL, creating its tables (and,
// for SQLite, the file) if needed. databaseURL is a postgres:// or
// postgresql:// URL, a file path (./data/agenda.db) or a sqlite: URL
// (sqlite:./data/agenda.db, sqlite:///var/lib/agenda/agenda.db). pub receives
// each committed change; it may be nil. With PostgreSQL, pub hears the
// changes of every process using the database, and if it has a Resync
// method, that is called whenever changes may have been missed.
func Open(ctx context.Context, databaseURL string, pub agenda.Publisher, opts Options) (*Store, error) {
	return open(ctx, databaseURL, pub, opts, time.Now)
}

// open is Open with a clock, so tests can expire keys and sessions.
func open(ctx context.Context, databaseURL string, pub agenda.Publisher, opts Options, now func() time.Time) (*Store, error) {
	if opts.MaxConns <= 0 {
		opts.MaxConns = max(4, runtime.GOMAXPROCS(0))
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{
		pub:    pub,
		now:    now,
		stop:   make(chan struct{}),
		pruned: make(chan struct{}),
	}
	var err error
	if IsPostgres(databaseURL) {
		err = s.openPostgres(ctx, databaseURL, opts)
	} else {
		err = s.openSQLite(ctx, databaseURL, opts)
	}
	if err != nil {
		return nil, err
	}
	if err := s.prune(ctx); err != nil {
		s.closeDB()
		return nil, err
	}
	go s.pruneLoop()
	return s, nil
}

// tables are the rows the store keeps, for AutoMigrate.
var tables = []any{&eventRow{}, &idempotencyRow{}, &sessionRow{}}

// Close stops the pruning and closes the database. It is safe to call more
// than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.pruned
		if err := s.closeDB(); err != nil {
			s.closeErr = fmt.Errorf("store: close: %w", err)
		}
	})
	return s.closeErr
}

// closeDB stops the listener and closes the connections.
func (s *Store) closeDB() error {
	if s.listener != nil {
		s.listener.close()
	}
	err := closeGORM(s.writer)
	if s.reader != s.writer {
		err = errors.Join(err, closeGORM(s.reader))
	}
	return err
}

// Ping checks that the database answers queries, for readiness probes.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.reader.WithContext(ctx).Raw("SELECT 1").Scan(&one).Error; err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// write runs fn in a transaction and announces the change fn returned (if
// any) so that subscribers receive changes in commit order and a rolled-back
// transaction announces nothing:
//
//   - SQLite: once the transaction has committed, write publishes the change;
//     the critical section spans commit and publish. Writes that queue for
//     the single writer share a transaction, each in a savepoint (batch.go).
//   - PostgreSQL: the change is sent with pg_notify inside the transaction;
//     PostgreSQL delivers it to every listener when, and only when, the
//     transaction commits, in commit order.
func (s *Store) write(ctx context.Context, fn func(tx *gorm.DB) (*agenda.Change, error)) error {
	if s.writes != nil {
		return s.writeGrouped(ctx, fn)
	}
	var change *agenda.Change
	err := s.writer.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if change, err = fn(tx); err != nil || change == nil || !s.viaDatabase {
			return err
		}
		return notify(tx, *change)
	})
	if err != nil {
		return err
	}
	if change != nil && !s.viaDatabase && s.pub != nil {
		s.pub.Publish(*change)
	}
	return nil
}

// prune deletes idempotency keys and sessions that have expired.
func (s *Store) prune(ctx context.Context) error {
	now := s.now()
	err := s.write(ctx, func(tx *gorm.DB) (*agenda.Change, error) {
		if err := tx.Where("created_unix < ?", idempotencyCutoff(now)).Delete(&idempotencyRow{}).Error; err != nil {
			return nil, err
		}
		return nil, tx.Where("expiry_unix <= ?", now.Unix()).Delete(&sessionRow{}).Error
	})
	if err != nil {
		return fmt.Errorf("store: prune: %w", err)
	}
	return nil
}

func (s *Store) pruneLoop() {
	defer close(s.pruned)
	tick := time.NewTicker(pruneInterval)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
			// A failed prune is retried on the next tick; expired rows are
			// ignored by every read meanwhile, so there is nothing to report.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			_ = s.prune(ctx)
			cancel()
		}
	}
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

// wrap adds where an unexpected error happened; domain errors pass through
// unchanged, since their message is meant for the client.
func wrap(op string, err error) error {
	var e *agenda.Error
	if err == nil || errors.As(err, &e) {
		return err
	}
	return fmt.Errorf("store: %s: %w", op, err)
}
