package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/agenda-gpt/agenda"
)

// eventList is the listEvents response.
type eventList struct {
	Events     []agenda.Event `json:"events"`
	NextCursor string         `json:"next_cursor"`
}

// newEventBody and eventPatchBody are the request bodies as the spec
// describes them. Times arrive as strings the spec has already checked.
type newEventBody struct {
	Title     string  `json:"title"`
	Start     string  `json:"start"`
	End       *string `json:"end"`
	TimeZone  string  `json:"time_zone"`
	AllDay    bool    `json:"all_day"`
	Location  string  `json:"location"`
	Notes     string  `json:"notes"`
	RequestID string  `json:"request_id"`
}

type eventPatchBody struct {
	Title    *string `json:"title"`
	Start    *string `json:"start"`
	End      *string `json:"end"`
	TimeZone *string `json:"time_zone"`
	AllDay   *bool   `json:"all_day"`
	Location *string `json:"location"`
	Notes    *string `json:"notes"`
}

func (s *server) handleListEvents(c echo.Context) error {
	q := agenda.ListQuery{Text: c.QueryParam("q"), Cursor: c.QueryParam("cursor")}
	var err error
	if q.From, err = optionalTime("from", c.QueryParam("from")); err != nil {
		return err
	}
	if q.To, err = optionalTime("to", c.QueryParam("to")); err != nil {
		return err
	}
	if q.From != nil && q.To != nil && !q.From.Before(*q.To) {
		return agenda.Errorf(agenda.EINVALID, "from must be before to; send a window such as from=2026-12-01T00:00:00+01:00&to=2026-12-08T00:00:00+01:00")
	}
	if v := c.QueryParam("limit"); v != "" {
		if err := echo.QueryParamsBinder(c).Int("limit", &q.Limit).BindError(); err != nil {
			return agenda.Errorf(agenda.EINVALID, "query parameter limit must be a whole number from 1 to %d", agenda.MaxLimit)
		}
	}
	page, err := s.Events.ListEvents(c.Request().Context(), identity(c).UserID, q)
	if err != nil {
		return err
	}
	if page.Events == nil {
		page.Events = []agenda.Event{}
	}
	return writeJSON(c, http.StatusOK, eventList{Events: page.Events, NextCursor: page.NextCursor})
}

func (s *server) handleCreateEvent(c echo.Context) error {
	var body newEventBody
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	in := agenda.NewEvent{
		Title: body.Title, TimeZone: body.TimeZone, AllDay: body.AllDay,
		Location: body.Location, Notes: body.Notes, RequestID: body.RequestID,
	}
	if in.RequestID == "" {
		in.RequestID = c.Request().Header.Get("Idempotency-Key")
	}
	var err error
	if in.Start, err = parseTime("start", body.Start); err != nil {
		return err
	}
	if body.End != nil {
		end, err := parseTime("end", *body.End)
		if err != nil {
			return err
		}
		in.End = &end
	}
	ev, replayed, err := s.Events.CreateEvent(c.Request().Context(), identity(c).UserID, in)
	if err != nil {
		return err
	}
	if replayed {
		c.Response().Header().Set("Idempotent-Replayed", "true")
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/events/"+ev.ID)
	return writeJSON(c, http.StatusCreated, ev)
}

func (s *server) handleGetEvent(c echo.Context) error {
	ev, err := s.Events.GetEvent(c.Request().Context(), identity(c).UserID, c.Param("id"))
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, ev)
}

func (s *server) handleUpdateEvent(c echo.Context) error {
	var body eventPatchBody
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	p := agenda.EventPatch{Title: body.Title, TimeZone: body.TimeZone, AllDay: body.AllDay, Location: body.Location, Notes: body.Notes}
	if body.Start != nil {
		start, err := parseTime("start", *body.Start)
		if err != nil {
			return err
		}
		p.Start = &start
	}
	if body.End != nil {
		if *body.End == "" {
			p.ClearEnd = true
		} else {
			end, err := parseTime("end", *body.End)
			if err != nil {
				return err
			}
			p.End = &end
		}
	}
	ev, err := s.Events.UpdateEvent(c.Request().Context(), identity(c).UserID, c.Param("id"), p)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, ev)
}

func (s *server) handleDeleteEvent(c echo.Context) error {
	if err := s.Events.DeleteEvent(c.Request().Context(), identity(c).UserID, c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// decodeBody reads a JSON body the validator has already checked.
func decodeBody(c echo.Context, v any) error {
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return agenda.Errorf(agenda.EINVALID, "the body is not a valid JSON object for this operation; see /openapi.yaml")
	}
	return nil
}

func parseTime(field, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, agenda.Errorf(agenda.EINVALID, "%s must be an RFC 3339 date-time with a UTC offset, like 2026-12-01T09:00:00+01:00", field)
	}
	return t, nil
}

func optionalTime(field, v string) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	t, err := parseTime(field, v)
	return &t, err
}
