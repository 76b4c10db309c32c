package agenda

import "time"

// NewEventInput is a create request as clients send it: the NewEvent schema
// of openapi.yaml, received by the API's createEvent and the MCP
// create_event tool alike.
type NewEventInput struct {
	Title     string  `json:"title"`
	Start     string  `json:"start"`
	End       *string `json:"end"`
	TimeZone  string  `json:"time_zone"`
	AllDay    bool    `json:"all_day"`
	Location  string  `json:"location"`
	Notes     string  `json:"notes"`
	RequestID string  `json:"request_id"`
}

// Parse reads the times; the rules are checked by NewEvent.Event.
func (in NewEventInput) Parse() (NewEvent, error) {
	e := NewEvent{
		Title: in.Title, TimeZone: in.TimeZone, AllDay: in.AllDay,
		Location: in.Location, Notes: in.Notes, RequestID: in.RequestID,
	}
	var err error
	if e.Start, err = ParseTime("start", in.Start); err != nil {
		return NewEvent{}, err
	}
	if e.End, err = OptionalTime("end", in.End); err != nil {
		return NewEvent{}, err
	}
	return e, nil
}

// EventPatchInput is a partial update as clients send it (the EventPatch
// schema): an empty end removes the end.
type EventPatchInput struct {
	Title    *string `json:"title"`
	Start    *string `json:"start"`
	End      *string `json:"end"`
	TimeZone *string `json:"time_zone"`
	AllDay   *bool   `json:"all_day"`
	Location *string `json:"location"`
	Notes    *string `json:"notes"`
}

// Parse reads the times; the rules are checked by Event.Patched.
func (in EventPatchInput) Parse() (EventPatch, error) {
	p := EventPatch{Title: in.Title, TimeZone: in.TimeZone, AllDay: in.AllDay, Location: in.Location, Notes: in.Notes}
	var err error
	if p.Start, err = OptionalTime("start", in.Start); err != nil {
		return EventPatch{}, err
	}
	if in.End != nil && *in.End == "" {
		p.ClearEnd = true
	} else if p.End, err = OptionalTime("end", in.End); err != nil {
		return EventPatch{}, err
	}
	return p, nil
}

// ParseTime reads an RFC 3339 date-time that must carry a UTC offset.
func ParseTime(field, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, Errorf(EINVALID, "%s must be an RFC 3339 date-time with a UTC offset, like 2026-12-01T09:00:00+01:00", field)
	}
	return t, CheckTime(field, t)
}

// OptionalTime is ParseTime for a field that may be absent (nil or empty).
func OptionalTime(field string, v *string) (*time.Time, error) {
	if v == nil || *v == "" {
		return nil, nil
	}
	t, err := ParseTime(field, *v)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// MissingScope is the error for a token without the scope an operation
// needs, worded for the model, which tells the user.
func MissingScope(scope string) *Error {
	return Errorf(EFORBIDDEN, "the access token lacks the %s scope; ask for it when signing in (scope: read write), and check that the user's Logto role grants it", scope)
}
