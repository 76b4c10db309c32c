// Package store keeps events, idempotency keys and browser sessions in a SQL
// database through GORM. It implements agenda.EventService and announces every
// committed change to an agenda.Publisher, in commit order.
//
// What differs between database engines lives in one file per engine
// (sqlite.go); the queries here are written to run unchanged on SQLite and
// PostgreSQL: times are Unix seconds, text search compares lowercased text
// with LIKE ... ESCAPE, and upserts use ON CONFLICT.
package store

import (
	"context"
	"errors"
	"fmt"
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
	// writer has a single connection and every write goes through write, so
	// writes never contend for the database lock and commit one at a time.
	writer *gorm.DB
	reader *gorm.DB // a pool; never used to write
	pub    agenda.Publisher
	now    func() time.Time

	writing chan struct{} // holds one token while a write runs; see write

	stop      chan struct{} // closed by Close to end pruneLoop
	pruned    chan struct{} // closed when pruneLoop has returned
	closeOnce sync.Once
	closeErr  error
}

// Open opens the database named by databaseURL, creating it and its tables if
// needed. databaseURL is a file path (./data/agenda.db) or a sqlite: URL
// (sqlite:./data/agenda.db, sqlite:///var/lib/agenda/agenda.db). pub receives
// each committed change; it may be nil.
func Open(ctx context.Context, databaseURL string, pub agenda.Publisher) (*Store, error) {
	return open(ctx, databaseURL, pub, time.Now)
}

// open is Open with a clock, so tests can expire keys and sessions.
func open(ctx context.Context, databaseURL string, pub agenda.Publisher, now func() time.Time) (*Store, error) {
	path, err := sqlitePath(databaseURL)
	if err != nil {
		return nil, err
	}
	writer, reader, err := openSQLite(ctx, path)
	if err != nil {
		return nil, err
	}
	s := &Store{
		writer:  writer,
		reader:  reader,
		pub:     pub,
		now:     now,
		writing: make(chan struct{}, 1),
		stop:    make(chan struct{}),
		pruned:  make(chan struct{}),
	}
	if err := writer.WithContext(ctx).AutoMigrate(&eventRow{}, &idempotencyRow{}, &sessionRow{}); err != nil {
		closeGORM(writer)
		closeGORM(reader)
		return nil, fmt.Errorf("store: create tables: %w", err)
	}
	if err := s.prune(ctx); err != nil {
		closeGORM(writer)
		closeGORM(reader)
		return nil, err
	}
	go s.pruneLoop()
	return s, nil
}

// Close stops the pruning and closes the database. It is safe to call more
// than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.pruned
		if err := errors.Join(closeGORM(s.writer), closeGORM(s.reader)); err != nil {
			s.closeErr = fmt.Errorf("store: close: %w", err)
		}
	})
	return s.closeErr
}

// Ping checks that the database answers queries, for readiness probes.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.reader.WithContext(ctx).Raw("SELECT 1").Scan(&one).Error; err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// write runs fn in a transaction on the writer connection and, once it has
// committed, publishes the change fn returned (if any). The critical section
// spans commit and publish, so subscribers receive changes in commit order and
// a rolled-back transaction publishes nothing.
func (s *Store) write(ctx context.Context, fn func(tx *gorm.DB) (*agenda.Change, error)) error {
	select {
	case s.writing <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.writing }()

	var change *agenda.Change
	err := s.writer.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		change, err = fn(tx)
		return err
	})
	if err != nil {
		return err
	}
	if change != nil && s.pub != nil {
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
