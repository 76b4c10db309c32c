package store

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agenda-gpt/agenda"
	"github.com/alexedwards/scs/v2"
)

// runStoreSuite checks a Store against what agenda.EventService and the
// session store promise. newDatabase returns the DATABASE_URL of a new, empty
// database; every subtest gets its own, so another engine can run the same
// suite by passing its own newDatabase.
func runStoreSuite(t *testing.T, newDatabase func(t *testing.T) string) {
	tests := []struct {
		name string
		run  func(t *testing.T, newDatabase func(t *testing.T) string)
	}{
		{"CRUD", testCRUD},
		{"Validation", testValidation},
		{"UsersAreIsolated", testUsersAreIsolated},
		{"Window", testWindow},
		{"TextSearch", testTextSearch},
		{"Pagination", testPagination},
		{"Limits", testLimits},
		{"BadCursor", testBadCursor},
		{"IdempotentCreate", testIdempotentCreate},
		{"IdempotencyExpires", testIdempotencyExpires},
		{"ConcurrentRetries", testConcurrentRetries},
		{"PublishesInCommitOrder", testPublishesInCommitOrder},
		{"ConcurrentWriters", testConcurrentWriters},
		{"Reopen", testReopen},
		{"Sessions", testSessions},
		{"SessionManager", testSessionManager},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newDatabase) })
	}
}

// A fixed day keeps the tests independent of when they run.
var day = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func at(hour, minute int) time.Time {
	return day.Add(time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute)
}

func ptr[T any](v T) *T { return &v }

// clock is a settable time source for expiring keys and sessions.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// recorder is a Publisher that keeps what it receives.
type recorder struct {
	mu      sync.Mutex
	changes []agenda.Change
	arrived chan struct{} // closed, and replaced, at each change
}

func (r *recorder) Publish(c agenda.Change) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, c)
	if r.arrived != nil {
		close(r.arrived)
		r.arrived = nil
	}
}

// Changes returns what has arrived so far, without flushUser's changes.
func (r *recorder) Changes() []agenda.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []agenda.Change
	for _, c := range r.changes {
		if c.Event.UserID != flushUser {
			out = append(out, c)
		}
	}
	return out
}

// flushUser owns the events flushed writes to mark a point in the stream.
const flushUser = "flush-marker"

// flushed returns Changes once every change committed before the call has
// arrived. A store on PostgreSQL delivers changes after the write returns,
// in commit order, so the arrival of a marker written now means that all
// earlier changes are in.
func (r *recorder) flushed(t *testing.T, s *Store) []agenda.Change {
	t.Helper()
	marker := mustCreate(t, s, flushUser, agenda.NewEvent{Title: "marker", Start: day})
	r.waitFor(t, func(c agenda.Change) bool { return c.Event.ID == marker.ID })
	return r.Changes()
}

// waitFor waits until a change matching ok has arrived.
func (r *recorder) waitFor(t *testing.T, ok func(agenda.Change) bool) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	seen := 0
	for {
		r.mu.Lock()
		for ; seen < len(r.changes); seen++ {
			if ok(r.changes[seen]) {
				r.mu.Unlock()
				return
			}
		}
		if r.arrived == nil {
			r.arrived = make(chan struct{})
		}
		arrived := r.arrived
		r.mu.Unlock()
		select {
		case <-arrived:
		case <-deadline.C:
			t.Fatalf("the change waited for did not arrive in 10s; %d arrived", seen)
		}
	}
}

// mustOpen opens url with a clock starting on day and closes it at the end
// of the test.
func mustOpen(t *testing.T, url string, pub agenda.Publisher) (*Store, *clock) {
	t.Helper()
	clk := &clock{t: day.Add(-24 * time.Hour)}
	s, err := open(context.Background(), url, pub, Options{}, clk.Now)
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s, clk
}

func mustCreate(t *testing.T, s *Store, userID string, in agenda.NewEvent) agenda.Event {
	t.Helper()
	e, _, err := s.CreateEvent(context.Background(), userID, in)
	if err != nil {
		t.Fatalf("create %q: %v", in.Title, err)
	}
	return e
}

func mustGet(t *testing.T, s *Store, userID, id string) agenda.Event {
	t.Helper()
	e, err := s.GetEvent(context.Background(), userID, id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return e
}

// listAll walks every page of q and returns the events in order.
func listAll(t *testing.T, s *Store, userID string, q agenda.ListQuery) []agenda.Event {
	t.Helper()
	var all []agenda.Event
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatal("pagination does not end")
		}
		p, err := s.ListEvents(context.Background(), userID, q)
		if err != nil {
			t.Fatalf("list %+v: %v", q, err)
		}
		all = append(all, p.Events...)
		if p.NextCursor == "" {
			return all
		}
		q.Cursor = p.NextCursor
	}
}

func titles(events []agenda.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.Title
	}
	return out
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := agenda.ErrorCode(err); got != code {
		t.Fatalf("error %v has code %q, want %q", err, got, code)
	}
}

func equal(a, b agenda.Event) bool {
	return a.ID == b.ID && a.UserID == b.UserID && a.Title == b.Title && a.Start.Equal(b.Start) &&
		((a.End == nil) == (b.End == nil) && (a.End == nil || a.End.Equal(*b.End))) &&
		a.TimeZone == b.TimeZone && a.AllDay == b.AllDay && a.Location == b.Location && a.Notes == b.Notes &&
		a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt)
}

func wantEqual(t *testing.T, got, want agenda.Event) {
	t.Helper()
	if !equal(got, want) {
		t.Fatalf("got  %#v\nwant %#v", got, want)
	}
}

var idPattern = regexp.MustCompile(`^evt_[a-z2-7]{26}$`)

func testCRUD(t *testing.T, newDatabase func(t *testing.T) string) {
	ctx := context.Background()
	s, clk := mustOpen(t, newDatabase(t), nil)
	paris, _ := time.LoadLocation("Europe/Paris")

	in := agenda.NewEvent{
		Title:    "  Dentist ",
		Start:    time.Date(2026, 12, 1, 9, 30, 0, 0, paris),
		End:      ptr(time.Date(2026, 12, 1, 10, 15, 0, 0, paris)),
		TimeZone: "Europe/Paris",
		Location: "Rue de Rivoli",
		Notes:    "Bring the X-rays",
	}
	created, replayed, err := s.CreateEvent(ctx, "alice", in)
	if err != nil || replayed {
		t.Fatalf("create: %v, replayed %v", err, replayed)
	}
	if !idPattern.MatchString(created.ID) {
		t.Errorf("id %q does not look like evt_ + 26 base32 characters", created.ID)
	}
	want := agenda.Event{
		ID: created.ID, UserID: "alice", Title: "Dentist", Start: in.Start, End: in.End,
		TimeZone: "Europe/Paris", Location: "Rue de Rivoli", Notes: "Bring the X-rays",
		CreatedAt: clk.Now(), UpdatedAt: clk.Now(),
	}
	wantEqual(t, created, want)
	wantEqual(t, mustGet(t, s, "alice", created.ID), want)

	clk.Advance(time.Hour)
	updated, err := s.UpdateEvent(ctx, "alice", created.ID, agenda.EventPatch{
		Title:    ptr("Dentist (moved)"),
		Start:    ptr(time.Date(2026, 12, 2, 14, 0, 0, 0, paris)),
		ClearEnd: true,
		AllDay:   ptr(true),
		Location: ptr(""),
	})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	want.Title, want.Start, want.End, want.AllDay, want.Location = "Dentist (moved)", time.Date(2026, 12, 2, 14, 0, 0, 0, paris), nil, true, ""
	want.UpdatedAt = clk.Now()
	wantEqual(t, updated, want)
	wantEqual(t, mustGet(t, s, "alice", created.ID), want)

	if got := listAll(t, s, "alice", agenda.ListQuery{}); len(got) != 1 || !equal(got[0], want) {
		t.Fatalf("list = %v, want [%v]", got, want)
	}

	if err := s.DeleteEvent(ctx, "alice", created.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err = s.GetEvent(ctx, "alice", created.ID)
	wantCode(t, err, agenda.ENOTFOUND)
	if msg, want := agenda.ErrorMessage(err), fmt.Sprintf("no event with id %q; list events to find the right id", created.ID); msg != want {
		t.Errorf("message %q, want %q", msg, want)
	}
	_, err = s.UpdateEvent(ctx, "alice", created.ID, agenda.EventPatch{Title: ptr("x")})
	wantCode(t, err, agenda.ENOTFOUND)
	wantCode(t, s.DeleteEvent(ctx, "alice", created.ID), agenda.ENOTFOUND)
	if got := listAll(t, s, "alice", agenda.ListQuery{}); len(got) != 0 {
		t.Fatalf("list after delete = %v", got)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
}

func testValidation(t *testing.T, newDatabase func(t *testing.T) string) {
	ctx := context.Background()
	pub := &recorder{}
	s, _ := mustOpen(t, newDatabase(t), pub)
	ok := agenda.NewEvent{Title: "Standup", Start: at(9, 0)}

	for name, in := range map[string]agenda.NewEvent{
		"no title":        {Start: at(9, 0)},
		"long title":      {Title: strings.Repeat("é", agenda.MaxTitleLength+1), Start: at(9, 0)},
		"no start":        {Title: "Standup"},
		"end before":      {Title: "Standup", Start: at(9, 0), End: ptr(at(8, 0))},
		"bad zone":        {Title: "Standup", Start: at(9, 0), TimeZone: "Mars/Olympus"},
		"wrong offset":    {Title: "Standup", Start: at(9, 0), TimeZone: "Europe/Paris"},
		"long notes":      {Title: "Standup", Start: at(9, 0), Notes: strings.Repeat("n", agenda.MaxNotesLength+1)},
		"long request id": {Title: "Standup", Start: at(9, 0), RequestID: strings.Repeat("r", agenda.MaxRequestIDLen+1)},
	} {
		t.Run(name, func(t *testing.T) {
			_, domainErr := in.Event()
			_, _, err := s.CreateEvent(ctx, "alice", in)
			wantCode(t, err, agenda.EINVALID)
			if agenda.ErrorMessage(err) != agenda.ErrorMessage(domainErr) || agenda.ErrorMessage(err) == "" {
				t.Errorf("message %q, want the domain's %q", agenda.ErrorMessage(err), agenda.ErrorMessage(domainErr))
			}
		})
	}

	e := mustCreate(t, s, "alice", ok)
	for name, p := range map[string]agenda.EventPatch{
		"empty title":  {Title: ptr(" ")},
		"end before":   {End: ptr(at(8, 0))},
		"start after":  {Start: ptr(at(9, 0)), End: ptr(at(8, 59))},
		"bad zone":     {TimeZone: ptr("Europe/Nowhere")},
		"wrong offset": {TimeZone: ptr("America/New_York"), Start: ptr(at(9, 0))},
	} {
		t.Run("patch "+name, func(t *testing.T) {
			_, domainErr := e.Patched(p)
			_, err := s.UpdateEvent(ctx, "alice", e.ID, p)
			wantCode(t, err, agenda.EINVALID)
			if agenda.ErrorMessage(err) != agenda.ErrorMessage(domainErr) {
				t.Errorf("message %q, want the domain's %q", agenda.ErrorMessage(err), agenda.ErrorMessage(domainErr))
			}
			wantEqual(t, mustGet(t, s, "alice", e.ID), e)
		})
	}
	if got := pub.flushed(t, s); len(got) != 1 {
		t.Errorf("published %d changes, want only the one create: %v", len(got), got)
	}
}

func testUsersAreIsolated(t *testing.T, newDatabase func(t *testing.T) string) {
	ctx := context.Background()
	pub := &recorder{}
	s, _ := mustOpen(t, newDatabase(t), pub)
	mine := mustCreate(t, s, "alice", agenda.NewEvent{Title: "Alice's", Start: at(9, 0), RequestID: "r1"})

	// Bob's view of Alice's event is the same as of an id that does not exist.
	_, err := s.GetEvent(ctx, "bob", mine.ID)
	wantCode(t, err, agenda.ENOTFOUND)
	_, err = s.UpdateEvent(ctx, "bob", mine.ID, agenda.EventPatch{Title: ptr("Bob's now")})
	wantCode(t, err, agenda.ENOTFOUND)
	wantCode(t, s.DeleteEvent(ctx, "bob", mine.ID), agenda.ENOTFOUND)
	if got := listAll(t, s, "bob", agenda.ListQuery{}); len(got) != 0 {
		t.Fatalf("bob lists %v", got)
	}
	if got := listAll(t, s, "bob", agenda.ListQuery{Text: "alice"}); len(got) != 0 {
		t.Fatalf("bob finds %v", got)
	}
	// The same request_id is Bob's own.
	bobs, replayed, err := s.CreateEvent(ctx, "bob", agenda.NewEvent{Title: "Bob's", Start: at(9, 0), RequestID: "r1"})
	if err != nil || replayed || bobs.ID == mine.ID || bobs.UserID != "bob" {
		t.Fatalf("bob's create with alice's request_id: %v %v %v", bobs, replayed, err)
	}
	if _, _, err := s.CreateEvent(ctx, "", agenda.NewEvent{Title: "Nobody's", Start: at(9, 0)}); err == nil {
		t.Fatal("created an event without an owner")
	}

	wantEqual(t, mustGet(t, s, "alice", mine.ID), mine)
	if got := pub.flushed(t, s); len(got) != 2 || got[0].Event.UserID != "alice" || got[1].Event.UserID != "bob" {
		t.Fatalf("published %v", got)
	}
}

func testWindow(t *testing.T, newDatabase func(t *testing.T) string) {
	s, _ := mustOpen(t, newDatabase(t), nil)
	for _, in := range []agenda.NewEvent{
		{Title: "before", Start: at(7, 0)},                           // instant, before the window
		{Title: "ends at from", Start: at(8, 0), End: ptr(at(9, 0))}, // touches from only
		{Title: "spans from", Start: at(8, 30), End: ptr(at(9, 30))},
		{Title: "instant at from", Start: at(9, 0)},
		{Title: "inside", Start: at(9, 15), End: ptr(at(9, 45))},
		{Title: "spans to", Start: at(9, 59), End: ptr(at(11, 0))},
		{Title: "starts at to", Start: at(10, 0)},
		{Title: "spans all", Start: at(6, 0), End: ptr(at(12, 0))},
		{Title: "later", Start: at(13, 0), End: ptr(at(14, 0))},
	} {
		mustCreate(t, s, "alice", in)
	}
	mustCreate(t, s, "bob", agenda.NewEvent{Title: "bob inside", Start: at(9, 15)})

	for _, tt := range []struct {
		name     string
		from, to *time.Time
		want     []string // in start, id order
	}{
		{"window", ptr(at(9, 0)), ptr(at(10, 0)), []string{"spans all", "spans from", "instant at from", "inside", "spans to"}},
		{"open start", nil, ptr(at(9, 0)), []string{"spans all", "before", "ends at from", "spans from"}},
		{"open end", ptr(at(10, 0)), nil, []string{"spans all", "spans to", "starts at to", "later"}},
		{"open", nil, nil, []string{"spans all", "before", "ends at from", "spans from", "instant at from", "inside", "spans to", "starts at to", "later"}},
		{"empty window inside an event", ptr(at(9, 20)), ptr(at(9, 20)), []string{"spans all", "spans from", "inside"}},
		{"zones do not matter", ptr(at(9, 0).In(time.FixedZone("UTC+1", 3600))), ptr(at(10, 0).In(time.FixedZone("UTC-5", -5*3600))),
			[]string{"spans all", "spans from", "instant at from", "inside", "spans to"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := titles(listAll(t, s, "alice", agenda.ListQuery{From: tt.from, To: tt.to}))
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
		})
	}

	_, err := s.ListEvents(context.Background(), "alice", agenda.ListQuery{From: ptr(at(10, 0)), To: ptr(at(9, 0))})
	wantCode(t, err, agenda.EINVALID)

	// An event made longer than any other by an update is still found from
	// inside its new span.
	long := mustCreate(t, s, "alice", agenda.NewEvent{Title: "grows", Start: at(-72, 0)})
	if _, err := s.UpdateEvent(context.Background(), "alice", long.ID, agenda.EventPatch{End: ptr(at(72, 0))}); err != nil {
		t.Fatal(err)
	}
	got := titles(listAll(t, s, "alice", agenda.ListQuery{From: ptr(at(13, 30)), To: ptr(at(13, 31))}))
	if want := []string{"grows", "later"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func testTextSearch(t *testing.T, newDatabase func(t *testing.T) string) {
	s, _ := mustOpen(t, newDatabase(t), nil)
	for i, in := range []agenda.NewEvent{
		{Title: "Café Zürich"},
		{Title: "Lunch", Notes: "with ÉMILE and Ωmega"},
		{Title: "Walk", Location: "Hauptstraße 5"},
		{Title: "100% done"},
		{Title: "snake_case review"},
		{Title: "one choice"}, // "e_c" and "e%c" would match it if _ and % were wildcards
		{Title: `C:\temp cleanup`},
		{Title: "plain"},
	} {
		in.Start = at(8+i, 0)
		mustCreate(t, s, "alice", in)
	}
	mustCreate(t, s, "bob", agenda.NewEvent{Title: "Café for Bob", Start: at(8, 0)})

	for _, tt := range []struct {
		text string
		want []string
	}{
		{"café", []string{"Café Zürich"}},
		{"CAFÉ", []string{"Café Zürich"}},
		{"zÜrich", []string{"Café Zürich"}},
		{"émile", []string{"Lunch"}},
		{"ωMEGA", []string{"Lunch"}},
		{"straße", []string{"Walk"}},
		{"%", []string{"100% done"}},
		{"0% d", []string{"100% done"}},
		{"e_c", []string{"snake_case review"}},
		{"e%c", nil},
		{"_", []string{"snake_case review"}},
		{`\`, []string{`C:\temp cleanup`}},
		{`:\t`, []string{`C:\temp cleanup`}},
		{"  plain  ", []string{"plain"}},
		{"nothing like it", nil},
		{"", []string{"Café Zürich", "Lunch", "Walk", "100% done", "snake_case review", "one choice", `C:\temp cleanup`, "plain"}},
	} {
		t.Run(tt.text, func(t *testing.T) {
			got := titles(listAll(t, s, "alice", agenda.ListQuery{Text: tt.text}))
			if !slices.Equal(got, tt.want) {
				t.Fatalf("search %q: got %q, want %q", tt.text, got, tt.want)
			}
		})
	}

	got := titles(listAll(t, s, "alice", agenda.ListQuery{Text: "e", From: ptr(at(9, 0)), To: ptr(at(13, 0))}))
	if want := []string{"Lunch", "Walk", "100% done", "snake_case review"}; !slices.Equal(got, want) {
		t.Fatalf("search with window: got %q, want %q", got, want)
	}
	_, err := s.ListEvents(context.Background(), "alice", agenda.ListQuery{Text: strings.Repeat("x", agenda.MaxTextQueryLen+1)})
	wantCode(t, err, agenda.EINVALID)
}

func testPagination(t *testing.T, newDatabase func(t *testing.T) string) {
	s, _ := mustOpen(t, newDatabase(t), nil)
	// 25 events on 7 distinct starts, so pages break inside runs of ties.
	var want []agenda.Event
	for i := range 25 {
		want = append(want, mustCreate(t, s, "alice", agenda.NewEvent{Title: fmt.Sprint(i), Start: at(8+i%7, 0)}))
		mustCreate(t, s, "bob", agenda.NewEvent{Title: fmt.Sprint(i), Start: at(8+i%7, 0)})
	}
	slices.SortFunc(want, func(a, b agenda.Event) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})

	for _, limit := range []int{1, 4, 5, 24, 25, 26, agenda.MaxLimit} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			var got []agenda.Event
			q := agenda.ListQuery{Limit: limit}
			pages := 0
			for {
				p, err := s.ListEvents(context.Background(), "alice", q)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				if len(p.Events) == 0 || len(p.Events) > limit {
					t.Fatalf("page %d has %d events (limit %d)", pages, len(p.Events), limit)
				}
				got = append(got, p.Events...)
				if p.NextCursor == "" {
					break
				}
				q.Cursor = p.NextCursor
			}
			if wantPages := (len(want) + limit - 1) / limit; pages != wantPages {
				t.Errorf("%d pages, want %d", pages, wantPages)
			}
			if len(got) != len(want) {
				t.Fatalf("walked %d events, want %d", len(got), len(want))
			}
			for i := range want {
				if !equal(got[i], want[i]) {
					t.Fatalf("event %d is %v, want %v", i, got[i], want[i])
				}
			}
		})
	}

	// With a window the walk stays inside it.
	got := listAll(t, s, "alice", agenda.ListQuery{Limit: 2, From: ptr(at(9, 0)), To: ptr(at(11, 0))})
	var inWindow []agenda.Event
	for _, e := range want {
		if !e.Start.Before(at(9, 0)) && e.Start.Before(at(11, 0)) {
			inWindow = append(inWindow, e)
		}
	}
	if !slices.EqualFunc(got, inWindow, equal) {
		t.Fatalf("windowed walk: got %v, want %v", got, inWindow)
	}
}

func testLimits(t *testing.T, newDatabase func(t *testing.T) string) {
	ctx := context.Background()
	s, _ := mustOpen(t, newDatabase(t), nil)
	for i := range agenda.DefaultLimit + 1 {
		mustCreate(t, s, "alice", agenda.NewEvent{Title: fmt.Sprint(i), Start: at(0, i)})
	}
	p, err := s.ListEvents(ctx, "alice", agenda.ListQuery{})
	if err != nil || len(p.Events) != agenda.DefaultLimit || p.NextCursor == "" {
		t.Fatalf("limit 0: %d events, cursor %q, %v; want %d and a cursor", len(p.Events), p.NextCursor, err, agenda.DefaultLimit)
	}
	for _, limit := range []int{-1, agenda.MaxLimit + 1} {
		_, err := s.ListEvents(ctx, "alice", agenda.ListQuery{Limit: limit})
		wantCode(t, err, agenda.EINVALID)
		if msg := agenda.ErrorMessage(err); !strings.Contains(msg, fmt.Sprint(agenda.MaxLimit)) {
			t.Errorf("limit %d: message %q does not give the range", limit, msg)
		}
	}
	p, err = s.ListEvents(ctx, "nobody", agenda.ListQuery{})
	if err != nil || p.Events == nil || len(p.Events) != 0 || p.NextCursor != "" {
		t.Fatalf("empty list: %#v, %v; want no events, not nil, and no cursor", p, err)
	}
}

func testBadCursor(t *testing.T, newDatabase func(t *testing.T) string) {
	s, _ := mustOpen(t, newDatabase(t), nil)
	mustCreate(t, s, "alice", agenda.NewEvent{Title: "a", Start: at(9, 0)})
	for _, c := range []string{
		"!!!",
		"not base64 at all",
		base64.RawURLEncoding.EncodeToString([]byte("123")),      // no id
		base64.RawURLEncoding.EncodeToString([]byte("123.")),     // empty id
		base64.RawURLEncoding.EncodeToString([]byte("xyz.evt_")), // no start
		base64.StdEncoding.EncodeToString([]byte("1.evt_a?")),    // padded, not URL-safe
	} {
		_, err := s.ListEvents(context.Background(), "alice", agenda.ListQuery{Cursor: c})
		wantCode(t, err, agenda.EINVALID)
		want := "cursor is not valid; pass next_cursor from the previous response unchanged, or leave it out"
		if msg := agenda.ErrorMessage(err); msg != want {
			t.Errorf("cursor %q: message %q, want %q", c, msg, want)
		}
	}
}

func testIdempotentCreate(t *testing.T, newDatabase func(t *testing.T) string) {
	ctx := context.Background()
	pub := &recorder{}
	s, clk := mustOpen(t, newDatabase(t), pub)
	in := agenda.NewEvent{Title: "Flight", Start: at(9, 0), End: ptr(at(11, 0)), RequestID: "trip-1"}

	first, replayed, err := s.CreateEvent(ctx, "alice", in)
	if err != nil || replayed {
		t.Fatalf("first create: %v, replayed %v", err, replayed)
	}
	clk.Advance(time.Minute)

	// The same request again, even written differently, replays the first.
	same := in
	same.Title = " Flight "
	same.Start = at(9, 0).In(time.FixedZone("UTC+1", 3600))
	again, replayed, err := s.CreateEvent(ctx, "alice", same)
	if err != nil || !replayed {
		t.Fatalf("retry: %v, replayed %v", err, replayed)
	}
	wantEqual(t, again, first)

	// Another request under the same id is refused.
	other := in
	other.Title = "Train"
	_, _, err = s.CreateEvent(ctx, "alice", other)
	wantCode(t, err, agenda.ECONFLICT)
	if want := `request_id "trip-1" was already used for a different event; make up a new request_id for each new event`; agenda.ErrorMessage(err) != want {
		t.Errorf("message %q, want %q", agenda.ErrorMessage(err), want)
	}

	// The replay is the first result, even after the event changed or went.
	if _, err := s.UpdateEvent(ctx, "alice", first.ID, agenda.EventPatch{Title: ptr("Flight (delayed)")}); err != nil {
		t.Fatal(err)
	}
	again, replayed, err = s.CreateEvent(ctx, "alice", in)
	if err != nil || !replayed {
		t.Fatalf("retry after update: %v, replayed %v", err, replayed)
	}
	wantEqual(t, again, first)
	if err := s.DeleteEvent(ctx, "alice", first.ID); err != nil {
		t.Fatal(err)
	}
	again, replayed, err = s.CreateEvent(ctx, "alice", in)
	if err != nil || !replayed {
		t.Fatalf("retry after delete: %v, replayed %v", err, replayed)
	}
	wantEqual(t, again, first)
	if got := listAll(t, s, "alice", agenda.ListQuery{}); len(got) != 0 {
		t.Fatalf("a replay recreated the event: %v", got)
	}

	// Without a request_id, the same content is a new event each time.
	in.RequestID = ""
	a, b := mustCreate(t, s, "alice", in), mustCreate(t, s, "alice", in)
	if a.ID == b.ID {
		t.Fatal("two creates without request_id gave one event")
	}

	var types []agenda.ChangeType
	for _, c := range pub.flushed(t, s) {
		types = append(types, c.Type)
	}
	want := []agenda.ChangeType{agenda.EventCreated, agenda.EventUpdated, agenda.EventDeleted, agenda.EventCreated, agenda.EventCreated}
	if !slices.Equal(types, want) {
		t.Fatalf("published %v, want %v (nothing for replays and conflicts)", types, want)
	}
}

func testIdempotencyExpires(t *testing.T, newDatabase func(t *testing.T) string) {
	ctx := context.Background()
	s, clk := mustOpen(t, newDatabase(t), nil)
	in := agenda.NewEvent{Title: "Weekly", Start: at(9, 0), RequestID: "weekly"}
	first := mustCreate(t, s, "alice", in)

	clk.Advance(agenda.IdempotencyHours*time.Hour - time.Second)
	again, replayed, err := s.CreateEvent(ctx, "alice", in)
	if err != nil || !replayed || again.ID != first.ID {
		t.Fatalf("retry just before expiry: %v, replayed %v, %v", again, replayed, err)
	}

	clk.Advance(2 * time.Second)
	fresh, replayed, err := s.CreateEvent(ctx, "alice", in)
	if err != nil || replayed || fresh.ID == first.ID {
		t.Fatalf("retry after expiry: %v, replayed %v, %v; want a new event", fresh, replayed, err)
	}
	// The key now belongs to the new event, with a different content check.
	in.Title = "Other"
	_, _, err = s.CreateEvent(ctx, "alice", in)
	wantCode(t, err, agenda.ECONFLICT)

	// Pruning removes expired keys only.
	mustCreate(t, s, "alice", agenda.NewEvent{Title: "Keep", Start: at(9, 0), RequestID: "keep"})
	clk.Advance(agenda.IdempotencyHours*time.Hour + time.Second)
	mustCreate(t, s, "alice", agenda.NewEvent{Title: "Young", Start: at(9, 0), RequestID: "young"})
	if err := s.prune(ctx); err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := s.reader.Model(&idempotencyRow{}).Order("request_id").Pluck("request_id", &keys).Error; err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys, []string{"young"}) {
		t.Fatalf("after pruning, keys %q remain; want only [young]", keys)
	}
}

func testConcurrentRetries(t *testing.T, newDatabase func(t *testing.T) string) {
	pub := &recorder{}
	s, _ := mustOpen(t, newDatabase(t), pub)
	in := agenda.NewEvent{Title: "Once", Start: at(9, 0), RequestID: "once"}

	const n = 16
	type result struct {
		ev       agenda.Event
		replayed bool
		err      error
	}
	results := make(chan result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			<-start
			ev, replayed, err := s.CreateEvent(context.Background(), "alice", in)
			results <- result{ev, replayed, err}
		})
	}
	close(start)
	wg.Wait()
	close(results)

	ids, fresh := map[string]bool{}, 0
	for r := range results {
		if r.err != nil {
			t.Fatalf("create: %v", r.err)
		}
		ids[r.ev.ID] = true
		if !r.replayed {
			fresh++
		}
	}
	if len(ids) != 1 || fresh != 1 {
		t.Fatalf("%d retries gave %d events, %d not replayed; want 1 and 1", n, len(ids), fresh)
	}
	if got := listAll(t, s, "alice", agenda.ListQuery{}); len(got) != 1 {
		t.Fatalf("stored %d events, want 1", len(got))
	}
	if got := pub.flushed(t, s); len(got) != 1 {
		t.Fatalf("published %d changes, want 1", len(got))
	}
}

func testPublishesInCommitOrder(t *testing.T, newDatabase func(t *testing.T) string) {
	ctx := context.Background()
	var (
		s   *Store
		rec recorder
	)
	// A change is published once it has committed, in commit order. The
	// database may hold a later write by then: SQLite's group commit
	// publishes the writes of one transaction one after the other, and a
	// store that publishes through the database may deliver a change after
	// later writes.
	check := agenda.PublisherFunc(func(c agenda.Change) {
		rec.Publish(c)
		if c.Event.UserID == flushUser {
			return
		}
		got, err := s.GetEvent(ctx, c.Event.UserID, c.Event.ID)
		switch {
		case c.Type == agenda.EventDeleted:
			if agenda.ErrorCode(err) != agenda.ENOTFOUND {
				t.Errorf("published %s while the event is still stored (%v)", c.Type, err)
			}
		case err != nil:
			t.Errorf("published %s %v, not in the database (%v)", c.Type, c.Event, err)
		case got.UpdatedAt.Before(c.Event.UpdatedAt):
			t.Errorf("published %s %v before it was in the database (%v)", c.Type, c.Event, got)
		}
	})
	s, _ = mustOpen(t, newDatabase(t), check)

	e := mustCreate(t, s, "alice", agenda.NewEvent{Title: "v0", Start: at(9, 0)})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 10 {
				if _, err := s.UpdateEvent(ctx, "alice", e.ID, agenda.EventPatch{Title: ptr(fmt.Sprintf("v%d.%d", g, i))}); err != nil {
					t.Errorf("update: %v", err)
				}
			}
		})
	}
	wg.Wait()
	final := mustGet(t, s, "alice", e.ID)

	// Failed writes publish nothing.
	_, _, err := s.CreateEvent(ctx, "alice", agenda.NewEvent{Start: at(9, 0)})
	wantCode(t, err, agenda.EINVALID)
	_, err = s.UpdateEvent(ctx, "alice", e.ID, agenda.EventPatch{Title: ptr("")})
	wantCode(t, err, agenda.EINVALID)
	_, err = s.UpdateEvent(ctx, "alice", "evt_missing", agenda.EventPatch{Title: ptr("x")})
	wantCode(t, err, agenda.ENOTFOUND)
	wantCode(t, s.DeleteEvent(ctx, "bob", e.ID), agenda.ENOTFOUND)
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := s.CreateEvent(canceled, "alice", agenda.NewEvent{Title: "never", Start: at(9, 0)}); !errors.Is(err, context.Canceled) {
		t.Fatalf("create with a canceled context: %v", err)
	}

	changes := rec.flushed(t, s)
	if len(changes) != 1+8*10 {
		t.Fatalf("published %d changes, want %d", len(changes), 1+8*10)
	}
	if first := changes[0]; first.Type != agenda.EventCreated || !equal(first.Event, e) {
		t.Errorf("first change %v, want the create", first)
	}
	// Each writer's updates committed one after the other, so they must be
	// published in that order, and the last one published is the state
	// the database ended in.
	next := map[int]int{}
	for _, c := range changes[1:] {
		var g, i int
		if _, err := fmt.Sscanf(c.Event.Title, "v%d.%d", &g, &i); err != nil || c.Type != agenda.EventUpdated {
			t.Fatalf("unexpected change %s %v", c.Type, c.Event)
		}
		if i != next[g] {
			t.Fatalf("writer %d's update %d published after its update %d", g, i, next[g]-1)
		}
		next[g]++
	}
	if c := changes[len(changes)-1]; !equal(c.Event, final) {
		t.Errorf("last update published %v, but the final state is %v", c.Event, final)
	}

	if err := s.DeleteEvent(ctx, "alice", e.ID); err != nil {
		t.Fatal(err)
	}
	changes = rec.flushed(t, s)
	if last := changes[len(changes)-1]; len(changes) != 1+8*10+1 || last.Type != agenda.EventDeleted || !equal(last.Event, final) {
		t.Errorf("after the delete, %d changes, the last %v; want %d, the delete of %v", len(changes), last, 1+8*10+1, final)
	}
}

func testConcurrentWriters(t *testing.T, newDatabase func(t *testing.T) string) {
	ctx := context.Background()
	pub := &recorder{}
	s, _ := mustOpen(t, newDatabase(t), pub)

	const writers, rounds = 32, 25 // each round is a create and an update
	acked := make([]map[string]string, writers)
	done := make(chan struct{})

	// Readers run throughout, and must not fail either.
	var readers sync.WaitGroup
	for range 4 {
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, err := s.ListEvents(ctx, "user0", agenda.ListQuery{Limit: 10}); err != nil {
					t.Errorf("list while writing: %v", err)
					return
				}
			}
		})
	}

	var wg sync.WaitGroup
	for w := range writers {
		acked[w] = map[string]string{}
		wg.Go(func() {
			user := fmt.Sprintf("user%d", w%4)
			for r := range rounds {
				e, _, err := s.CreateEvent(ctx, user, agenda.NewEvent{Title: fmt.Sprintf("w%d r%d", w, r), Start: at(r%24, w)})
				if err != nil {
					t.Errorf("create: %v", err)
					return
				}
				acked[w][e.ID] = e.Title
				u, err := s.UpdateEvent(ctx, user, e.ID, agenda.EventPatch{Notes: ptr("updated")})
				if err != nil {
					t.Errorf("update: %v", err)
					return
				}
				acked[w][u.ID] = u.Title + "|" + u.Notes
			}
		})
	}
	wg.Wait()
	close(done)
	readers.Wait()
	if t.Failed() {
		return
	}

	stored := map[string]string{}
	for u := range 4 {
		for _, e := range listAll(t, s, fmt.Sprintf("user%d", u), agenda.ListQuery{Limit: agenda.MaxLimit}) {
			stored[e.ID] = e.Title + "|" + e.Notes
		}
	}
	total := 0
	for w := range writers {
		for id, want := range acked[w] {
			total++
			if got, ok := stored[id]; !ok || got != want {
				t.Errorf("acknowledged %s as %q, stored %q (present %v)", id, want, got, ok)
			}
		}
	}
	if total != writers*rounds || len(stored) != total {
		t.Fatalf("acknowledged %d events, stored %d; want %d", total, len(stored), writers*rounds)
	}
	if got := len(pub.flushed(t, s)); got != 2*writers*rounds {
		t.Fatalf("published %d changes, want %d", got, 2*writers*rounds)
	}
}

func testReopen(t *testing.T, newDatabase func(t *testing.T) string) {
	ctx := context.Background()
	url := newDatabase(t)
	s, err := Open(ctx, url, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := agenda.NewEvent{Title: "Persistent", Start: at(9, 0), End: ptr(at(10, 0)), TimeZone: "UTC", RequestID: "p"}
	e := mustCreate(t, s, "alice", in)
	expiry := time.Now().Add(time.Hour)
	if err := s.Sessions().Commit("tok", []byte("data"), expiry); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}

	s, err = Open(ctx, url, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	wantEqual(t, mustGet(t, s, "alice", e.ID), e)
	again, replayed, err := s.CreateEvent(ctx, "alice", in)
	if err != nil || !replayed || again.ID != e.ID {
		t.Fatalf("retry after reopen: %v, replayed %v, %v", again, replayed, err)
	}
	if b, found, err := s.Sessions().Find("tok"); err != nil || !found || string(b) != "data" {
		t.Fatalf("session after reopen: %q %v %v", b, found, err)
	}
}

func testSessions(t *testing.T, newDatabase func(t *testing.T) string) {
	ctx := context.Background()
	s, clk := mustOpen(t, newDatabase(t), nil)
	ss, ok := s.Sessions().(scs.CtxStore)
	if !ok {
		t.Fatal("Sessions() is not an scs.CtxStore")
	}
	find := func(token string) ([]byte, bool) {
		t.Helper()
		b, found, err := ss.FindCtx(ctx, token)
		if err != nil {
			t.Fatalf("find %s: %v", token, err)
		}
		return b, found
	}

	if _, found := find("missing"); found {
		t.Fatal("found a session never committed")
	}
	if err := ss.CommitCtx(ctx, "a", []byte("one"), clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if b, found := find("a"); !found || string(b) != "one" {
		t.Fatalf("find a = %q %v", b, found)
	}
	if err := ss.Commit("a", []byte("two"), clk.Now().Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if b, found := find("a"); !found || string(b) != "two" {
		t.Fatalf("after overwrite, find a = %q %v", b, found)
	}
	if err := ss.Commit("empty", nil, clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if b, found := find("empty"); !found || len(b) != 0 {
		t.Fatalf("find empty = %q %v", b, found)
	}
	if err := ss.Commit("past", []byte("x"), clk.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, found := find("past"); found {
		t.Fatal("found a session committed already expired")
	}

	if err := ss.Delete("empty"); err != nil {
		t.Fatal(err)
	}
	if _, found := find("empty"); found {
		t.Fatal("found a deleted session")
	}
	if err := ss.DeleteCtx(ctx, "never-there"); err != nil {
		t.Fatalf("deleting a missing session: %v", err)
	}

	clk.Advance(2*time.Hour + time.Second)
	if _, found := find("a"); found {
		t.Fatal("found an expired session")
	}
	if err := ss.Commit("fresh", []byte("f"), clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.prune(ctx); err != nil {
		t.Fatal(err)
	}
	var tokens []string
	if err := s.reader.Model(&sessionRow{}).Pluck("token", &tokens).Error; err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tokens, []string{"fresh"}) {
		t.Fatalf("after pruning, sessions %q remain; want [fresh]", tokens)
	}
}

// testSessionManager runs the store under scs itself, as the web UI will.
func testSessionManager(t *testing.T, newDatabase func(t *testing.T) string) {
	// scs sets expiries from the real clock.
	s, err := Open(context.Background(), newDatabase(t), nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sm := scs.New()
	sm.Store = s.Sessions()

	h := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/put" {
			sm.Put(r.Context(), "user", "alice")
		}
		fmt.Fprint(w, sm.GetString(r.Context(), "user"))
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/put", nil))
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("got %d cookies, want the session cookie", len(cookies))
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(cookies[0])
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if got := rec.Body.String(); got != "alice" {
		t.Fatalf("second request sees user %q, want alice", got)
	}
}
