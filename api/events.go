package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/agenda-gpt/agenda"
)

func (s *server) handleListEvents(c echo.Context) error {
	q := agenda.ListQuery{Text: c.QueryParam("q"), Cursor: c.QueryParam("cursor")}
	var err error
	if q.From, err = queryTime(c, "from"); err != nil {
		return err
	}
	if q.To, err = queryTime(c, "to"); err != nil {
		return err
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
	b, err := page.MarshalJSON()
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, b)
}

func (s *server) handleCreateEvent(c echo.Context) error {
	var body agenda.NewEventInput
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	in, err := body.Parse()
	if err != nil {
		return err
	}
	if in.RequestID == "" {
		in.RequestID = c.Request().Header.Get("Idempotency-Key")
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
	var body agenda.EventPatchInput
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	p, err := body.Parse()
	if err != nil {
		return err
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

// queryTime reads an optional date-time query parameter.
func queryTime(c echo.Context, name string) (*time.Time, error) {
	v := c.QueryParam(name)
	return agenda.OptionalTime(name, &v)
}
