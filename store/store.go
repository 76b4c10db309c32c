// Package store keeps events, idempotency keys and browser sessions in a SQL
// database through GORM. It implements agenda.EventService with queries
// written to run unchanged on every engine: times are Unix seconds, text
// search compares lowercased text with LIKE ... ESCAPE, upserts use ON
// CONFLICT, and the row an update reads is locked (FOR UPDATE, which
// SQLite's single writer makes unnecessary and its driver leaves out).
//
// What differs between engines is how a write commits and how its change
// reaches subscribers, and that lives in one package per engine:
// store/sqlite (one process; a single writer that commits writes in groups
// and publishes each change after commit) and store/postgres (any number of
// replicas; each change is sent with pg_notify inside its transaction and
// heard by every replica's LISTEN connection). Each has an Open that returns
// a *Store.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/agenda-gpt/agenda"
	"gorm.io/gorm"
)

// pruneInterval is how often expired idempotency keys and sessions are
// deleted. Reads ignore expired rows anyway, so this only bounds table size.
const pruneInterval = 10 * time.Minute

// An Engine is what a database engine adds to the shared queries.
type Engine interface {
	// Write runs fn in a transaction and, once it has committed, announces
	// the change fn returned (if any) to subscribers, in commit order. A
	// rolled-back transaction announces nothing.
	Write(ctx context.Context, fn func(tx *gorm.DB) (*agenda.Change, error)) error
	// Unavailable reports whether err means that the database cannot be
	// reached or used for now (refused connections, a lock held too long),
	// so that the client should retry, rather than a bug.
	Unavailable(err error) bool
	// Close closes the engine's connections.
	Close() error
}

// Store is the database. It is safe for concurrent use.
type Store struct {
	db     *gorm.DB // for reads
	engine Engine
	now    func() time.Time

	stop      chan struct{} // closed by Close to end pruneLoop
	pruned    chan struct{} // closed when pruneLoop has returned
	closeOnce sync.Once
	closeErr  error
}

// New returns the store that reads through db and writes through engine,
// with now as its clock (time.Now but in tests). It deletes what has expired,
// and keeps doing so until Close. On error the engine is closed.
func New(ctx context.Context, db *gorm.DB, engine Engine, now func() time.Time) (*Store, error) {
	s := &Store{db: db, engine: engine, now: now, stop: make(chan struct{}), pruned: make(chan struct{})}
	if err := s.prune(ctx); err != nil {
		engine.Close()
		return nil, err
	}
	go s.pruneLoop()
	return s, nil
}

// Migrate creates or updates the store's tables and indexes in db.
func Migrate(db *gorm.DB) error {
	return db.AutoMigrate(&eventRow{}, &idempotencyRow{}, &sessionRow{})
}

// IsPostgres reports whether databaseURL names a PostgreSQL database rather
// than a SQLite file.
func IsPostgres(databaseURL string) bool {
	lower := strings.ToLower(strings.TrimSpace(databaseURL))
	return strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://")
}

// Close stops the pruning and closes the database. It is safe to call more
// than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.pruned
		if err := s.engine.Close(); err != nil {
			s.closeErr = fmt.Errorf("store: close: %w", err)
		}
	})
	return s.closeErr
}

// Ping checks that the database answers queries, for readiness probes.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.WithContext(ctx).Raw("SELECT 1").Scan(&one).Error; err != nil {
		return s.wrap("ping", err)
	}
	return nil
}

// prune deletes idempotency keys and sessions that have expired.
func (s *Store) prune(ctx context.Context) error {
	now := s.now()
	err := s.engine.Write(ctx, func(tx *gorm.DB) (*agenda.Change, error) {
		if err := tx.Where("created_unix < ?", idempotencyCutoff(now)).Delete(&idempotencyRow{}).Error; err != nil {
			return nil, err
		}
		return nil, tx.Where("expiry_unix <= ?", now.Unix()).Delete(&sessionRow{}).Error
	})
	return s.wrap("prune", err)
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

// errUnavailable is what a client hears when the database cannot be used
// for now; the API answers it with 503 and Retry-After.
var errUnavailable = agenda.Errorf(agenda.EUNAVAILABLE, "the database is not available right now; try again in a few seconds")

// wrap adds where an unexpected error happened; domain errors pass through
// unchanged, since their message is meant for the client. An error that
// means the database is unavailable also carries EUNAVAILABLE, with the
// cause kept for the log.
func (s *Store) wrap(op string, err error) error {
	var e *agenda.Error
	switch {
	case err == nil || errors.As(err, &e):
		return err
	case s.engine.Unavailable(err):
		return fmt.Errorf("store: %s: %w: %w", op, errUnavailable, err)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}
