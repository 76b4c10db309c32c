package realtime

import "time"

// SetKeepAlive shortens the keep-alive timing so that tests can watch pings
// and silent clients. Call it before the first connection.
func (h *Hub) SetKeepAlive(pingPeriod, pongWait time.Duration) {
	h.pingPeriod, h.pongWait = pingPeriod, pongWait
}

// Connections, UserConnections and Dropped let the tests watch the rooms.

// Connections returns the number of connections receiving changes.
func (h *Hub) Connections() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.count
}

// UserConnections returns the number of userID's connections receiving
// changes.
func (h *Hub) UserConnections(userID string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.rooms[userID])
}

// Dropped returns how many connections were dropped for falling behind.
func (h *Hub) Dropped() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.dropped
}
