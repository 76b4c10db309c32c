package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/agenda-gpt/agenda"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// eventRow is an event as stored, and the one definition the store derives
// everything else from (eventColumns below): the columns GORM creates, the
// columns a read selects and scans, the columns an update or a copy sets,
// and what an idempotency key's hash covers. Times are UTC Unix seconds,
// which order and compare the same way on every engine.
//
// Tags: GORM's `<-:create` marks what never changes after the create;
// `store:"meta"` what is about the row rather than what the event says
// (left out of the idempotency hash); `store:"query"` what only serves
// queries (not read back).
type eventRow struct {
	ID     string `gorm:"primaryKey;<-:create;index:idx_events_user_start,priority:3" store:"meta"`
	UserID string `gorm:"not null;<-:create;index:idx_events_user_start,priority:1;index:idx_events_user_span,priority:1" store:"meta"`
	Title  string `gorm:"not null"`
	// StartUnix leads the index after UserID: listings are per user and
	// ordered by start, then id.
	StartUnix int64 `gorm:"not null;index:idx_events_user_start,priority:2"`
	EndUnix   *int64
	// UntilUnix is EndUnix, or StartUnix when there is no end, so that the
	// overlap test is one comparison.
	UntilUnix int64 `gorm:"not null" store:"query"`
	// SpanUnix is UntilUnix - StartUnix. The user's longest span bounds how
	// long before a window an overlapping event can start; see ListEvents.
	SpanUnix int64  `gorm:"not null;index:idx_events_user_span,priority:2" store:"query"`
	TimeZone string `gorm:"not null"`
	AllDay   bool   `gorm:"not null"`
	Location string `gorm:"not null"`
	Notes    string `gorm:"not null"`
	// SearchText is title, notes and location, lowercased in Go: SQLite's
	// LOWER and LIKE fold ASCII letters only.
	SearchText  string `gorm:"not null" store:"query"`
	CreatedUnix int64  `gorm:"not null;<-:create" store:"meta"`
	UpdatedUnix int64  `gorm:"not null" store:"meta"`
}

func (eventRow) TableName() string { return "events" }

// eventColumns are eventRow's columns by use, from GORM's parse of it.
var eventColumns = parseEventColumns()

type columns struct {
	read       []string // what reading an event selects, in readFields' order
	readFields [][]int  // where each read column is scanned to in eventRow
	update     []string // what an update or a newer copy sets
	content    [][]int  // the fields an idempotency key's hash covers
}

func parseEventColumns() columns {
	sch, err := schema.Parse(&eventRow{}, &sync.Map{}, schema.NamingStrategy{})
	if err != nil {
		panic(fmt.Sprintf("store: parse eventRow: %v", err))
	}
	var c columns
	for _, f := range sch.Fields {
		role := f.Tag.Get("store")
		if role != "query" {
			c.read = append(c.read, f.DBName)
			c.readFields = append(c.readFields, f.StructField.Index)
		}
		if f.Updatable && !f.PrimaryKey {
			c.update = append(c.update, f.DBName)
		}
		if role != "meta" {
			c.content = append(c.content, f.StructField.Index)
		}
	}
	return c
}

func newEventRow(e agenda.Event) eventRow {
	r := eventRow{
		ID:          e.ID,
		UserID:      e.UserID,
		Title:       e.Title,
		StartUnix:   e.Start.Unix(),
		UntilUnix:   e.Start.Unix(),
		TimeZone:    e.TimeZone,
		AllDay:      e.AllDay,
		Location:    e.Location,
		Notes:       e.Notes,
		SearchText:  strings.ToLower(e.Title + "\n" + e.Notes + "\n" + e.Location),
		CreatedUnix: e.CreatedAt.Unix(),
		UpdatedUnix: e.UpdatedAt.Unix(),
	}
	if e.End != nil {
		end := e.End.Unix()
		r.EndUnix, r.UntilUnix = &end, end
	}
	r.SpanUnix = r.UntilUnix - r.StartUnix
	return r
}

func (r eventRow) event() agenda.Event {
	e := agenda.Event{
		ID:        r.ID,
		UserID:    r.UserID,
		Title:     r.Title,
		Start:     time.Unix(r.StartUnix, 0).UTC(),
		TimeZone:  r.TimeZone,
		AllDay:    r.AllDay,
		Location:  r.Location,
		Notes:     r.Notes,
		CreatedAt: time.Unix(r.CreatedUnix, 0).UTC(),
		UpdatedAt: time.Unix(r.UpdatedUnix, 0).UTC(),
	}
	if r.EndUnix != nil {
		end := time.Unix(*r.EndUnix, 0).UTC()
		e.End = &end
	}
	return e
}

// newEventID returns an opaque, URL-safe id with 130 random bits.
func newEventID() string {
	return "evt_" + strings.ToLower(rand.Text())
}

func errNotFound(id string) error {
	return agenda.Errorf(agenda.ENOTFOUND, "no event with id %q; list events to find the right id", id)
}

// ListEvents returns a page of the user's events that overlap [q.From, q.To)
// and contain q.Text, ordered by start then id. Bounds are compared at whole
// seconds, the precision events are stored with.
func (s *Store) ListEvents(ctx context.Context, userID string, q agenda.ListQuery) (agenda.Page, error) {
	q, err := q.Normalized()
	if err != nil {
		return agenda.Page{}, err
	}
	limit, text := q.Limit, q.Text

	db := s.db.WithContext(ctx).Model(&eventRow{}).Where("user_id = ?", userID)
	if q.To != nil {
		db = db.Where("start_unix < ?", q.To.Unix())
	}
	if q.From != nil {
		from := q.From.Unix()
		db = db.Where("(until_unix > ? OR start_unix >= ?)", from, from)
		// No event overlapping From starts earlier than From minus the
		// user's longest span: this lower bound on start keeps the index
		// scan to the window instead of the user's whole past.
		db = db.Where("start_unix >= ? - (SELECT COALESCE(MAX(span_unix), 0) FROM events WHERE user_id = ?)", from, userID)
	}
	if text != "" {
		db = db.Where(`search_text LIKE ? ESCAPE '\'`, "%"+escapeLike(strings.ToLower(text))+"%")
	}
	if q.Cursor != "" {
		start, id, ok := decodeCursor(q.Cursor)
		if !ok {
			return agenda.Page{}, agenda.Errorf(agenda.EINVALID, "cursor is not valid; pass next_cursor from the previous response unchanged, or leave it out")
		}
		db = db.Where("(start_unix, id) > (?, ?)", start, id)
	}

	rows, err := scanEvents(db.Order("start_unix, id").Limit(limit+1), limit+1)
	if err != nil {
		return agenda.Page{}, s.wrap("list events", err)
	}
	var page agenda.Page
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		page.NextCursor = encodeCursor(last.StartUnix, last.ID)
	}
	page.Events = make([]agenda.Event, len(rows))
	for i, r := range rows {
		page.Events[i] = r.event()
	}
	return page, nil
}

// escapeLike makes s match itself literally in a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// A cursor is the position of the last row of a page: its start and id.
func encodeCursor(start int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(start, 10) + "." + id))
}

// decodeCursor accepts only what encodeCursor writes: a cursor changed in
// any way is refused rather than read as some other position.
func decodeCursor(c string) (start int64, id string, ok bool) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(c)
	if err != nil {
		return 0, "", false
	}
	num, id, found := strings.Cut(string(b), ".")
	if !found || id == "" {
		return 0, "", false
	}
	start, err = strconv.ParseInt(num, 10, 64)
	if err != nil || agenda.CheckText("cursor", id) != nil || encodeCursor(start, id) != c {
		return 0, "", false
	}
	return start, id, true
}

// scanEvents runs a query that selects eventColumns.read and scans the rows
// into their fields directly: in a listing, GORM's reflection, row by row
// and column by column, cost more than the query. limit is the most rows
// the query returns.
func scanEvents(db *gorm.DB, limit int) ([]eventRow, error) {
	rows, err := db.Select(eventColumns.read).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	// Room for a page as the GPT asks for it, not for the largest one:
	// a WebSocket's snapshot asks for 200 and usually finds a few.
	out := make([]eventRow, 0, min(limit, 32))
	targets := make([]any, len(eventColumns.readFields))
	for rows.Next() {
		var r eventRow
		v := reflect.ValueOf(&r).Elem()
		for i, f := range eventColumns.readFields {
			targets[i] = v.FieldByIndex(f).Addr().Interface()
		}
		if err := rows.Scan(targets...); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// GetEvent returns one of the user's events.
func (s *Store) GetEvent(ctx context.Context, userID, id string) (agenda.Event, error) {
	if err := agenda.CheckText("id", id); err != nil {
		return agenda.Event{}, err
	}
	rows, err := scanEvents(s.db.WithContext(ctx).Model(&eventRow{}).
		Where("user_id = ? AND id = ?", userID, id).Limit(1), 1)
	switch {
	case err != nil:
		return agenda.Event{}, s.wrap("get event", err)
	case len(rows) == 0:
		return agenda.Event{}, errNotFound(id)
	}
	return rows[0].event(), nil
}

// CreateEvent stores a new event for the user. With a RequestID, a retry of
// the same request returns the first result with replayed set; see
// claimRequest. Like every event the store returns, its times are in UTC;
// Event.MarshalJSON renders them in the event's zone.
func (s *Store) CreateEvent(ctx context.Context, userID string, in agenda.NewEvent) (ev agenda.Event, replayed bool, err error) {
	// No event without an owner: so no read with an empty user id finds one.
	if userID == "" {
		return agenda.Event{}, false, errors.New("store: create event: no user id")
	}
	e, err := in.Event()
	if err != nil {
		return agenda.Event{}, false, err
	}
	e.ID, e.UserID = newEventID(), userID
	err = s.engine.Write(ctx, func(tx *gorm.DB) (*agenda.Change, error) {
		now := s.now()
		e.CreatedAt, e.UpdatedAt = now, now
		row := newEventRow(e)
		if in.RequestID != "" {
			first, err := claimRequest(tx, userID, in.RequestID, row, now)
			if err != nil {
				return nil, err
			}
			if first != nil {
				ev, replayed = first.event(), true
				return nil, nil
			}
		}
		if err := tx.Create(&row).Error; err != nil {
			return nil, err
		}
		ev = row.event()
		return &agenda.Change{Type: agenda.EventCreated, Event: ev}, nil
	})
	if err != nil {
		return agenda.Event{}, false, s.wrap("create event", err)
	}
	return ev, replayed, nil
}

// UpdateEvent applies p to one of the user's events.
func (s *Store) UpdateEvent(ctx context.Context, userID, id string, p agenda.EventPatch) (agenda.Event, error) {
	if err := agenda.CheckText("id", id); err != nil {
		return agenda.Event{}, err
	}
	var ev agenda.Event
	err := s.engine.Write(ctx, func(tx *gorm.DB) (*agenda.Change, error) {
		// Locked until commit, so that two replicas patching the same event
		// apply their patches one after the other and neither is lost.
		var cur eventRow
		err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
			Where("user_id = ? AND id = ?", userID, id).Take(&cur).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			return nil, errNotFound(id)
		case err != nil:
			return nil, err
		}
		next, err := cur.event().Patched(p)
		if err != nil {
			return nil, err
		}
		next.UpdatedAt = s.now()
		row := newEventRow(next)
		if err := tx.Model(&eventRow{}).Where("user_id = ? AND id = ?", userID, id).Select(eventColumns.update).Updates(&row).Error; err != nil {
			return nil, err
		}
		ev = row.event()
		return &agenda.Change{Type: agenda.EventUpdated, Event: ev}, nil
	})
	if err != nil {
		return agenda.Event{}, s.wrap("update event", err)
	}
	return ev, nil
}

// DeleteEvent removes one of the user's events.
func (s *Store) DeleteEvent(ctx context.Context, userID, id string) error {
	if err := agenda.CheckText("id", id); err != nil {
		return err
	}
	err := s.engine.Write(ctx, func(tx *gorm.DB) (*agenda.Change, error) {
		var gone []eventRow
		res := tx.Clauses(clause.Returning{}).Where("user_id = ? AND id = ?", userID, id).Delete(&gone)
		switch {
		case res.Error != nil:
			return nil, res.Error
		case len(gone) == 0:
			return nil, errNotFound(id)
		}
		return &agenda.Change{Type: agenda.EventDeleted, Event: gone[0].event()}, nil
	})
	return s.wrap("delete event", err)
}
