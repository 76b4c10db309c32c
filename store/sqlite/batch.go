package sqlite

import (
	"context"
	"fmt"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/agenda-gpt/agenda"
	"gorm.io/gorm"
)

// Group commit, for SQLite. SQLite commits one transaction at a time, and
// committing costs more than the insert it carries (BEGIN IMMEDIATE, the
// WAL frames, the wal-index), so under load the single writer, not the CPU,
// caps the writes per second. Writes that arrive while one is committing
// therefore queue, and the next writer to hold the lock runs the queue in
// one transaction: each write inside its own SAVEPOINT, so that one that
// fails is rolled back alone, and one COMMIT for all of them. Each write
// is answered only after that COMMIT, and the changes are published in
// commit order, as they always were.

// maxBatch bounds the writes that share a transaction, and so the wait a
// write can add to the others.
const maxBatch = 64

// writeQueue holds the writes waiting for the SQLite writer.
type writeQueue struct {
	lock chan struct{} // one token, held by the goroutine that commits

	mu      sync.Mutex
	pending []*pendingWrite
}

func newWriteQueue() *writeQueue {
	return &writeQueue{lock: make(chan struct{}, 1)}
}

// pendingWrite is one caller's write and, once done is closed, its outcome.
type pendingWrite struct {
	ctx    context.Context
	fn     func(tx *gorm.DB) (*agenda.Change, error)
	state  atomic.Int32 // queued, then taken or abandoned
	change *agenda.Change
	err    error
	done   chan struct{}
}

const (
	queued int32 = iota
	taken
	abandoned
)

// writeGrouped queues fn, then either finds it done by the goroutine that
// holds the writer or takes the writer itself and commits the queue, in
// batches, until fn's batch has committed.
func (s *engine) writeGrouped(ctx context.Context, fn func(tx *gorm.DB) (*agenda.Change, error)) error {
	q := s.writes
	w := &pendingWrite{ctx: ctx, fn: fn, done: make(chan struct{})}
	q.mu.Lock()
	q.pending = append(q.pending, w)
	q.mu.Unlock()

	select {
	case <-w.done:
	case q.lock <- struct{}{}:
		func() {
			defer func() { <-q.lock }()
			for !isClosed(w.done) {
				s.commitBatch(q.take())
			}
		}()
	case <-ctx.Done():
		if w.state.CompareAndSwap(queued, abandoned) {
			return ctx.Err()
		}
		<-w.done // already running: its outcome stands
	}
	return w.err
}

// take removes up to maxBatch writes from the head of the queue, skipping
// those whose callers gave up.
func (q *writeQueue) take() []*pendingWrite {
	q.mu.Lock()
	defer q.mu.Unlock()
	var batch []*pendingWrite
	n := 0
	for ; n < len(q.pending) && len(batch) < maxBatch; n++ {
		if w := q.pending[n]; w.state.CompareAndSwap(queued, taken) {
			batch = append(batch, w)
		}
	}
	q.pending = q.pending[n:]
	if len(q.pending) == 0 {
		q.pending = nil // let the backing array go
	}
	return batch
}

// commitBatch runs the writes in one transaction, then publishes their
// changes in order and answers each caller.
func (s *engine) commitBatch(batch []*pendingWrite) {
	if len(batch) == 0 {
		return
	}
	defer func() {
		for _, w := range batch {
			close(w.done)
		}
	}()
	// The transaction belongs to the batch, not to the request that happens
	// to run it, so it is not cancelled with that request. A context that
	// cannot be cancelled also spares the SQLite driver a goroutine per
	// statement (it watches cancellable ones to interrupt them); the busy
	// timeout bounds a statement instead.
	ctx := context.WithoutCancel(batch[0].ctx)
	err := s.writer.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if w := batch[0]; len(batch) == 1 { // alone: no savepoint needed
			if w.err = w.ctx.Err(); w.err == nil {
				w.change, w.err = runWrite(w, tx)
			}
			return w.err
		}
		for i, w := range batch {
			if err := w.ctx.Err(); err != nil {
				w.err = err // given up before its turn: not run
				continue
			}
			sp := "w" + strconv.Itoa(i)
			if err := tx.SavePoint(sp).Error; err != nil {
				return err
			}
			if w.change, w.err = runWrite(w, tx); w.err != nil {
				if err := tx.RollbackTo(sp).Error; err != nil {
					return err
				}
			}
		}
		return nil
	})
	for _, w := range batch {
		if w.err == nil {
			w.err = err // the commit failed: none of the batch happened
		}
		if w.err != nil {
			w.change = nil
		}
	}
	if s.pub == nil {
		return
	}
	for _, w := range batch {
		if w.change != nil {
			s.pub.Publish(*w.change)
		}
	}
}

// runWrite runs one write, turning a panic into its error so that the
// others in the batch, and the writer lock, are not lost with it.
func runWrite(w *pendingWrite, tx *gorm.DB) (change *agenda.Change, err error) {
	defer func() {
		if r := recover(); r != nil {
			change, err = nil, fmt.Errorf("store: panic in a write: %v\n%s", r, debug.Stack())
		}
	}()
	return w.fn(tx)
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
