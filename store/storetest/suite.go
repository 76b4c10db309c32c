package storetest

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agenda-gpt/agenda"
	"github.com/agenda-gpt/agenda/store"
	"github.com/alexedwards/scs/v2"
)

// Engine is how the suite reaches one database engine.
type Engine struct {
	// NewDatabase returns the DATABASE_URL of a new, empty database.
	NewDatabase func(t *testing.T) string
	// Open opens the store at url, as the engine's Open does, with now as
	// its clock.
	Open func(ctx context.Context, url string, pub agenda.Publisher, now func() time.Time) (*store.Store, error)
	// Column runs query on the database at url, under the store, and
	// returns the one column of text it selects.
	Column func(t *testing.T, url, query string) []string
}

// RunSuite checks a store on eng against what agenda.EventService and the
// session store promise. Every subtest gets a database of its own.
func RunSuite(t *testing.T, eng Engine) {
	tests := []struct {
		name string
		run  func(t *testing.T, eng Engine)
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
		{"IdempotencyCoversEveryField", testIdempotencyCoversEveryField},
		{"RefusesUnstorableText", testRefusesUnstorableText},
		{"IdempotencyExpires", testIdempotencyExpires},
		{"ConcurrentRetries", testConcurrentRetries},
		{"PublishesInCommitOrder", testPublishesInCommitOrder},
		{"ConcurrentWriters", testConcurrentWriters},
		{"Reopen", testReopen},
		{"Sessions", testSessions},
		{"SessionManager", testSessionManager},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, eng) })
	}
}

// Day, a fixed day, keeps the tests independent of when they run.
var Day = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func At(hour, minute int) time.Time {
	return Day.Add(time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute)
}

// Ptr returns a pointer to v.
func Ptr[T any](v T) *T { return &v }

// Clock is a settable time source for expiring keys and sessions.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock that reads t until advanced.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Recorder is a Publisher that keeps what it receives.
type Recorder struct {
	mu      sync.Mutex
	changes []agenda.Change
	arrived chan struct{} // closed, and replaced, at each change
}

func (r *Recorder) Publish(c agenda.Change) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, c)
	if r.arrived != nil {
		close(r.arrived)
		r.arrived = nil
	}
}

// Changes returns what has arrived so far, without flushUser's changes.
func (r *Recorder) Changes() []agenda.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []agenda.Change
	for _, c := range r.changes {
		if c.Event.UserID != FlushUser {
			out = append(out, c)
		}
	}
	return out
}

// FlushUser owns the events flushed writes to mark a point in the stream.
const FlushUser = "flush-marker"

// Flushed returns Changes once every change committed before the call has
// arrived. A store on PostgreSQL delivers changes after the write returns,
// in commit order, so the arrival of a marker written now means that all
// earlier changes are in.
func (r *Recorder) Flushed(t *testing.T, s *store.Store) []agenda.Change {
	t.Helper()
	marker := MustCreate(t, s, FlushUser, agenda.NewEvent{Title: "marker", Start: Day})
	r.WaitFor(t, func(c agenda.Change) bool { return c.Event.ID == marker.ID })
	return r.Changes()
}

// WaitFor waits until a change matching ok has arrived.
func (r *Recorder) WaitFor(t *testing.T, ok func(agenda.Change) bool) {
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

// MustOpen opens url with a clock starting the day before Day and closes
// it at the end of the test.
func (eng Engine) MustOpen(t *testing.T, url string, pub agenda.Publisher) (*store.Store, *Clock) {
	t.Helper()
	clk := NewClock(Day.Add(-24 * time.Hour))
	s, err := eng.Open(context.Background(), url, pub, clk.Now)
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

// prune deletes what has expired by clk in the database at url, as the
// store does at Open and every few minutes after.
func (eng Engine) prune(t *testing.T, url string, clk *Clock) {
	t.Helper()
	s, err := eng.Open(context.Background(), url, nil, clk.Now)
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func MustCreate(t *testing.T, s *store.Store, userID string, in agenda.NewEvent) agenda.Event {
	t.Helper()
	e, _, err := s.CreateEvent(context.Background(), userID, in)
	if err != nil {
		t.Fatalf("create %q: %v", in.Title, err)
	}
	return e
}

func MustGet(t *testing.T, s *store.Store, userID, id string) agenda.Event {
	t.Helper()
	e, err := s.GetEvent(context.Background(), userID, id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return e
}

// ListAll walks every page of q and returns the events in order.
func ListAll(t *testing.T, s *store.Store, userID string, q agenda.ListQuery) []agenda.Event {
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

func WantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := agenda.ErrorCode(err); got != code {
		t.Fatalf("error %v has code %q, want %q", err, got, code)
	}
}

func Equal(a, b agenda.Event) bool {
	return a.ID == b.ID && a.UserID == b.UserID && a.Title == b.Title && a.Start.Equal(b.Start) &&
		((a.End == nil) == (b.End == nil) && (a.End == nil || a.End.Equal(*b.End))) &&
		a.TimeZone == b.TimeZone && a.AllDay == b.AllDay && a.Location == b.Location && a.Notes == b.Notes &&
		a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt)
}

func WantEqual(t *testing.T, got, want agenda.Event) {
	t.Helper()
	if !Equal(got, want) {
		t.Fatalf("got  %#v\nwant %#v", got, want)
	}
}

var idPattern = regexp.MustCompile(`^evt_[a-z2-7]{26}$`)

func testCRUD(t *testing.T, eng Engine) {
	ctx := context.Background()
	s, clk := eng.MustOpen(t, eng.NewDatabase(t), nil)
	paris, _ := time.LoadLocation("Europe/Paris")

	in := agenda.NewEvent{
		Title:    "  Dentist ",
		Start:    time.Date(2026, 12, 1, 9, 30, 0, 0, paris),
		End:      Ptr(time.Date(2026, 12, 1, 10, 15, 0, 0, paris)),
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
	WantEqual(t, created, want)
	WantEqual(t, MustGet(t, s, "alice", created.ID), want)

	clk.Advance(time.Hour)
	updated, err := s.UpdateEvent(ctx, "alice", created.ID, agenda.EventPatch{
		Title:    Ptr("Dentist (moved)"),
		Start:    Ptr(time.Date(2026, 12, 2, 14, 0, 0, 0, paris)),
		ClearEnd: true,
		AllDay:   Ptr(true),
		Location: Ptr(""),
	})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	want.Title, want.Start, want.End, want.AllDay, want.Location = "Dentist (moved)", time.Date(2026, 12, 2, 14, 0, 0, 0, paris), nil, true, ""
	want.UpdatedAt = clk.Now()
	WantEqual(t, updated, want)
	WantEqual(t, MustGet(t, s, "alice", created.ID), want)

	if got := ListAll(t, s, "alice", agenda.ListQuery{}); len(got) != 1 || !Equal(got[0], want) {
		t.Fatalf("list = %v, want [%v]", got, want)
	}

	if err := s.DeleteEvent(ctx, "alice", created.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err = s.GetEvent(ctx, "alice", created.ID)
	WantCode(t, err, agenda.ENOTFOUND)
	if msg, want := agenda.ErrorMessage(err), fmt.Sprintf("no event with id %q; list events to find the right id", created.ID); msg != want {
		t.Errorf("message %q, want %q", msg, want)
	}
	_, err = s.UpdateEvent(ctx, "alice", created.ID, agenda.EventPatch{Title: Ptr("x")})
	WantCode(t, err, agenda.ENOTFOUND)
	WantCode(t, s.DeleteEvent(ctx, "alice", created.ID), agenda.ENOTFOUND)
	if got := ListAll(t, s, "alice", agenda.ListQuery{}); len(got) != 0 {
		t.Fatalf("list after delete = %v", got)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
}

func testValidation(t *testing.T, eng Engine) {
	ctx := context.Background()
	pub := &Recorder{}
	s, _ := eng.MustOpen(t, eng.NewDatabase(t), pub)
	ok := agenda.NewEvent{Title: "Standup", Start: At(9, 0)}

	for name, in := range map[string]agenda.NewEvent{
		"no title":        {Start: At(9, 0)},
		"long title":      {Title: strings.Repeat("é", agenda.MaxTitleLength+1), Start: At(9, 0)},
		"no start":        {Title: "Standup"},
		"end before":      {Title: "Standup", Start: At(9, 0), End: Ptr(At(8, 0))},
		"bad zone":        {Title: "Standup", Start: At(9, 0), TimeZone: "Mars/Olympus"},
		"wrong offset":    {Title: "Standup", Start: At(9, 0), TimeZone: "Europe/Paris"},
		"long notes":      {Title: "Standup", Start: At(9, 0), Notes: strings.Repeat("n", agenda.MaxNotesLength+1)},
		"long request id": {Title: "Standup", Start: At(9, 0), RequestID: strings.Repeat("r", agenda.MaxRequestIDLen+1)},
	} {
		t.Run(name, func(t *testing.T) {
			_, domainErr := in.Event()
			_, _, err := s.CreateEvent(ctx, "alice", in)
			WantCode(t, err, agenda.EINVALID)
			if agenda.ErrorMessage(err) != agenda.ErrorMessage(domainErr) || agenda.ErrorMessage(err) == "" {
				t.Errorf("message %q, want the domain's %q", agenda.ErrorMessage(err), agenda.ErrorMessage(domainErr))
			}
		})
	}

	e := MustCreate(t, s, "alice", ok)
	for name, p := range map[string]agenda.EventPatch{
		"empty title":  {Title: Ptr(" ")},
		"end before":   {End: Ptr(At(8, 0))},
		"start after":  {Start: Ptr(At(9, 0)), End: Ptr(At(8, 59))},
		"bad zone":     {TimeZone: Ptr("Europe/Nowhere")},
		"wrong offset": {TimeZone: Ptr("America/New_York"), Start: Ptr(At(9, 0))},
	} {
		t.Run("patch "+name, func(t *testing.T) {
			_, domainErr := e.Patched(p)
			_, err := s.UpdateEvent(ctx, "alice", e.ID, p)
			WantCode(t, err, agenda.EINVALID)
			if agenda.ErrorMessage(err) != agenda.ErrorMessage(domainErr) {
				t.Errorf("message %q, want the domain's %q", agenda.ErrorMessage(err), agenda.ErrorMessage(domainErr))
			}
			WantEqual(t, MustGet(t, s, "alice", e.ID), e)
		})
	}
	if got := pub.Flushed(t, s); len(got) != 1 {
		t.Errorf("published %d changes, want only the one create: %v", len(got), got)
	}
}

func testUsersAreIsolated(t *testing.T, eng Engine) {
	ctx := context.Background()
	pub := &Recorder{}
	s, _ := eng.MustOpen(t, eng.NewDatabase(t), pub)
	mine := MustCreate(t, s, "alice", agenda.NewEvent{Title: "Alice's", Start: At(9, 0), RequestID: "r1"})

	// Bob's view of Alice's event is the same as of an id that does not exist.
	_, err := s.GetEvent(ctx, "bob", mine.ID)
	WantCode(t, err, agenda.ENOTFOUND)
	_, err = s.UpdateEvent(ctx, "bob", mine.ID, agenda.EventPatch{Title: Ptr("Bob's now")})
	WantCode(t, err, agenda.ENOTFOUND)
	WantCode(t, s.DeleteEvent(ctx, "bob", mine.ID), agenda.ENOTFOUND)
	if got := ListAll(t, s, "bob", agenda.ListQuery{}); len(got) != 0 {
		t.Fatalf("bob lists %v", got)
	}
	if got := ListAll(t, s, "bob", agenda.ListQuery{Text: "alice"}); len(got) != 0 {
		t.Fatalf("bob finds %v", got)
	}
	// The same request_id is Bob's own.
	bobs, replayed, err := s.CreateEvent(ctx, "bob", agenda.NewEvent{Title: "Bob's", Start: At(9, 0), RequestID: "r1"})
	if err != nil || replayed || bobs.ID == mine.ID || bobs.UserID != "bob" {
		t.Fatalf("bob's create with alice's request_id: %v %v %v", bobs, replayed, err)
	}
	if _, _, err := s.CreateEvent(ctx, "", agenda.NewEvent{Title: "Nobody's", Start: At(9, 0)}); err == nil {
		t.Fatal("created an event without an owner")
	}

	WantEqual(t, MustGet(t, s, "alice", mine.ID), mine)
	if got := pub.Flushed(t, s); len(got) != 2 || got[0].Event.UserID != "alice" || got[1].Event.UserID != "bob" {
		t.Fatalf("published %v", got)
	}
}

func testWindow(t *testing.T, eng Engine) {
	s, _ := eng.MustOpen(t, eng.NewDatabase(t), nil)
	for _, in := range []agenda.NewEvent{
		{Title: "before", Start: At(7, 0)},                           // instant, before the window
		{Title: "ends at from", Start: At(8, 0), End: Ptr(At(9, 0))}, // touches from only
		{Title: "spans from", Start: At(8, 30), End: Ptr(At(9, 30))},
		{Title: "instant at from", Start: At(9, 0)},
		{Title: "inside", Start: At(9, 15), End: Ptr(At(9, 45))},
		{Title: "spans to", Start: At(9, 59), End: Ptr(At(11, 0))},
		{Title: "starts at to", Start: At(10, 0)},
		{Title: "spans all", Start: At(6, 0), End: Ptr(At(12, 0))},
		{Title: "later", Start: At(13, 0), End: Ptr(At(14, 0))},
	} {
		MustCreate(t, s, "alice", in)
	}
	MustCreate(t, s, "bob", agenda.NewEvent{Title: "bob inside", Start: At(9, 15)})

	for _, tt := range []struct {
		name     string
		from, to *time.Time
		want     []string // in start, id order
	}{
		{"window", Ptr(At(9, 0)), Ptr(At(10, 0)), []string{"spans all", "spans from", "instant at from", "inside", "spans to"}},
		{"open start", nil, Ptr(At(9, 0)), []string{"spans all", "before", "ends at from", "spans from"}},
		{"open end", Ptr(At(10, 0)), nil, []string{"spans all", "spans to", "starts at to", "later"}},
		{"open", nil, nil, []string{"spans all", "before", "ends at from", "spans from", "instant at from", "inside", "spans to", "starts at to", "later"}},
		{"empty window inside an event", Ptr(At(9, 20)), Ptr(At(9, 20)), []string{"spans all", "spans from", "inside"}},
		{"zones do not matter", Ptr(At(9, 0).In(time.FixedZone("UTC+1", 3600))), Ptr(At(10, 0).In(time.FixedZone("UTC-5", -5*3600))),
			[]string{"spans all", "spans from", "instant at from", "inside", "spans to"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := titles(ListAll(t, s, "alice", agenda.ListQuery{From: tt.from, To: tt.to}))
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
		})
	}

	_, err := s.ListEvents(context.Background(), "alice", agenda.ListQuery{From: Ptr(At(10, 0)), To: Ptr(At(9, 0))})
	WantCode(t, err, agenda.EINVALID)

	// An event made longer than any other by an update is still found from
	// inside its new span.
	long := MustCreate(t, s, "alice", agenda.NewEvent{Title: "grows", Start: At(-72, 0)})
	if _, err := s.UpdateEvent(context.Background(), "alice", long.ID, agenda.EventPatch{End: Ptr(At(72, 0))}); err != nil {
		t.Fatal(err)
	}
	got := titles(ListAll(t, s, "alice", agenda.ListQuery{From: Ptr(At(13, 30)), To: Ptr(At(13, 31))}))
	if want := []string{"grows", "later"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func testTextSearch(t *testing.T, eng Engine) {
	s, _ := eng.MustOpen(t, eng.NewDatabase(t), nil)
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
		in.Start = At(8+i, 0)
		MustCreate(t, s, "alice", in)
	}
	MustCreate(t, s, "bob", agenda.NewEvent{Title: "Café for Bob", Start: At(8, 0)})

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
			got := titles(ListAll(t, s, "alice", agenda.ListQuery{Text: tt.text}))
			if !slices.Equal(got, tt.want) {
				t.Fatalf("search %q: got %q, want %q", tt.text, got, tt.want)
			}
		})
	}

	got := titles(ListAll(t, s, "alice", agenda.ListQuery{Text: "e", From: Ptr(At(9, 0)), To: Ptr(At(13, 0))}))
	if want := []string{"Lunch", "Walk", "100% done", "snake_case review"}; !slices.Equal(got, want) {
		t.Fatalf("search with window: got %q, want %q", got, want)
	}
	_, err := s.ListEvents(context.Background(), "alice", agenda.ListQuery{Text: strings.Repeat("x", agenda.MaxTextQueryLen+1)})
	WantCode(t, err, agenda.EINVALID)
}

func testPagination(t *testing.T, eng Engine) {
	s, _ := eng.MustOpen(t, eng.NewDatabase(t), nil)
	// 25 events on 7 distinct starts, so pages break inside runs of ties.
	var want []agenda.Event
	for i := range 25 {
		want = append(want, MustCreate(t, s, "alice", agenda.NewEvent{Title: fmt.Sprint(i), Start: At(8+i%7, 0)}))
		MustCreate(t, s, "bob", agenda.NewEvent{Title: fmt.Sprint(i), Start: At(8+i%7, 0)})
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
				if !Equal(got[i], want[i]) {
					t.Fatalf("event %d is %v, want %v", i, got[i], want[i])
				}
			}
		})
	}

	// With a window the walk stays inside it.
	got := ListAll(t, s, "alice", agenda.ListQuery{Limit: 2, From: Ptr(At(9, 0)), To: Ptr(At(11, 0))})
	var inWindow []agenda.Event
	for _, e := range want {
		if !e.Start.Before(At(9, 0)) && e.Start.Before(At(11, 0)) {
			inWindow = append(inWindow, e)
		}
	}
	if !slices.EqualFunc(got, inWindow, Equal) {
		t.Fatalf("windowed walk: got %v, want %v", got, inWindow)
	}
}

func testLimits(t *testing.T, eng Engine) {
	ctx := context.Background()
	s, _ := eng.MustOpen(t, eng.NewDatabase(t), nil)
	for i := range agenda.DefaultLimit + 1 {
		MustCreate(t, s, "alice", agenda.NewEvent{Title: fmt.Sprint(i), Start: At(0, i)})
	}
	p, err := s.ListEvents(ctx, "alice", agenda.ListQuery{})
	if err != nil || len(p.Events) != agenda.DefaultLimit || p.NextCursor == "" {
		t.Fatalf("limit 0: %d events, cursor %q, %v; want %d and a cursor", len(p.Events), p.NextCursor, err, agenda.DefaultLimit)
	}
	for _, limit := range []int{-1, agenda.MaxLimit + 1} {
		_, err := s.ListEvents(ctx, "alice", agenda.ListQuery{Limit: limit})
		WantCode(t, err, agenda.EINVALID)
		if msg := agenda.ErrorMessage(err); !strings.Contains(msg, fmt.Sprint(agenda.MaxLimit)) {
			t.Errorf("limit %d: message %q does not give the range", limit, msg)
		}
	}
	p, err = s.ListEvents(ctx, "nobody", agenda.ListQuery{})
	if err != nil || p.Events == nil || len(p.Events) != 0 || p.NextCursor != "" {
		t.Fatalf("empty list: %#v, %v; want no events, not nil, and no cursor", p, err)
	}
}

func testBadCursor(t *testing.T, eng Engine) {
	s, _ := eng.MustOpen(t, eng.NewDatabase(t), nil)
	MustCreate(t, s, "alice", agenda.NewEvent{Title: "a", Start: At(9, 0)})
	for _, c := range []string{
		"!!!",
		"not base64 at all",
		base64.RawURLEncoding.EncodeToString([]byte("123")),      // no id
		base64.RawURLEncoding.EncodeToString([]byte("123.")),     // empty id
		base64.RawURLEncoding.EncodeToString([]byte("xyz.evt_")), // no start
		base64.StdEncoding.EncodeToString([]byte("1.evt_a?")),    // padded, not URL-safe
		// Tampered: PostgreSQL would fail on the NUL or invalid UTF-8 in
		// the id, and the others are not what the store writes.
		base64.RawURLEncoding.EncodeToString([]byte("1.evt_\x00")),
		base64.RawURLEncoding.EncodeToString([]byte("1.evt_\xff")),
		base64.RawURLEncoding.EncodeToString([]byte("+1.evt_a")),
		base64.RawURLEncoding.EncodeToString([]byte("01.evt_a")),
		base64.RawURLEncoding.EncodeToString([]byte("1.evt_a")) + "=",
	} {
		_, err := s.ListEvents(context.Background(), "alice", agenda.ListQuery{Cursor: c})
		WantCode(t, err, agenda.EINVALID)
		want := "cursor is not valid; pass next_cursor from the previous response unchanged, or leave it out"
		if msg := agenda.ErrorMessage(err); msg != want {
			t.Errorf("cursor %q: message %q, want %q", c, msg, want)
		}
	}
}

func testIdempotentCreate(t *testing.T, eng Engine) {
	ctx := context.Background()
	pub := &Recorder{}
	s, clk := eng.MustOpen(t, eng.NewDatabase(t), pub)
	in := agenda.NewEvent{Title: "Flight", Start: At(9, 0), End: Ptr(At(11, 0)), RequestID: "trip-1"}

	first, replayed, err := s.CreateEvent(ctx, "alice", in)
	if err != nil || replayed {
		t.Fatalf("first create: %v, replayed %v", err, replayed)
	}
	clk.Advance(time.Minute)

	// The same request again, even written differently, replays the first.
	same := in
	same.Title = " Flight "
	same.Start = At(9, 0).In(time.FixedZone("UTC+1", 3600))
	again, replayed, err := s.CreateEvent(ctx, "alice", same)
	if err != nil || !replayed {
		t.Fatalf("retry: %v, replayed %v", err, replayed)
	}
	WantEqual(t, again, first)

	// Another request under the same id is refused.
	other := in
	other.Title = "Train"
	_, _, err = s.CreateEvent(ctx, "alice", other)
	WantCode(t, err, agenda.ECONFLICT)
	if want := `request_id "trip-1" was already used for a different event; make up a new request_id for each new event`; agenda.ErrorMessage(err) != want {
		t.Errorf("message %q, want %q", agenda.ErrorMessage(err), want)
	}

	// The replay is the first result, even after the event changed or went.
	if _, err := s.UpdateEvent(ctx, "alice", first.ID, agenda.EventPatch{Title: Ptr("Flight (delayed)")}); err != nil {
		t.Fatal(err)
	}
	again, replayed, err = s.CreateEvent(ctx, "alice", in)
	if err != nil || !replayed {
		t.Fatalf("retry after update: %v, replayed %v", err, replayed)
	}
	WantEqual(t, again, first)
	if err := s.DeleteEvent(ctx, "alice", first.ID); err != nil {
		t.Fatal(err)
	}
	again, replayed, err = s.CreateEvent(ctx, "alice", in)
	if err != nil || !replayed {
		t.Fatalf("retry after delete: %v, replayed %v", err, replayed)
	}
	WantEqual(t, again, first)
	if got := ListAll(t, s, "alice", agenda.ListQuery{}); len(got) != 0 {
		t.Fatalf("a replay recreated the event: %v", got)
	}

	// Without a request_id, the same content is a new event each time.
	in.RequestID = ""
	a, b := MustCreate(t, s, "alice", in), MustCreate(t, s, "alice", in)
	if a.ID == b.ID {
		t.Fatal("two creates without request_id gave one event")
	}

	var types []agenda.ChangeType
	for _, c := range pub.Flushed(t, s) {
		types = append(types, c.Type)
	}
	want := []agenda.ChangeType{agenda.EventCreated, agenda.EventUpdated, agenda.EventDeleted, agenda.EventCreated, agenda.EventCreated}
	if !slices.Equal(types, want) {
		t.Fatalf("published %v, want %v (nothing for replays and conflicts)", types, want)
	}
}

// testIdempotencyCoversEveryField: a retry with the same request_id and any
// one field of the create changed is another request, refused with
// ECONFLICT; the identical body replays the first result. The cases must
// cover every field of agenda.NewEvent, so a field added later fails here
// until it has one.
func testIdempotencyCoversEveryField(t *testing.T, eng Engine) {
	ctx := context.Background()
	s, _ := eng.MustOpen(t, eng.NewDatabase(t), nil)
	base := agenda.NewEvent{Title: "Flight", Start: At(9, 0), End: Ptr(At(11, 0)), TimeZone: "UTC", Location: "Gate 4", Notes: "window seat"}
	changes := map[string]func(in *agenda.NewEvent){
		"Title":            func(in *agenda.NewEvent) { in.Title = "Train" },
		"Start":            func(in *agenda.NewEvent) { in.Start = At(9, 1) },
		"End":              func(in *agenda.NewEvent) { in.End = Ptr(At(11, 1)) },
		"End removed":      func(in *agenda.NewEvent) { in.End = nil },
		"TimeZone":         func(in *agenda.NewEvent) { in.TimeZone = "Africa/Abidjan" }, // UTC+0 too: same offsets
		"TimeZone removed": func(in *agenda.NewEvent) { in.TimeZone = "" },
		"AllDay":           func(in *agenda.NewEvent) { in.AllDay = true },
		"Location":         func(in *agenda.NewEvent) { in.Location = "Gate 5" },
		"Location removed": func(in *agenda.NewEvent) { in.Location = "" },
		"Notes":            func(in *agenda.NewEvent) { in.Notes = "aisle seat" },
		"Notes spaced":     func(in *agenda.NewEvent) { in.Notes = "window seat " }, // notes are kept as sent
		"Notes removed":    func(in *agenda.NewEvent) { in.Notes = "" },
	}
	fields := reflect.TypeFor[agenda.NewEvent]()
	for i := range fields.NumField() {
		name := fields.Field(i).Name
		if _, ok := changes[name]; !ok && name != "RequestID" { // RequestID names the request
			t.Fatalf("no case changes NewEvent.%s: add one, so a retry that changes it is shown to conflict", name)
		}
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			in := base
			in.RequestID = "req " + name
			first, replayed, err := s.CreateEvent(ctx, "alice", in)
			if err != nil || replayed {
				t.Fatalf("first create: %v, replayed %v", err, replayed)
			}
			again, replayed, err := s.CreateEvent(ctx, "alice", in)
			if err != nil || !replayed {
				t.Fatalf("identical retry: %v, replayed %v", err, replayed)
			}
			WantEqual(t, again, first)

			other := in
			change(&other)
			_, _, err = s.CreateEvent(ctx, "alice", other)
			WantCode(t, err, agenda.ECONFLICT)
			// The changed body is a valid event of its own.
			other.RequestID += " (new)"
			MustCreate(t, s, "alice", other)
		})
	}
}

// testRefusesUnstorableText: NUL characters and invalid UTF-8, which
// PostgreSQL cannot store and SQLite's LIKE cuts at, are refused with
// EINVALID naming the field on every engine, as are times outside years
// 0001-9999; nothing is stored.
func testRefusesUnstorableText(t *testing.T, eng Engine) {
	ctx := context.Background()
	s, _ := eng.MustOpen(t, eng.NewDatabase(t), nil)
	e := MustCreate(t, s, "alice", agenda.NewEvent{Title: "kept", Start: At(9, 0)})
	MustCreate(t, s, "alice", agenda.NewEvent{Title: "other", Start: At(10, 0)})
	const rule = " must be valid UTF-8 text without NUL characters"
	want := func(t *testing.T, err error, message string) {
		t.Helper()
		WantCode(t, err, agenda.EINVALID)
		if !strings.Contains(agenda.ErrorMessage(err), message) {
			t.Errorf("message %q does not say %q", agenda.ErrorMessage(err), message)
		}
	}
	for _, bad := range []string{"a\x00b", "a\xffb"} {
		ok := agenda.NewEvent{Title: "x", Start: At(9, 0)}
		for field, change := range map[string]func(in *agenda.NewEvent){
			"title":      func(in *agenda.NewEvent) { in.Title = bad },
			"notes":      func(in *agenda.NewEvent) { in.Notes = bad },
			"location":   func(in *agenda.NewEvent) { in.Location = bad },
			"time_zone":  func(in *agenda.NewEvent) { in.TimeZone = bad },
			"request_id": func(in *agenda.NewEvent) { in.RequestID = bad },
		} {
			in := ok
			change(&in)
			_, _, err := s.CreateEvent(ctx, "alice", in)
			want(t, err, field+rule)
		}
		_, err := s.UpdateEvent(ctx, "alice", e.ID, agenda.EventPatch{Notes: &bad})
		want(t, err, "notes"+rule)
		_, err = s.GetEvent(ctx, "alice", "evt_"+bad)
		want(t, err, "id"+rule)
		_, err = s.UpdateEvent(ctx, "alice", "evt_"+bad, agenda.EventPatch{Title: Ptr("x")})
		want(t, err, "id"+rule)
		want(t, s.DeleteEvent(ctx, "alice", "evt_"+bad), "id"+rule)
		_, err = s.ListEvents(ctx, "alice", agenda.ListQuery{Text: bad})
		want(t, err, "q"+rule)
		_, err = s.ListEvents(ctx, "alice", agenda.ListQuery{Cursor: bad})
		want(t, err, "cursor"+rule)
	}
	// On SQLite a NUL ended the LIKE pattern, and q=%00 matched every event.
	_, err := s.ListEvents(ctx, "alice", agenda.ListQuery{Text: "\x00"})
	want(t, err, "q"+rule)

	late, _ := time.Parse(time.RFC3339, "9999-12-31T23:59:59-01:00")
	_, _, err = s.CreateEvent(ctx, "alice", agenda.NewEvent{Title: "late", Start: late})
	want(t, err, "start must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z")
	_, err = s.UpdateEvent(ctx, "alice", e.ID, agenda.EventPatch{End: &late})
	want(t, err, "end must be between")
	_, err = s.ListEvents(ctx, "alice", agenda.ListQuery{From: &late})
	want(t, err, "from must be between")

	if got := titles(ListAll(t, s, "alice", agenda.ListQuery{})); !slices.Equal(got, []string{"kept", "other"}) {
		t.Fatalf("stored %q, want only [kept other]", got)
	}
	WantEqual(t, MustGet(t, s, "alice", e.ID), e)
}

func testIdempotencyExpires(t *testing.T, eng Engine) {
	ctx := context.Background()
	url := eng.NewDatabase(t)
	s, clk := eng.MustOpen(t, url, nil)
	in := agenda.NewEvent{Title: "Weekly", Start: At(9, 0), RequestID: "weekly"}
	first := MustCreate(t, s, "alice", in)

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
	WantCode(t, err, agenda.ECONFLICT)

	// Pruning removes expired keys only.
	MustCreate(t, s, "alice", agenda.NewEvent{Title: "Keep", Start: At(9, 0), RequestID: "keep"})
	clk.Advance(agenda.IdempotencyHours*time.Hour + time.Second)
	MustCreate(t, s, "alice", agenda.NewEvent{Title: "Young", Start: At(9, 0), RequestID: "young"})
	eng.prune(t, url, clk)
	if keys := eng.Column(t, url, "SELECT request_id FROM idempotency_keys ORDER BY request_id"); !slices.Equal(keys, []string{"young"}) {
		t.Fatalf("after pruning, keys %q remain; want only [young]", keys)
	}
}

func testConcurrentRetries(t *testing.T, eng Engine) {
	pub := &Recorder{}
	s, _ := eng.MustOpen(t, eng.NewDatabase(t), pub)
	in := agenda.NewEvent{Title: "Once", Start: At(9, 0), RequestID: "once"}

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
	if got := ListAll(t, s, "alice", agenda.ListQuery{}); len(got) != 1 {
		t.Fatalf("stored %d events, want 1", len(got))
	}
	if got := pub.Flushed(t, s); len(got) != 1 {
		t.Fatalf("published %d changes, want 1", len(got))
	}
}

func testPublishesInCommitOrder(t *testing.T, eng Engine) {
	ctx := context.Background()
	var (
		s   *store.Store
		rec Recorder
	)
	// A change is published once it has committed, in commit order. The
	// database may hold a later write by then: SQLite's group commit
	// publishes the writes of one transaction one after the other, and a
	// store that publishes through the database may deliver a change after
	// later writes.
	check := agenda.PublisherFunc(func(c agenda.Change) {
		rec.Publish(c)
		if c.Event.UserID == FlushUser {
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
	s, _ = eng.MustOpen(t, eng.NewDatabase(t), check)

	e := MustCreate(t, s, "alice", agenda.NewEvent{Title: "v0", Start: At(9, 0)})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 10 {
				if _, err := s.UpdateEvent(ctx, "alice", e.ID, agenda.EventPatch{Title: Ptr(fmt.Sprintf("v%d.%d", g, i))}); err != nil {
					t.Errorf("update: %v", err)
				}
			}
		})
	}
	wg.Wait()
	final := MustGet(t, s, "alice", e.ID)

	// Failed writes publish nothing.
	_, _, err := s.CreateEvent(ctx, "alice", agenda.NewEvent{Start: At(9, 0)})
	WantCode(t, err, agenda.EINVALID)
	_, err = s.UpdateEvent(ctx, "alice", e.ID, agenda.EventPatch{Title: Ptr("")})
	WantCode(t, err, agenda.EINVALID)
	_, err = s.UpdateEvent(ctx, "alice", "evt_missing", agenda.EventPatch{Title: Ptr("x")})
	WantCode(t, err, agenda.ENOTFOUND)
	WantCode(t, s.DeleteEvent(ctx, "bob", e.ID), agenda.ENOTFOUND)
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := s.CreateEvent(canceled, "alice", agenda.NewEvent{Title: "never", Start: At(9, 0)}); !errors.Is(err, context.Canceled) {
		t.Fatalf("create with a canceled context: %v", err)
	}

	changes := rec.Flushed(t, s)
	if len(changes) != 1+8*10 {
		t.Fatalf("published %d changes, want %d", len(changes), 1+8*10)
	}
	if first := changes[0]; first.Type != agenda.EventCreated || !Equal(first.Event, e) {
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
	if c := changes[len(changes)-1]; !Equal(c.Event, final) {
		t.Errorf("last update published %v, but the final state is %v", c.Event, final)
	}

	if err := s.DeleteEvent(ctx, "alice", e.ID); err != nil {
		t.Fatal(err)
	}
	changes = rec.Flushed(t, s)
	if last := changes[len(changes)-1]; len(changes) != 1+8*10+1 || last.Type != agenda.EventDeleted || !Equal(last.Event, final) {
		t.Errorf("after the delete, %d changes, the last %v; want %d, the delete of %v", len(changes), last, 1+8*10+1, final)
	}
}

func testConcurrentWriters(t *testing.T, eng Engine) {
	ctx := context.Background()
	pub := &Recorder{}
	s, _ := eng.MustOpen(t, eng.NewDatabase(t), pub)

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
				e, _, err := s.CreateEvent(ctx, user, agenda.NewEvent{Title: fmt.Sprintf("w%d r%d", w, r), Start: At(r%24, w)})
				if err != nil {
					t.Errorf("create: %v", err)
					return
				}
				acked[w][e.ID] = e.Title
				u, err := s.UpdateEvent(ctx, user, e.ID, agenda.EventPatch{Notes: Ptr("updated")})
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
		for _, e := range ListAll(t, s, fmt.Sprintf("user%d", u), agenda.ListQuery{Limit: agenda.MaxLimit}) {
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
	if got := len(pub.Flushed(t, s)); got != 2*writers*rounds {
		t.Fatalf("published %d changes, want %d", got, 2*writers*rounds)
	}
}

func testReopen(t *testing.T, eng Engine) {
	ctx := context.Background()
	url := eng.NewDatabase(t)
	s, err := eng.Open(ctx, url, nil, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	in := agenda.NewEvent{Title: "Persistent", Start: At(9, 0), End: Ptr(At(10, 0)), TimeZone: "UTC", RequestID: "p"}
	e := MustCreate(t, s, "alice", in)
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

	s, err = eng.Open(ctx, url, nil, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	WantEqual(t, MustGet(t, s, "alice", e.ID), e)
	again, replayed, err := s.CreateEvent(ctx, "alice", in)
	if err != nil || !replayed || again.ID != e.ID {
		t.Fatalf("retry after reopen: %v, replayed %v, %v", again, replayed, err)
	}
	if b, found, err := s.Sessions().Find("tok"); err != nil || !found || string(b) != "data" {
		t.Fatalf("session after reopen: %q %v %v", b, found, err)
	}
}

func testSessions(t *testing.T, eng Engine) {
	ctx := context.Background()
	url := eng.NewDatabase(t)
	s, clk := eng.MustOpen(t, url, nil)
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
	eng.prune(t, url, clk)
	if tokens := eng.Column(t, url, "SELECT token FROM sessions ORDER BY token"); !slices.Equal(tokens, []string{"fresh"}) {
		t.Fatalf("after pruning, sessions %q remain; want [fresh]", tokens)
	}
}

// testSessionManager runs the store under scs itself, as the web UI will.
func testSessionManager(t *testing.T, eng Engine) {
	// scs sets expiries from the real clock.
	s, err := eng.Open(context.Background(), eng.NewDatabase(t), nil, time.Now)
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
