// Package realtime pushes each committed change of a person's agenda to that
// person's open browser tabs over WebSocket, and to no one else. It owns the
// per-user rooms, the connection pumps and the wire protocol:
//
//	{"type":"snapshot","events":[...]}         first message, and after a resync
//	{"type":"event.created","event":{...}}     then one message per change,
//	{"type":"event.updated","event":{...}}     in commit order
//	{"type":"event.deleted","event":{...}}
//
// A connection joins its user's room before its snapshot is read, so no
// change can fall between the two; a change already in the snapshot may come
// again, and clients upsert by id. Live changes are not limited to the
// snapshot's window: a client drops what falls outside the window it shows.
//
// The server closes a connection with 1001 when it shuts down, 1013 when the
// client fell behind, 1011 when its snapshot could not be loaded and 1009
// when the client sent more than a few hundred bytes. On any close the client
// reconnects, with backoff, and starts again from a fresh snapshot.
package realtime

import (
	"errors"
	"time"

	"github.com/agenda-gpt/agenda"
)

// TypeSnapshot is the Type of a message carrying the whole agenda window.
// Every other message's Type is an agenda.ChangeType.
const TypeSnapshot = "snapshot"

// Message is one WebSocket text message from the server. A snapshot carries
// Events (never null, possibly empty); a change carries Event. For
// event.deleted, Event is reliable only for its id.
type Message struct {
	Type   string         `json:"type"`
	Event  *agenda.Event  `json:"event,omitzero"`
	Events []agenda.Event `json:"events,omitzero"`
}

// Errors Serve returns once it has answered the request itself.
var (
	ErrOriginNotAllowed = errors.New("realtime: origin not allowed")
	ErrClosed           = errors.New("realtime: hub closed")
	ErrTooSlow          = errors.New("realtime: client too slow; dropped")
)

const (
	// writeWait bounds one write to a client, snapshot included.
	writeWait = 10 * time.Second

	// pongWait is how long a client may stay silent: browsers answer every
	// ping with a pong, so silence means the connection is gone.
	pongWait = 60 * time.Second

	// pingPeriod must be shorter than pongWait.
	pingPeriod = pongWait * 9 / 10

	// maxMessageSize limits what a client may send. Clients have nothing to
	// say on this socket; the limit only has to admit a close frame.
	maxMessageSize = 512

	// closeGrace is how long a closing connection gets to deliver its close
	// frame and hear the client's reply before the socket is cut.
	closeGrace = time.Second

	// snapshotTimeout bounds a snapshot query.
	snapshotTimeout = 10 * time.Second

	// Small buffers let one process hold tens of thousands of idle
	// connections: the read buffer only ever holds pongs and close frames,
	// and a write buffer is borrowed from a pool for one write at a time
	// (a longer message follows it in the same system call).
	readBufferSize  = 256
	writeBufferSize = 1024

	defaultQueueSize = 64
)
