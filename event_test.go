package agenda

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestOffsetMustMatchZone covers the calendar bug GPT actions meet most: a
// local time sent with the wrong offset, across daylight saving time.
func TestOffsetMustMatchZone(t *testing.T) {
	for _, c := range []struct {
		start, zone string
		err         string // "" when accepted
	}{
		{"2026-12-01T09:00:00+01:00", "Europe/Paris", ""},
		{"2026-07-01T09:00:00+02:00", "Europe/Paris", ""},
		{"2026-12-01T09:00:00Z", "", ""},
		{"2026-12-01T09:00:00Z", "UTC", ""},
		{"2026-12-01T09:00:00Z", "Europe/Paris", "start 2026-12-01T09:00:00Z is 10:00 in Europe/Paris; for 09:00 local time send 2026-12-01T09:00:00+01:00"},
		{"2026-07-01T09:00:00+01:00", "Europe/Paris", "for 09:00 local time send 2026-07-01T09:00:00+02:00"},
		{"2026-03-08T09:00:00-05:00", "America/New_York", "for 09:00 local time send 2026-03-08T09:00:00-04:00"},
		{"2026-12-01T09:00:00+05:45", "Asia/Kathmandu", ""},
		{"2026-12-01T09:00:00Z", "Mars/Olympus", `time_zone "Mars/Olympus" is not an IANA time zone name`},
		{"2026-12-01T09:00:00Z", "Local", "is not an IANA time zone name"},
	} {
		_, err := NewEvent{Title: "x", Start: mustTime(t, c.start), TimeZone: c.zone}.Event()
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s in %q refused: %v", c.start, c.zone, err)
		case c.err != "" && (err == nil || !strings.Contains(ErrorMessage(err), c.err)):
			t.Errorf("%s in %q: got %v, want %q", c.start, c.zone, err, c.err)
		case err != nil && ErrorCode(err) != EINVALID:
			t.Errorf("%s in %q: code %s", c.start, c.zone, ErrorCode(err))
		}
	}
}

func TestPatchedChecksTheWhole(t *testing.T) {
	ev, err := NewEvent{Title: "Dentist", Start: mustTime(t, "2026-12-01T09:00:00+01:00"), TimeZone: "Europe/Paris"}.Event()
	if err != nil {
		t.Fatal(err)
	}
	end := mustTime(t, "2026-12-01T08:00:00+01:00")
	if _, err := ev.Patched(EventPatch{End: &end}); err == nil || !strings.Contains(err.Error(), "is before start") {
		t.Errorf("end before start accepted: %v", err)
	}
	if _, err := ev.Patched(EventPatch{}); ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), "nothing to change") {
		t.Errorf("an empty patch: %v, want EINVALID nothing to change", err)
	}
	empty := ""
	if _, err := ev.Patched(EventPatch{Title: &empty}); err == nil {
		t.Error("empty title accepted")
	}
	zone := "America/New_York"
	moved, err := ev.Patched(EventPatch{TimeZone: &zone})
	if err != nil || !moved.Start.Equal(ev.Start) {
		t.Errorf("changing the zone alone must keep the instant: %v %v", moved.Start, err)
	}
	wrong := mustTime(t, "2026-12-01T10:00:00Z")
	if _, err := ev.Patched(EventPatch{Start: &wrong}); err == nil || !strings.Contains(err.Error(), "Europe/Paris") {
		t.Errorf("a Z start for a Paris event accepted: %v", err)
	}
}

func TestMarshalRendersInTheEventsZone(t *testing.T) {
	ev := Event{ID: "evt_1", Title: "x", Start: mustTime(t, "2026-12-01T08:00:00Z"), TimeZone: "Europe/Paris"}
	b, err := ev.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"start":"2026-12-01T09:00:00+01:00"`) || strings.Contains(string(b), `"end"`) {
		t.Errorf("%s", b)
	}
	var back Event
	if err := back.UnmarshalJSON(b); err != nil || !back.Start.Equal(ev.Start) {
		t.Errorf("round trip: %v %v", back.Start, err)
	}
}

func TestListQueryNormalized(t *testing.T) {
	a, b := mustTime(t, "2026-12-01T00:00:00Z"), mustTime(t, "2026-12-02T00:00:00Z")
	q, err := ListQuery{Text: "  dentist "}.Normalized()
	if err != nil || q.Limit != DefaultLimit || q.Text != "dentist" {
		t.Errorf("%+v %v", q, err)
	}
	if _, err := (ListQuery{From: &b, To: &a}).Normalized(); err == nil {
		t.Error("to before from accepted")
	}
	if _, err := (ListQuery{From: &a, To: &a}).Normalized(); err != nil {
		t.Errorf("an instant window refused: %v", err)
	}
	for _, l := range []int{-1, MaxLimit + 1} {
		if _, err := (ListQuery{Limit: l}).Normalized(); err == nil {
			t.Errorf("limit %d accepted", l)
		}
	}
	if _, err := (ListQuery{Text: strings.Repeat("é", MaxTextQueryLen+1)}).Normalized(); err == nil {
		t.Error("long text accepted")
	}
}

// TestPageJSON: the spliced listing is byte for byte what encoding/json
// writes for the same fields, HTML-sensitive text, zones, a missing end and
// a cursor included; an empty page lists [] rather than null.
func TestPageJSON(t *testing.T) {
	end := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	for _, p := range []Page{
		{},
		{Events: []Event{
			{ID: "evt_a", Title: "Dentist <Dr. A & B>", Start: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC), End: &end,
				TimeZone: "Europe/Paris", Location: "Rue \"X\"", Notes: "line\nbreak \u2028 é"},
			{ID: "evt_b", Title: "All day", Start: time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), AllDay: true},
		}, NextCursor: "MTc5NjE2MzIwMC5ldnRfYg"},
	} {
		got, err := p.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		events := p.Events
		if events == nil {
			events = []Event{}
		}
		want, err := json.Marshal(struct {
			Events     []Event `json:"events"`
			NextCursor string  `json:"next_cursor"`
		}{events, p.NextCursor})
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("Page.MarshalJSON:\n%s\nencoding/json:\n%s", got, want)
		}
	}
}

// TestTextMustBeValid: NUL and invalid UTF-8 are refused in every text a
// client sends, naming the field, before any store sees them (PostgreSQL
// cannot store them; SQLite's LIKE stops at a NUL).
func TestTextMustBeValid(t *testing.T) {
	start := mustTime(t, "2026-12-01T09:00:00Z")
	ok := NewEvent{Title: "x", Start: start}
	for _, bad := range []string{"a\x00b", "a\xffb", "\xc3"} {
		for field, in := range map[string]NewEvent{
			"title":      {Title: bad, Start: start},
			"location":   {Title: "x", Start: start, Location: bad},
			"notes":      {Title: "x", Start: start, Notes: bad},
			"time_zone":  {Title: "x", Start: start, TimeZone: bad},
			"request_id": {Title: "x", Start: start, RequestID: bad},
		} {
			_, err := in.Event()
			wantInvalid(t, err, field+" must be valid UTF-8 text without NUL characters")
		}
		e, err := ok.Event()
		if err != nil {
			t.Fatal(err)
		}
		for field, p := range map[string]EventPatch{
			"title":     {Title: &bad},
			"location":  {Location: &bad},
			"notes":     {Notes: &bad},
			"time_zone": {TimeZone: &bad},
		} {
			_, err := e.Patched(p)
			wantInvalid(t, err, field+" must be valid UTF-8 text without NUL characters")
		}
		_, err = ListQuery{Text: bad}.Normalized()
		wantInvalid(t, err, "q must be valid UTF-8 text without NUL characters")
		_, err = ListQuery{Cursor: bad}.Normalized()
		wantInvalid(t, err, "cursor must be valid UTF-8 text without NUL characters")
		wantInvalid(t, CheckText("id", bad), "id must be valid UTF-8 text without NUL characters")
	}
	if err := CheckText("id", "evt_é"); err != nil {
		t.Errorf("valid text refused: %v", err)
	}
}

// TestTimesStayInFourDigitYears: an instant whose UTC form leaves years
// 0001–9999 cannot be written as RFC 3339, so it is refused wherever a time
// comes in.
func TestTimesStayInFourDigitYears(t *testing.T) {
	const want = "must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in UTC"
	for _, s := range []string{"9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "0000-06-01T00:00:00Z"} {
		_, err := ParseTime("start", s)
		wantInvalid(t, err, "start "+want)
		tm, perr := time.Parse(time.RFC3339, s)
		if perr != nil {
			t.Fatal(perr)
		}
		_, err = NewEvent{Title: "x", Start: tm}.Event()
		wantInvalid(t, err, "start "+want)
		ok := mustTime(t, "2026-12-01T09:00:00Z")
		_, err = NewEvent{Title: "x", Start: ok, End: &tm}.Event()
		wantInvalid(t, err, "end "+want)
		e, _ := NewEvent{Title: "x", Start: ok}.Event()
		_, err = e.Patched(EventPatch{Start: &tm})
		wantInvalid(t, err, "start "+want)
		_, err = e.Patched(EventPatch{End: &tm})
		wantInvalid(t, err, "end "+want)
		_, err = ListQuery{From: &tm}.Normalized()
		wantInvalid(t, err, "from "+want)
		_, err = ListQuery{To: &tm}.Normalized()
		wantInvalid(t, err, "to "+want)
	}
	for _, s := range []string{"9999-12-31T23:59:59Z", "9999-12-31T23:59:59+01:00", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00-01:00"} {
		if _, err := ParseTime("start", s); err != nil {
			t.Errorf("%s refused: %v", s, err)
		}
	}
}

func wantInvalid(t *testing.T, err error, contains string) {
	t.Helper()
	if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), contains) {
		t.Errorf("got %v, want %s containing %q", err, EINVALID, contains)
	}
}
