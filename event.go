package agenda

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // IANA zones must resolve on minimal images too
	"unicode/utf8"
)

// eventJSON is the wire form of an Event, shared by the API, the WebSocket
// push and the MCP tools, and described by the Event schema in openapi.yaml.
type eventJSON struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	Start     string `json:"start"`
	End       string `json:"end,omitempty"`
	TimeZone  string `json:"time_zone"`
	AllDay    bool   `json:"all_day"`
	Location  string `json:"location"`
	Notes     string `json:"notes"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

// MarshalJSON renders start and end in the event's own time zone when it has
// one, so a model reads local times, and created_at/updated_at in UTC.
func (e Event) MarshalJSON() ([]byte, error) {
	loc := time.UTC
	if e.TimeZone != "" {
		if l, err := LoadZone(e.TimeZone); err == nil {
			loc = l
		}
	}
	w := eventJSON{
		ID:        e.ID,
		Title:     e.Title,
		Start:     e.Start.In(loc).Format(time.RFC3339),
		TimeZone:  e.TimeZone,
		AllDay:    e.AllDay,
		Location:  e.Location,
		Notes:     e.Notes,
		CreatedAt: e.CreatedAt.UTC().Format(time.RFC3339),
		UpdatedAt: e.UpdatedAt.UTC().Format(time.RFC3339),
	}
	if e.End != nil {
		w.End = e.End.In(loc).Format(time.RFC3339)
	}
	return json.Marshal(w)
}

// MarshalJSON writes the listEvents response, an empty page as
// "events": []. Each event's JSON is spliced in as it is: encoding/json
// would scan every one again to compact it, a tenth of a listing's cost.
func (p Page) MarshalJSON() ([]byte, error) {
	buf := make([]byte, 0, 512*len(p.Events)+64)
	buf = append(buf, `{"events":[`...)
	for i, e := range p.Events {
		if i > 0 {
			buf = append(buf, ',')
		}
		b, err := e.MarshalJSON()
		if err != nil {
			return nil, err
		}
		buf = append(buf, b...)
	}
	cursor, err := json.Marshal(p.NextCursor)
	if err != nil {
		return nil, err
	}
	return append(append(append(buf, `],"next_cursor":`...), cursor...), '}'), nil
}

// UnmarshalJSON reads the wire form back, for clients written in Go (tests,
// the load benchmark).
func (e *Event) UnmarshalJSON(b []byte) error {
	var w eventJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	parse := func(s string) (time.Time, error) {
		if s == "" {
			return time.Time{}, nil
		}
		return time.Parse(time.RFC3339, s)
	}
	var err error
	*e = Event{ID: w.ID, Title: w.Title, TimeZone: w.TimeZone, AllDay: w.AllDay, Location: w.Location, Notes: w.Notes}
	if e.Start, err = parse(w.Start); err != nil {
		return err
	}
	if w.End != "" {
		end, err := parse(w.End)
		if err != nil {
			return err
		}
		e.End = &end
	}
	if e.CreatedAt, err = parse(w.CreatedAt); err != nil {
		return err
	}
	if e.UpdatedAt, err = parse(w.UpdatedAt); err != nil {
		return err
	}
	return nil
}

// Event validates a create request and returns the event it describes,
// without ID, owner or timestamps. Stores call it so that no path can persist
// an event that breaks a rule.
func (in NewEvent) Event() (Event, error) {
	e := Event{
		Title:    strings.TrimSpace(in.Title),
		Start:    in.Start.Truncate(time.Second),
		End:      truncated(in.End),
		TimeZone: strings.TrimSpace(in.TimeZone),
		AllDay:   in.AllDay,
		Location: strings.TrimSpace(in.Location),
		Notes:    in.Notes,
	}
	if err := CheckText("request_id", in.RequestID); err != nil {
		return Event{}, err
	}
	if utf8.RuneCountInString(in.RequestID) > MaxRequestIDLen {
		return Event{}, Errorf(EINVALID, "request_id must be at most %d characters", MaxRequestIDLen)
	}
	if in.Start.IsZero() {
		return Event{}, Errorf(EINVALID, "start is required: an RFC 3339 date-time with a UTC offset, like 2026-12-01T09:00:00+01:00")
	}
	if err := e.validate(); err != nil {
		return Event{}, err
	}
	if err := checkOffset("start", in.Start, e.TimeZone); err != nil {
		return Event{}, err
	}
	if in.End != nil {
		if err := checkOffset("end", *in.End, e.TimeZone); err != nil {
			return Event{}, err
		}
	}
	return e, nil
}

// Patched returns e with p applied, validated as a whole. Times sent in the
// patch must carry the offset of the zone the event will have.
func (e Event) Patched(p EventPatch) (Event, error) {
	// An empty patch would answer with the whole event, a read that a
	// write-only token must not get.
	if p == (EventPatch{}) {
		return Event{}, Errorf(EINVALID, "nothing to change; send at least one of title, start, end, all_day, location, notes or time_zone")
	}
	if p.Title != nil {
		e.Title = strings.TrimSpace(*p.Title)
	}
	if p.Start != nil {
		e.Start = p.Start.Truncate(time.Second)
	}
	if p.ClearEnd {
		e.End = nil
	}
	if p.End != nil {
		e.End = truncated(p.End)
	}
	if p.TimeZone != nil {
		e.TimeZone = strings.TrimSpace(*p.TimeZone)
	}
	if p.AllDay != nil {
		e.AllDay = *p.AllDay
	}
	if p.Location != nil {
		e.Location = strings.TrimSpace(*p.Location)
	}
	if p.Notes != nil {
		e.Notes = *p.Notes
	}
	if err := e.validate(); err != nil {
		return Event{}, err
	}
	if p.Start != nil {
		if err := checkOffset("start", *p.Start, e.TimeZone); err != nil {
			return Event{}, err
		}
	}
	if p.End != nil {
		if err := checkOffset("end", *p.End, e.TimeZone); err != nil {
			return Event{}, err
		}
	}
	return e, nil
}

// validate checks the rules that hold for every stored event.
func (e Event) validate() error {
	for _, f := range []struct{ name, value string }{
		{"title", e.Title}, {"location", e.Location}, {"notes", e.Notes}, {"time_zone", e.TimeZone},
	} {
		if err := CheckText(f.name, f.value); err != nil {
			return err
		}
	}
	if err := CheckTime("start", e.Start); err != nil {
		return err
	}
	if e.End != nil {
		if err := CheckTime("end", *e.End); err != nil {
			return err
		}
	}
	switch n := utf8.RuneCountInString(e.Title); {
	case n == 0:
		return Errorf(EINVALID, "title is required: a short name for the event, 1 to %d characters", MaxTitleLength)
	case n > MaxTitleLength:
		return Errorf(EINVALID, "title is %d characters long; shorten it to at most %d", n, MaxTitleLength)
	}
	if n := utf8.RuneCountInString(e.Location); n > MaxLocationLen {
		return Errorf(EINVALID, "location is %d characters long; shorten it to at most %d", n, MaxLocationLen)
	}
	if n := utf8.RuneCountInString(e.Notes); n > MaxNotesLength {
		return Errorf(EINVALID, "notes are %d characters long; shorten them to at most %d", n, MaxNotesLength)
	}
	if e.TimeZone != "" {
		if _, err := LoadZone(e.TimeZone); err != nil {
			return err
		}
	}
	if e.End != nil && e.End.Before(e.Start) {
		return Errorf(EINVALID, "end (%s) is before start (%s); send an end at or after the start, or leave end out",
			e.End.Format(time.RFC3339), e.Start.Format(time.RFC3339))
	}
	return nil
}

// CheckText refuses text that not every store can keep, naming field:
// PostgreSQL rejects NUL and invalid UTF-8, and SQLite's LIKE ends a pattern
// at a NUL. Stores call it for the ids they are given; the rules above call
// it for everything else a client sends.
func CheckText(field, s string) error {
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return Errorf(EINVALID, "%s must be valid UTF-8 text without NUL characters", field)
	}
	return nil
}

// CheckTime refuses an instant that RFC 3339 cannot write in UTC: one
// outside the years 0001 to 9999, such as 9999-12-31T23:59:59-01:00.
func CheckTime(field string, t time.Time) error {
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return Errorf(EINVALID, "%s must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in UTC; send a date-time within those years", field)
	}
	return nil
}

// zones caches resolved time zones: time.LoadLocation parses the zone
// database on every call, and every event rendered needs its zone.
var zones sync.Map // name → *time.Location

// LoadZone resolves an IANA time zone name, with an error a model can act on.
func LoadZone(name string) (*time.Location, error) {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	if len(name) > MaxTimeZoneLen || name == "Local" {
		return nil, Errorf(EINVALID, "time_zone %q is not an IANA time zone name; send one such as Europe/Paris or America/New_York", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, Errorf(EINVALID, "time_zone %q is not an IANA time zone name; send one such as Europe/Paris or America/New_York", name)
	}
	zones.Store(name, loc)
	return loc, nil
}

// checkOffset catches the commonest calendar bug of GPT actions: a local time
// sent with the wrong offset (often Z). It explains both readings so the model
// can pick the one the user meant.
func checkOffset(field string, t time.Time, zone string) error {
	if zone == "" {
		return nil
	}
	loc, err := LoadZone(zone)
	if err != nil {
		return err
	}
	_, sent := t.Zone()
	_, want := t.In(loc).Zone()
	if sent == want {
		return nil
	}
	sentText := t.Format(time.RFC3339)
	asLocal := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, loc)
	return Errorf(EINVALID,
		"%s %s is %s in %s; for %s local time send %s (the offset of %s must be %s's offset at that moment)",
		field, sentText, t.In(loc).Format("15:04"), zone, t.Format("15:04"), asLocal.Format(time.RFC3339), field, zone)
}

func truncated(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.Truncate(time.Second)
	return &v
}

// String is for logs and test failures.
func (e Event) String() string {
	return fmt.Sprintf("Event{%s %q %s}", e.ID, e.Title, e.Start.Format(time.RFC3339))
}

// Normalized checks a listing request and returns it with the defaults
// filled in. Stores call it, so the API and the MCP tools share the rules.
func (q ListQuery) Normalized() (ListQuery, error) {
	switch {
	case q.Limit == 0:
		q.Limit = DefaultLimit
	case q.Limit < 1 || q.Limit > MaxLimit:
		return q, Errorf(EINVALID, "limit %d is out of range; send a limit from 1 to %d, or leave it out for %d", q.Limit, MaxLimit, DefaultLimit)
	}
	for _, b := range []struct {
		name string
		t    *time.Time
	}{{"from", q.From}, {"to", q.To}} {
		if b.t != nil {
			if err := CheckTime(b.name, *b.t); err != nil {
				return q, err
			}
		}
	}
	if err := CheckText("q", q.Text); err != nil {
		return q, err
	}
	if err := CheckText("cursor", q.Cursor); err != nil {
		return q, err
	}
	// from == to is allowed: it asks what is on at that instant.
	if q.From != nil && q.To != nil && q.To.Before(*q.From) {
		return q, Errorf(EINVALID, "from (%s) must be before to (%s); send a window such as from=2026-12-01T00:00:00+01:00 and to=2026-12-08T00:00:00+01:00",
			q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
	}
	q.Text = strings.TrimSpace(q.Text)
	if n := utf8.RuneCountInString(q.Text); n > MaxTextQueryLen {
		return q, Errorf(EINVALID, "the search text q is %d characters long; shorten it to at most %d", n, MaxTextQueryLen)
	}
	return q, nil
}
