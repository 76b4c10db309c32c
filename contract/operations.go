package contract

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/agenda-gpt/agenda"
)

// Row declares one operation: what openapi.yaml calls it and where it
// serves it, the scope a token needs, how MCP clients see it as a tool,
// and the call into the agenda. Adding an operation is one edit to
// openapi.yaml and one row here; the REST API and the MCP tools both serve
// every row.
type Row struct {
	ID     string // operationId in openapi.yaml
	Method string
	Path   string // as in openapi.yaml: /api/events/{id}
	Scope  string // agenda.ScopeRead or agenda.ScopeWrite
	Tool   Tool
	Call   func(ctx context.Context, events agenda.EventService, userID string, args Args) (Result, error)
}

// Tool is how an MCP client sees an operation. The hints are what a client
// uses to decide what to confirm with the user; no tool reaches beyond the
// user's agenda, so none is open-world.
type Tool struct {
	Name        string // snake_case of the operationId
	Title       string
	Description string
	ReadOnly    bool
	Destructive bool
	Idempotent  bool
	// Done prefixes the one line of text that describes the resulting
	// event, for clients that show only text ("Created: ...").
	Done string
}

// Result is what a call produced: Value (an agenda.Event, an agenda.Page,
// or nil for no body) and the HTTP status that answers it.
type Result struct {
	Status   int
	Value    any
	Replayed bool // a create retried with its request_id: the first result
}

// Args are a call's arguments, validated against the operation's input.
type Args map[string]any

// Decode fills v (a struct with json tags) from the arguments.
func (a Args) Decode(v any) error {
	raw, err := json.Marshal(a)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return invalid("the arguments do not match the operation's input; see /openapi.yaml")
	}
	return nil
}

// Operations is the table both faces serve. The annotations: reads are
// read-only. Create only adds and is not idempotent (with a request_id a
// retry is, but the hint describes every call). Update changes only the
// fields sent, so the same call twice has the effect of one; it is not
// destructive, as the API does not mark it consequential. Delete is
// destructive and idempotent (a second delete changes nothing).
var Operations = []Row{
	{
		ID: "listEvents", Method: http.MethodGet, Path: "/api/events", Scope: agenda.ScopeRead,
		Tool: Tool{
			Name: "list_events", Title: "List events", ReadOnly: true, Idempotent: true,
			Description: "List the user's events that overlap a time window, ordered by start. " +
				"Send from and to as RFC 3339 date-times with the UTC offset of the user's time zone; " +
				"if you do not know the user's IANA time zone (like Europe/Paris), ask them once. " +
				"Use q to search titles, notes and locations. Call this to find an event's id before updating or deleting it. " +
				"If next_cursor is not empty, call again with that cursor to get the next page.",
		},
		Call: listEvents,
	},
	{
		ID: "createEvent", Method: http.MethodPost, Path: "/api/events", Scope: agenda.ScopeWrite,
		Tool: Tool{
			Name: "create_event", Title: "Add an event", Done: "Created: ",
			Description: "Add an event to the user's agenda. If you do not know the user's IANA time zone (like Europe/Paris), ask them once, " +
				"and send it as time_zone. Send start (and end) with that zone's UTC offset at that date, " +
				"like 2026-12-01T09:00:00+01:00 for 09:00 in Paris in winter; never send Z unless the zone is UTC. " +
				"Make up a new request_id (a UUID) for every new event, and send the same request_id again only when retrying " +
				"a create that failed or timed out: the event is then created once.",
		},
		Call: createEvent,
	},
	{
		ID: "getEvent", Method: http.MethodGet, Path: "/api/events/{id}", Scope: agenda.ScopeRead,
		Tool: Tool{
			Name: "get_event", Title: "Get an event", ReadOnly: true, Idempotent: true,
			Description: "Get one event of the user's agenda by its id. If you do not know the id, call list_events first; never guess one.",
		},
		Call: getEvent,
	},
	{
		ID: "updateEvent", Method: http.MethodPatch, Path: "/api/events/{id}", Scope: agenda.ScopeWrite,
		Tool: Tool{
			Name: "update_event", Title: "Change an event", Idempotent: true, Done: "Updated: ",
			Description: "Change some fields of an event; the fields you leave out stay as they are. " +
				"Call list_events (or get_event) first to find the event's id and its current values. " +
				"Send an empty string to clear end, location, notes or time_zone. " +
				"To move an event, send the new start and end with the UTC offset of the event's time zone at the new date.",
		},
		Call: updateEvent,
	},
	{
		ID: "deleteEvent", Method: http.MethodDelete, Path: "/api/events/{id}", Scope: agenda.ScopeWrite,
		Tool: Tool{
			Name: "delete_event", Title: "Delete an event", Destructive: true, Idempotent: true,
			Description: "Delete an event for good; it cannot be undone. Find its id with list_events, " +
				"then tell the user which event (title and time) you are about to delete, " +
				"and call this only after they have confirmed.",
		},
		Call: deleteEvent,
	},
}

func listEvents(ctx context.Context, events agenda.EventService, userID string, args Args) (Result, error) {
	var in struct {
		From   *string `json:"from"`
		To     *string `json:"to"`
		Q      string  `json:"q"`
		Limit  int     `json:"limit"`
		Cursor string  `json:"cursor"`
	}
	if err := args.Decode(&in); err != nil {
		return Result{}, err
	}
	q := agenda.ListQuery{Text: in.Q, Limit: in.Limit, Cursor: in.Cursor}
	var err error
	if q.From, err = agenda.OptionalTime("from", in.From); err != nil {
		return Result{}, err
	}
	if q.To, err = agenda.OptionalTime("to", in.To); err != nil {
		return Result{}, err
	}
	page, err := events.ListEvents(ctx, userID, q)
	if page.Events == nil {
		page.Events = []agenda.Event{}
	}
	return Result{Status: http.StatusOK, Value: page}, err
}

func createEvent(ctx context.Context, events agenda.EventService, userID string, args Args) (Result, error) {
	var in agenda.NewEventInput
	if err := args.Decode(&in); err != nil {
		return Result{}, err
	}
	e, err := in.Parse()
	if err != nil {
		return Result{}, err
	}
	ev, replayed, err := events.CreateEvent(ctx, userID, e)
	return Result{Status: http.StatusCreated, Value: ev, Replayed: replayed}, err
}

func getEvent(ctx context.Context, events agenda.EventService, userID string, args Args) (Result, error) {
	id, _ := args["id"].(string)
	ev, err := events.GetEvent(ctx, userID, id)
	return Result{Status: http.StatusOK, Value: ev}, err
}

func updateEvent(ctx context.Context, events agenda.EventService, userID string, args Args) (Result, error) {
	var in struct {
		ID string `json:"id"`
		agenda.EventPatchInput
	}
	if err := args.Decode(&in); err != nil {
		return Result{}, err
	}
	p, err := in.Parse()
	if err != nil {
		return Result{}, err
	}
	ev, err := events.UpdateEvent(ctx, userID, in.ID, p)
	return Result{Status: http.StatusOK, Value: ev}, err
}

func deleteEvent(ctx context.Context, events agenda.EventService, userID string, args Args) (Result, error) {
	id, _ := args["id"].(string)
	return Result{Status: http.StatusNoContent}, events.DeleteEvent(ctx, userID, id)
}
