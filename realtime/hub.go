package realtime

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"golang.org/x/sync/semaphore"

	"github.com/agenda-gpt/agenda"
)

// Options configure a Hub. The zero value admits pages from the server's own
// host and queues up to 64 messages per connection.
type Options struct {
	// AllowedOrigins are the origins, like "https://agenda.example.com",
	// whose pages may open the socket; any other page is refused, so that a
	// site the person visits cannot read their agenda through their cookie.
	// Empty admits only pages whose origin has the request's own host. A
	// request without an Origin header comes from no browser page and is
	// admitted.
	AllowedOrigins []string

	// QueueSize is how many messages may wait for one connection before it
	// is dropped as too slow. Zero means 64.
	QueueSize int

	// MaxPerUser caps one user's connections (WS_MAX_CONNECTIONS_PER_USER):
	// a new one past it closes the user's oldest with
	// CloseTooManyConnections. Zero means DefaultMaxPerUser.
	MaxPerUser int

	// MaxConnections caps all connections, to stay clear of the process's
	// file descriptor limit: past it, Serve refuses with EUNAVAILABLE.
	// Zero means no cap.
	MaxConnections int

	// SnapshotMemory bounds the memory of the snapshots being built at
	// once; a connection waits for its share. Zero means 64 MiB.
	SnapshotMemory int64
}

// Hub keeps each user's open connections in a room and fans every change out
// to its owner's room only. It is the store's agenda.Publisher.
//
// Unlike gorilla's chat example, a mutex guards the rooms instead of a hub
// goroutine owning them: Publish runs on the store's goroutine and must
// neither block nor reorder, and a channel to a hub goroutine could only
// promise one of the two. Under the lock Publish does nothing that waits.
type Hub struct {
	origins        map[string]bool
	queueSize      int
	maxPerUser     int
	maxConnections int
	snapshots      *semaphore.Weighted // SnapshotMemory, in bytes
	upgrader       websocket.Upgrader

	// Keep-alive timing: the constants, shortened by tests.
	pingPeriod time.Duration
	pongWait   time.Duration

	mu       sync.Mutex
	rooms    map[string]map[*conn]struct{} // by user id
	building map[string]*userBuilds        // snapshots being built, by user id
	joined   uint64                        // connections ever registered: each one's order
	count    int                           // connections in rooms
	dropped  int                           // connections dropped as too slow
	closed   bool
	wg       sync.WaitGroup // one count per registered connection, until its goroutines end
}

var _ agenda.Publisher = (*Hub)(nil)

// NewHub returns a Hub ready to serve connections.
func NewHub(opts Options) *Hub {
	h := &Hub{
		origins:        make(map[string]bool, len(opts.AllowedOrigins)),
		queueSize:      opts.QueueSize,
		maxPerUser:     opts.MaxPerUser,
		maxConnections: opts.MaxConnections,
		pingPeriod:     pingPeriod,
		pongWait:       pongWait,
		rooms:          make(map[string]map[*conn]struct{}),
		building:       make(map[string]*userBuilds),
	}
	if h.queueSize <= 0 {
		h.queueSize = defaultQueueSize
	}
	if h.maxPerUser <= 0 {
		h.maxPerUser = DefaultMaxPerUser
	}
	memory := opts.SnapshotMemory
	if memory <= 0 {
		memory = defaultSnapshotMemory
	}
	h.snapshots = semaphore.NewWeighted(max(memory, snapshotReserve))
	for _, o := range opts.AllowedOrigins {
		h.origins[strings.ToLower(strings.TrimSuffix(o, "/"))] = true
	}
	h.upgrader = websocket.Upgrader{
		HandshakeTimeout: writeWait,
		ReadBufferSize:   readBufferSize,
		WriteBufferSize:  writeBufferSize,
		WriteBufferPool:  &sync.Pool{},
		// Serve has checked, and answers a refusal itself.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	return h
}

// Publish sends a committed change to its owner's open connections. It never
// waits for a connection: one whose queue is full is dropped, and its client
// resyncs when it reconnects. Changes reach each connection in the order
// Publish was called.
func (h *Hub) Publish(c agenda.Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	room := h.rooms[c.Event.UserID]
	if len(room) == 0 {
		return
	}
	// Encoded once, under the lock that orders the messages; every tab of
	// the user is sent the same bytes.
	event := c.Event // escapes only when someone is listening
	msg, err := encode(Message{Type: string(c.Type), Event: &event})
	for conn := range room {
		if err != nil {
			// A change that cannot be sent must not be lost silently:
			// the tabs reconnect and reload.
			h.dropLocked(conn, websocket.CloseInternalServerErr, "could not send a change; reconnect", err)
			continue
		}
		select {
		case conn.send <- &msg:
		default:
			h.dropped++
			h.dropLocked(conn, websocket.CloseTryAgainLater, "too slow; reconnect to resync", ErrTooSlow)
		}
	}
}

// Resync makes every connection load and send a fresh snapshot: for when
// changes may have gone unpublished, as after the database's notification
// stream reconnected. It does not wait for the snapshots.
func (h *Hub) Resync() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, room := range h.rooms {
		for c := range room {
			select {
			case c.resync <- struct{}{}:
			default: // one is pending already
			}
		}
	}
}

// Close closes every connection with 1001 (going away) and waits until they
// have ended; from then on Serve refuses connections. http.Server.Shutdown
// does not track upgraded connections: call Close after it.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	for _, room := range h.rooms {
		for c := range room {
			h.dropLocked(c, websocket.CloseGoingAway, "server shutting down", nil)
		}
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// register adds c to its user's room, unless the hub is closed or full
// (handshakes admitted together may have passed admit at once). A room at
// its cap makes room by closing its oldest connection.
func (h *Hub) register(c *conn) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	if h.maxConnections > 0 && h.count >= h.maxConnections && len(h.rooms[c.userID]) < h.maxPerUser {
		return agenda.Errorf(agenda.EUNAVAILABLE, "the server holds as many live connections as it can; try again shortly")
	}
	room := h.rooms[c.userID]
	if room == nil {
		room = make(map[*conn]struct{}, 1)
		h.rooms[c.userID] = room
	}
	for len(room) >= h.maxPerUser {
		var oldest *conn
		for other := range room {
			if oldest == nil || other.order < oldest.order {
				oldest = other
			}
		}
		h.dropLocked(oldest, CloseTooManyConnections, "too many open connections; this was the oldest, reload to use it again", nil)
	}
	h.joined++
	c.order = h.joined
	room[c] = struct{}{}
	h.count++
	h.wg.Add(1)
	return nil
}

// userSnapshots is userID's share of the snapshot builds; done gives the
// entry back, forgotten once nobody holds it.
func (h *Hub) userSnapshots(userID string) (sem *semaphore.Weighted, done func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	b := h.building[userID]
	if b == nil {
		b = &userBuilds{sem: semaphore.NewWeighted(snapshotsPerUser)}
		h.building[userID] = b
	}
	b.holders++
	return b.sem, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if b.holders--; b.holders == 0 {
			delete(h.building, userID)
		}
	}
}

type userBuilds struct {
	sem     *semaphore.Weighted
	holders int
}

func (h *Hub) unregister(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.removeLocked(c)
}

// dropLocked takes c out of its room at once, so that nothing more is queued
// for it, and asks it to close.
func (h *Hub) dropLocked(c *conn, code int, reason string, err error) {
	h.removeLocked(c)
	c.close(code, reason, err)
}

func (h *Hub) removeLocked(c *conn) {
	room := h.rooms[c.userID]
	if _, ok := room[c]; !ok {
		return
	}
	delete(room, c)
	if len(room) == 0 {
		delete(h.rooms, c.userID)
	}
	h.count--
}

// admit refuses a connection the hub will not take, before the upgrade.
func (h *Hub) admit() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return agenda.Errorf(agenda.EUNAVAILABLE, "the server is shutting down; reconnect shortly")
	case h.maxConnections > 0 && h.count >= h.maxConnections:
		return agenda.Errorf(agenda.EUNAVAILABLE, "the server holds as many live connections as it can; try again shortly")
	}
	return nil
}

// originAllowed defends against cross-site WebSocket hijacking: browsers
// send cookies with a cross-site upgrade, and only the Origin header tells
// such a request apart.
func (h *Hub) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if len(h.origins) == 0 {
		u, err := url.Parse(origin)
		return err == nil && strings.EqualFold(u.Host, r.Host)
	}
	return h.origins[strings.ToLower(origin)]
}

// originText is an Origin header as a message may show it.
func originText(origin string) string {
	if len(origin) > 100 || !utf8.ValidString(origin) {
		return "(unreadable)"
	}
	return strconv.Quote(origin)
}

// encode returns m's wire form.
func encode(m Message) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("realtime: encode %s: %w", m.Type, err)
	}
	return b, nil
}
