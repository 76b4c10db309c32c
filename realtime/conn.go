package realtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/agenda-gpt/agenda"
)

// Serve upgrades the request to a WebSocket that receives userID's changes.
// The caller has authenticated the request; snapshot loads the events the
// client asked for, and is called again on Resync.
//
// Serve returns once the client has its first snapshot. The connection then
// lives on two goroutines of its own until the client leaves, the hub drops
// it, or Close: ending the handler lets net/http free the buffers and the
// deep stack of the request's goroutine, which more than halves what an idle
// connection costs.
//
// snapshot passes the user's events to yield, earliest first, and stops
// when yield returns false; the hub stops it at SnapshotMaxBytes.
//
// Serve has always answered the request when it returns, so the caller must
// not write a response; call Admit first to answer refusals in the app's
// own format. A non-nil error is for the log: a refusal (Admit's), or a
// snapshot that could not be loaded. Later failures are not returned:
// Dropped counts the clients that fell behind, and a failed resync sends
// its client back through Serve.
func (h *Hub) Serve(w http.ResponseWriter, r *http.Request, userID string, snapshot func(ctx context.Context, yield func(agenda.Event) bool) error) error {
	if userID == "" || snapshot == nil {
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return errors.New("realtime: Serve needs a user and a snapshot function")
	}
	if err := h.Admit(r); err != nil {
		http.Error(w, agenda.ErrorMessage(err), refusalStatus[agenda.ErrorCode(err)])
		return err
	}
	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return fmt.Errorf("realtime: upgrade: %w", err)
	}

	// The connection outlives the request: it keeps the context's values,
	// not its cancellation or deadline.
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	c := &conn{
		hub:      h,
		ws:       ws,
		userID:   userID,
		snapshot: snapshot,
		cancel:   cancel,
		send:     make(chan *[]byte, h.queueSize),
		resync:   make(chan struct{}, 1),
		readDone: make(chan struct{}),
		closing:  make(chan struct{}),
	}
	// Join the room before loading the snapshot: a change committed after
	// the load is then queued, and none falls between the two.
	if err := h.register(c); err != nil {
		cancel()
		code, reason := websocket.CloseGoingAway, "server shutting down"
		if !errors.Is(err, ErrClosed) {
			code, reason = websocket.CloseTryAgainLater, "the server is full; reconnect later"
		}
		ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(closeGrace))
		ws.Close()
		return err
	}
	go c.readPump()
	if err := c.sendSnapshot(ctx); err != nil {
		err := c.finish()
		c.end()
		return err
	}
	go func() {
		c.writePump(ctx)
		c.end()
	}()
	return nil
}

// Admit says why the hub would refuse r, as an *agenda.Error, or nil:
// EINVALID for a request that is no WebSocket handshake, EFORBIDDEN for a
// refused origin, EUNAVAILABLE when the hub is closed or full.
func (h *Hub) Admit(r *http.Request) error {
	if !websocket.IsWebSocketUpgrade(r) {
		return agenda.Errorf(agenda.EINVALID, "this is the live feed's WebSocket endpoint; connect with a WebSocket client (new WebSocket(url) in a browser)")
	}
	if !h.originAllowed(r) {
		return agenda.Errorf(agenda.EFORBIDDEN, "pages from origin %s may not open this feed; add the origin to ALLOWED_ORIGINS if it is yours", originText(r.Header.Get("Origin")))
	}
	return h.admit()
}

// refusalStatus answers Admit's refusals when Serve is called without it.
var refusalStatus = map[string]int{
	agenda.EINVALID:     http.StatusBadRequest,
	agenda.EFORBIDDEN:   http.StatusForbidden,
	agenda.EUNAVAILABLE: http.StatusServiceUnavailable,
}

// errClosing stops a write pump that was asked to close.
var errClosing = errors.New("realtime: connection closing")

// conn is one client connection. Two goroutines serve it: the write pump,
// the only writer of data frames, and the read pump, which processes pongs
// and close frames and notices when the client is gone.
type conn struct {
	hub      *Hub
	ws       *websocket.Conn
	userID   string
	order    uint64 // the hub's count of connections when this one joined
	snapshot func(ctx context.Context, yield func(agenda.Event) bool) error
	cancel   context.CancelFunc // stops a snapshot being loaded

	send     chan *[]byte  // encoded messages shared by the user's tabs; one word a slot
	resync   chan struct{} // capacity 1: requests coalesce
	readDone chan struct{} // closed when the read pump has returned

	closeOnce sync.Once
	closing   chan struct{} // closed by close, after the fields below are set
	code      int
	reason    string
	err       error     // what Serve returns if this happens during it
	deadline  time.Time // for the close handshake; the socket is cut then
}

// close asks the write pump to end the connection with a close frame. It
// never blocks: if the pump is stuck writing to a client that stopped
// reading, the socket is cut at the deadline and the write fails.
func (c *conn) close(code int, reason string, err error) {
	c.closeOnce.Do(func() {
		c.code, c.reason, c.err = code, reason, err
		c.deadline = time.Now().Add(closeGrace)
		close(c.closing)
		c.cancel()
		time.AfterFunc(closeGrace, func() { c.ws.NetConn().Close() })
	})
}

// writePump sends the queued changes, fresh snapshots when asked and pings
// when idle, until the connection ends. It is the only writer of data
// frames.
func (c *conn) writePump(ctx context.Context) {
	ticker := time.NewTicker(c.hub.pingPeriod)
	defer ticker.Stop()
	for {
		var err error
		select {
		case msg := <-c.send:
			err = c.write(*msg)
		case <-c.resync:
			err = c.sendSnapshot(ctx)
		case <-ticker.C:
			err = c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait))
		case <-c.closing:
			c.finish()
			return
		case <-c.readDone:
			return
		}
		if err != nil {
			c.finish()
			return
		}
	}
}

// end releases the connection once the write pump is done with it.
func (c *conn) end() {
	c.hub.unregister(c)
	c.cancel()
	c.ws.Close() // ends the read pump
	<-c.readDone
	c.hub.wg.Done()
}

// sendSnapshot loads the user's events and sends them as one message of at
// most SnapshotMaxBytes, encoded as they are read, so a user with many
// large events costs a bounded buffer rather than all of them at once.
// The hub lets only SnapshotMemory's worth be built at a time. A failure
// to load them closes the connection so that the client retries.
func (c *conn) sendSnapshot(ctx context.Context) error {
	// The wait for a turn has its own bound; the load's starts after it.
	wait, cancelWait := context.WithTimeout(ctx, snapshotWait)
	defer cancelWait()
	mine, done := c.hub.userSnapshots(c.userID)
	defer done()
	if err := mine.Acquire(wait, 1); err != nil {
		c.close(websocket.CloseTryAgainLater, "the server is busy; reconnect", fmt.Errorf("realtime: waiting to build a snapshot: %w", err))
		return err
	}
	defer mine.Release(1)
	if err := c.hub.snapshots.Acquire(wait, snapshotReserve); err != nil {
		c.close(websocket.CloseTryAgainLater, "the server is busy; reconnect", fmt.Errorf("realtime: waiting to build a snapshot: %w", err))
		return err
	}
	defer c.hub.snapshots.Release(snapshotReserve)
	ctx, cancel := context.WithTimeout(ctx, snapshotTimeout)
	defer cancel()

	const head, tail, cut = `{"type":"snapshot","events":[`, `]}`, `],"truncated":true}`
	var buf bytes.Buffer
	buf.WriteString(head)
	var encodeErr error
	truncated, n := false, 0
	err := c.snapshot(ctx, func(ev agenda.Event) bool {
		if n == SnapshotMaxEvents {
			truncated = true
			return false
		}
		n++
		b, err := json.Marshal(ev)
		if err != nil {
			encodeErr = err
			return false
		}
		if buf.Len()+1+len(b)+len(cut) > SnapshotMaxBytes {
			truncated = true
			return false
		}
		if buf.Len() > len(head) {
			buf.WriteByte(',')
		}
		buf.Write(b)
		return true
	})
	if err == nil {
		err = encodeErr
	}
	if err != nil {
		select {
		case <-c.readDone: // the client left, which cancelled the load
		default:
			c.close(websocket.CloseInternalServerErr, "could not load the agenda; reconnect",
				fmt.Errorf("realtime: snapshot for user %s: %w", c.userID, err))
		}
		return err
	}
	select {
	case <-c.closing: // dropped while loading: the close frame comes next
		return errClosing
	default:
	}
	if truncated {
		buf.WriteString(cut)
	} else {
		buf.WriteString(tail)
	}
	return c.write(buf.Bytes())
}

// write sends one message as one frame. The frame header goes in a buffer
// borrowed from the hub's pool, and the message follows it in the same
// system call.
func (c *conn) write(msg []byte) error {
	c.ws.SetWriteDeadline(time.Now().Add(writeWait))
	return c.ws.WriteMessage(websocket.TextMessage, msg)
}

// finish sends the close frame that close asked for, if it was called, and
// returns its error; when the client is gone or unreachable there is nothing
// to send.
func (c *conn) finish() error {
	select {
	case <-c.closing:
	default:
		return nil
	}
	msg := websocket.FormatCloseMessage(c.code, c.reason)
	if c.ws.WriteControl(websocket.CloseMessage, msg, c.deadline) == nil {
		// Wait for the client's reply, so that it has read our frame
		// before the socket goes.
		t := time.NewTimer(time.Until(c.deadline))
		defer t.Stop()
		select {
		case <-c.readDone:
		case <-t.C:
		}
	}
	return c.err
}

// readPump reads until the connection fails. Clients have nothing to say:
// their messages are discarded, and reading is what answers pings, keeps
// the read deadline moving with each pong and hears the close frame.
func (c *conn) readPump() {
	defer func() {
		close(c.readDone)
		c.cancel() // stops a snapshot being loaded for a client that left
	}()
	c.ws.SetReadLimit(maxMessageSize)
	c.ws.SetReadDeadline(time.Now().Add(c.hub.pongWait))
	c.ws.SetPongHandler(func(string) error {
		return c.ws.SetReadDeadline(time.Now().Add(c.hub.pongWait))
	})
	for {
		if _, _, err := c.ws.NextReader(); err != nil {
			return
		}
	}
}
