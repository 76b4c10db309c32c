package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/agenda-gpt/agenda"
	"github.com/jackc/pgx/v5"
)

// Resyncer is a Publisher that can tell its subscribers to reload
// everything, for when changes may have been missed. realtime.Hub is one.
type Resyncer interface {
	Resync()
}

const (
	// listenIdle is how long the listener waits for a notification before
	// it checks that its connection still answers: a connection cut without
	// a word (a dropped route, a dead host) would otherwise wait forever.
	listenIdle = 30 * time.Second
	// listenTimeout bounds connecting and LISTEN, a ping, and reading an
	// event too large for its notification.
	listenTimeout = 10 * time.Second
	// Reconnection backs off from minBackoff to maxBackoff.
	minBackoff = 100 * time.Millisecond
	maxBackoff = 10 * time.Second
)

// listener holds this process's LISTEN connection: it hands every change
// announced on changesChannel, by any replica, to the Publisher, in the order
// PostgreSQL delivers them, which is commit order. When the connection drops
// it reconnects with backoff and, since changes committed meanwhile were
// never delivered, asks the Publisher to resync.
type listener struct {
	config *pgx.ConnConfig
	pub    agenda.Publisher
	get    func(ctx context.Context, userID, id string) (agenda.Event, error)
	logger *slog.Logger
	idle   time.Duration // listenIdle; shorter in tests

	cancel context.CancelFunc
	done   chan struct{} // closed when run has returned
}

func newListener(config *pgx.ConnConfig, pub agenda.Publisher,
	get func(ctx context.Context, userID, id string) (agenda.Event, error), logger *slog.Logger) *listener {
	return &listener{config: config, pub: pub, get: get, logger: logger, idle: listenIdle, done: make(chan struct{})}
}

// start connects and starts listening. It returns once LISTEN is in force,
// so every change committed after Open returns reaches pub.
func (l *listener) start(ctx context.Context) error {
	conn, err := l.connect(ctx)
	if err != nil {
		return fmt.Errorf("store: listen for changes: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	go l.run(runCtx, conn)
	return nil
}

// close stops listening and waits until the connection is closed.
func (l *listener) close() {
	l.cancel()
	<-l.done
}

func (l *listener) run(ctx context.Context, conn *pgx.Conn) {
	defer close(l.done)
	for {
		err := l.receive(ctx, conn)
		closeConn(conn)
		if ctx.Err() != nil {
			return
		}
		l.logger.Warn("store: lost the PostgreSQL change notifications; reconnecting", "err", err)
		if conn = l.reconnect(ctx); conn == nil {
			return
		}
		// Listening again: whatever committed from now on arrives, and a
		// snapshot loaded after this covers what came before.
		l.logger.Info("store: change notifications back; resyncing subscribers")
		if r, ok := l.pub.(Resyncer); ok {
			r.Resync()
		}
	}
}

// reconnect connects again, at once and then with growing, jittered waits,
// until it succeeds or ctx ends (nil).
func (l *listener) reconnect(ctx context.Context) *pgx.Conn {
	backoff := minBackoff
	for {
		conn, err := l.connect(ctx)
		if err == nil {
			return conn
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		l.logger.Warn("store: cannot listen for changes yet", "err", err, "retry_in", wait)
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

func (l *listener) connect(ctx context.Context) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, listenTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, l.config)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+changesChannel); err != nil {
		closeConn(conn)
		return nil, err
	}
	return conn, nil
}

// receive delivers notifications until the connection fails or ctx ends.
func (l *listener) receive(ctx context.Context, conn *pgx.Conn) error {
	for {
		wait, cancel := context.WithTimeout(ctx, l.idle)
		n, err := conn.WaitForNotification(wait)
		cancel()
		if n != nil {
			l.deliver(ctx, n.Payload)
		}
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			// Quiet for a while: make sure the silence is not a dead
			// connection. pgx keeps notifications that arrive meanwhile.
			ping, cancel := context.WithTimeout(ctx, listenTimeout)
			err = conn.Ping(ping)
			cancel()
			if err != nil {
				return fmt.Errorf("ping: %w", err)
			}
		default:
			return err
		}
	}
}

// deliver publishes the change a notification carries. Payloads are never
// logged: they hold the content of people's agendas.
func (l *listener) deliver(ctx context.Context, payload string) {
	c, complete, err := decodeNotice(payload)
	if err != nil {
		l.logger.Error("store: unreadable change notification", "err", err, "bytes", len(payload))
		return
	}
	if !complete && c.Type != agenda.EventDeleted {
		ctx, cancel := context.WithTimeout(ctx, listenTimeout)
		e, err := l.get(ctx, c.Event.UserID, c.Event.ID)
		cancel()
		switch {
		case agenda.ErrorCode(err) == agenda.ENOTFOUND:
			return // deleted since: its deletion follows
		case err != nil:
			// The change cannot be sent as it is; subscribers reload.
			l.logger.Error("store: read a changed event", "err", err, "event", c.Event.ID)
			if r, ok := l.pub.(Resyncer); ok {
				r.Resync()
			}
			return
		}
		c.Event = e
	}
	l.pub.Publish(c)
}

func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn.Close(ctx)
}
