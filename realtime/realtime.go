// Package realtime pushes each committed change of a person's agenda to that
// person's open browser tabs over WebSocket, and to no one else. It owns the
// per-user rooms, the connection pumps and the wire protocol:
//
//	{"type":"snapshot","events":[...]}         first message, and after a resync
//	                                           ("truncated":true if cut at SnapshotMaxBytes)
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
// client fell behind or the server is too busy to build its snapshot, 1011
// when its snapshot could not be loaded and 1009 when the client sent more
// than a few hundred bytes. On any of those the client reconnects, with
// backoff, and starts again from a fresh snapshot. 4001
// (CloseTooManyConnections) closes a user's oldest connection when a newer
// one would pass the per-user cap: that tab should not reconnect by itself,
// or two tabs would take turns closing each other.
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
	Type      string         `json:"type"`
	Event     *agenda.Event  `json:"event,omitzero"`
	Events    []agenda.Event `json:"events,omitzero"`
	Truncated bool           `json:"truncated,omitzero"` // the snapshot holds only its earliest events
}

// CloseTooManyConnections is the close code of a user's oldest connection,
// closed because the user opened more than MaxPerUser.
const CloseTooManyConnections = 4001

// Errors Serve returns after the connection was upgraded. Refusals before
// it are *agenda.Error, for the caller to answer.
var (
	ErrClosed  = errors.New("realtime: hub closed")
	ErrTooSlow = errors.New("realtime: client too slow; dropped")
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

	// snapshotWait bounds the wait for a turn to build one (snapshotsPerUser,
	// SnapshotMemory); past it the client is told to reconnect (1013).
	snapshotWait = 30 * time.Second

	// Small buffers let one process hold tens of thousands of idle
	// connections: the read buffer only ever holds pongs and close frames,
	// and a write buffer is borrowed from a pool for one write at a time
	// (a longer message follows it in the same system call).
	readBufferSize  = 256
	writeBufferSize = 1024

	defaultQueueSize = 64

	// DefaultMaxPerUser is Options.MaxPerUser's default: more tabs than
	// anyone keeps open, few enough that one user cannot hold the
	// server's sockets.
	DefaultMaxPerUser = 20

	// SnapshotMaxBytes bounds one snapshot message: about 240 events of
	// the largest size, or thousands of ordinary ones.
	SnapshotMaxBytes = 4 << 20

	// SnapshotMaxEvents bounds it in events: a window with more is cut to
	// its earliest ones, and says so, like one cut at SnapshotMaxBytes.
	SnapshotMaxEvents = 1000

	// snapshotsPerUser is how many of one user's snapshots are built at
	// once; the others wait. One user's tabs, however many and however
	// slow to read, then hold at most this share of SnapshotMemory.
	snapshotsPerUser = 2

	// defaultSnapshotMemory is Options.SnapshotMemory's default.
	defaultSnapshotMemory = 64 << 20
)

// snapshotReserve is what one snapshot being built may hold: the message,
// and a page of events read from the store while it grows.
const snapshotReserve = 2 * SnapshotMaxBytes
