// Package agenda holds the domain of the app: the Event a person keeps, the
// services that act on events, the Change announced after each commit, and
// the error kinds every layer speaks. It imports nothing of the project's own;
// api, auth, store, realtime and web depend on it, never on each other.
package agenda

import (
	"context"
	_ "embed"
	"time"
)

// OpenAPI is the contract served to GPT builders and used to validate every
// /api request. It is the single source of truth for the API's shape.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Event is one entry of a person's agenda. Times are instants; JSON renders
// them in the event's own time zone when it has one (see MarshalJSON).
type Event struct {
	ID        string
	UserID    string
	Title     string
	Start     time.Time
	End       *time.Time
	TimeZone  string
	AllDay    bool
	Location  string
	Notes     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// NewEvent is what a client sends to create an event. RequestID makes the
// create idempotent per user: a retry with the same value returns the first
// result instead of a duplicate.
type NewEvent struct {
	Title     string
	Start     time.Time
	End       *time.Time
	TimeZone  string
	AllDay    bool
	Location  string
	Notes     string
	RequestID string
}

// EventPatch is a partial update: nil fields stay as they are. For the
// optional text fields an empty string clears them, and ClearEnd removes the
// end, because ChatGPT's action runtime handles nullable values poorly.
type EventPatch struct {
	Title    *string
	Start    *time.Time
	End      *time.Time
	ClearEnd bool
	TimeZone *string
	AllDay   *bool
	Location *string
	Notes    *string
}

// ListQuery selects a page of one user's events.
type ListQuery struct {
	From   *time.Time // events that end after From (or start at or after it)
	To     *time.Time // events that start before To
	Text   string     // case-insensitive search in title, notes and location
	Limit  int        // 1..MaxLimit; 0 means DefaultLimit
	Cursor string     // opaque, from a previous page's NextCursor
}

// Page is one page of a listing, ordered by start then id. Its JSON is the
// listEvents response.
type Page struct {
	Events     []Event `json:"events"`
	NextCursor string  `json:"next_cursor"` // empty on the last page
}

// Limits shared by the spec, the store and the MCP tools.
const (
	DefaultLimit     = 50
	MaxLimit         = 200
	MaxTitleLength   = 200
	MaxLocationLen   = 200
	MaxNotesLength   = 4000
	MaxRequestIDLen  = 200
	MaxTimeZoneLen   = 64
	MaxTextQueryLen  = 200
	MaxBodyBytes     = 1 << 20
	IdempotencyHours = 24
)

// EventService is what the handlers need of storage. Every method is scoped
// to one user: there is no way to reach an event without its owner's id.
// Implementations announce each committed change to their Publisher.
type EventService interface {
	ListEvents(ctx context.Context, userID string, q ListQuery) (Page, error)
	GetEvent(ctx context.Context, userID, id string) (Event, error)
	// CreateEvent returns the event and whether it was replayed from an
	// earlier request with the same RequestID.
	CreateEvent(ctx context.Context, userID string, in NewEvent) (Event, bool, error)
	UpdateEvent(ctx context.Context, userID, id string, p EventPatch) (Event, error)
	DeleteEvent(ctx context.Context, userID, id string) error
}

// ChangeType names a committed change as pushed to browsers.
type ChangeType string

const (
	EventCreated ChangeType = "event.created"
	EventUpdated ChangeType = "event.updated"
	EventDeleted ChangeType = "event.deleted"
)

// Change is announced after a write commits, to the owner's open connections.
// For a deletion Event carries at least ID and UserID.
type Change struct {
	Type  ChangeType
	Event Event
}

// Publisher receives every committed change. It must not block: the store
// calls it after commit, on the request's goroutine.
type Publisher interface {
	Publish(Change)
}

// PublisherFunc adapts a function to Publisher.
type PublisherFunc func(Change)

// Publish calls f(c).
func (f PublisherFunc) Publish(c Change) { f(c) }

// Identity is who a request acts for, as established by a bearer token or a
// browser session.
type Identity struct {
	UserID    string
	Name      string
	ClientID  string    // the OAuth client the token was issued to, when known
	Scopes    []string  // granted scopes; nil means the token carries none (opaque tokens)
	ExpiresAt time.Time // zero when unknown
	Audience  []string  // JWT audiences; nil for opaque tokens and sessions
}

// Scoped reports whether the identity's permissions are limited by scopes.
// Opaque tokens and browser sessions are not: they act as the whole user.
func (id Identity) Scoped() bool { return id.Scopes != nil }

// HasScope reports whether the identity was granted scope s.
func (id Identity) HasScope(s string) bool {
	if !id.Scoped() {
		return true
	}
	for _, g := range id.Scopes {
		if g == s {
			return true
		}
	}
	return false
}

type identityKey struct{}

// NewContext returns ctx carrying id: how the HTTP layer, having checked a
// token, tells a handler it does not own (the MCP server) who is calling.
func NewContext(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// FromContext returns the identity NewContext put in ctx.
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}

// Scopes the API resource defines in Logto.
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
)
