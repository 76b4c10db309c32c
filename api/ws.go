package api

import (
	"context"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/agenda-gpt/agenda"
)

// handleWebSocket upgrades to the live feed of the caller's changes. The
// snapshot covers the window the client asks for (from, to), by default from
// the start of today in the earliest time zone, so "today" is whole anywhere.
func (s *server) handleWebSocket(c echo.Context) error {
	if err := requireScope(c, identity(c), agenda.ScopeRead); err != nil {
		return err
	}
	from, err := queryTime(c, "from")
	if err != nil {
		return err
	}
	to, err := queryTime(c, "to")
	if err != nil {
		return err
	}
	if from == nil {
		t := startOfToday(time.Now())
		from = &t
	}
	userID := identity(c).UserID
	// One page at a time: the hub encodes each event as it comes, and
	// stops at its bounds, so only a page and the message are held, however
	// many and large the events.
	snapshot := func(ctx context.Context, yield func(agenda.Event) bool) error {
		q := agenda.ListQuery{From: from, To: to, Limit: agenda.MaxLimit}
		for {
			page, err := s.Events.ListEvents(ctx, userID, q)
			if err != nil {
				return err
			}
			for _, ev := range page.Events {
				if !yield(ev) {
					return nil
				}
			}
			if page.NextCursor == "" {
				return nil
			}
			q.Cursor = page.NextCursor
		}
	}
	if err := s.Hub.Admit(c.Request()); err != nil {
		if agenda.ErrorCode(err) == agenda.EUNAVAILABLE {
			s.Logger.Warn("websocket refused", "user", userID, "reason", agenda.ErrorMessage(err))
		}
		return err
	}
	// The hub answers for itself from here: after the upgrade the
	// connection is no longer HTTP, so an error is only logged.
	if err := s.Hub.Serve(c.Response(), c.Request(), userID, snapshot); err != nil {
		s.Logger.Info("websocket not served", "user", userID, "err", err)
	}
	return nil
}

// startOfToday is midnight of today's date at UTC+14, the earliest zone, so
// the window includes all of today wherever the user is.
func startOfToday(now time.Time) time.Time {
	zone := time.FixedZone("UTC+14", 14*3600)
	n := now.In(zone)
	return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, zone)
}

// queryTime reads an optional date-time query parameter.
func queryTime(c echo.Context, name string) (*time.Time, error) {
	v := c.QueryParam(name)
	return agenda.OptionalTime(name, &v)
}
