package realtime

import "time"

// SetKeepAlive shortens the keep-alive timing so that tests can watch pings
// and silent clients. Call it before the first connection.
func (h *Hub) SetKeepAlive(pingPeriod, pongWait time.Duration) {
	h.pingPeriod, h.pongWait = pingPeriod, pongWait
}
