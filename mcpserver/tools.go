package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agenda-gpt/agenda"
)

// tool is one operation of openapi.yaml offered as an MCP tool. Its name is
// the operationId in snake_case; its schemas come from the operation.
//
// The annotations are hints a client uses to decide what to confirm with
// the user. None of the tools reaches beyond the user's agenda
// (openWorldHint false). Reads are readOnly. Create only adds
// (destructiveHint false) and is not idempotent: with a request_id a retry
// is, but the hint describes every call, and a call without one makes a
// second event. Update changes only the fields sent, so the same call twice
// has the effect of one (idempotent); it is not marked destructive, as the
// API does not mark it consequential: the event stays, and the model has
// the old values from the list it made first. Delete is destructive and
// idempotent (a second delete changes nothing; it answers not found).
type tool struct {
	operation   string
	title       string
	description string
	scope       string
	annotations mcp.ToolAnnotations
	call        func(ctx context.Context, events agenda.EventService, userID string, decode func(any) error) (*mcp.CallToolResult, error)
}

var tools = []tool{
	{
		operation: "listEvents",
		title:     "List events",
		description: "List the user's events that overlap a time window, ordered by start. " +
			"Send from and to as RFC 3339 date-times with the UTC offset of the user's time zone; " +
			"if you do not know the user's IANA time zone (like Europe/Paris), ask them once. " +
			"Use q to search titles, notes and locations. Call this to find an event's id before updating or deleting it. " +
			"If next_cursor is not empty, call again with that cursor to get the next page.",
		scope:       agenda.ScopeRead,
		annotations: mcp.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true, DestructiveHint: ptr(false), OpenWorldHint: ptr(false)},
		call:        listEvents,
	},
	{
		operation:   "getEvent",
		title:       "Get an event",
		description: "Get one event of the user's agenda by its id. If you do not know the id, call list_events first; never guess one.",
		scope:       agenda.ScopeRead,
		annotations: mcp.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true, DestructiveHint: ptr(false), OpenWorldHint: ptr(false)},
		call:        getEvent,
	},
	{
		operation: "createEvent",
		title:     "Add an event",
		description: "Add an event to the user's agenda. If you do not know the user's IANA time zone (like Europe/Paris), ask them once, " +
			"and send it as time_zone. Send start (and end) with that zone's UTC offset at that date, " +
			"like 2026-12-01T09:00:00+01:00 for 09:00 in Paris in winter; never send Z unless the zone is UTC. " +
			"Make up a new request_id (a UUID) for every new event, and send the same request_id again only when retrying " +
			"a create that failed or timed out: the event is then created once.",
		scope:       agenda.ScopeWrite,
		annotations: mcp.ToolAnnotations{DestructiveHint: ptr(false), OpenWorldHint: ptr(false)},
		call:        createEvent,
	},
	{
		operation: "updateEvent",
		title:     "Change an event",
		description: "Change some fields of an event; the fields you leave out stay as they are. " +
			"Call list_events (or get_event) first to find the event's id and its current values. " +
			"Send an empty string to clear end, location, notes or time_zone. " +
			"To move an event, send the new start and end with the UTC offset of the event's time zone at the new date.",
		scope:       agenda.ScopeWrite,
		annotations: mcp.ToolAnnotations{IdempotentHint: true, DestructiveHint: ptr(false), OpenWorldHint: ptr(false)},
		call:        updateEvent,
	},
	{
		operation: "deleteEvent",
		title:     "Delete an event",
		description: "Delete an event for good; it cannot be undone. Find its id with list_events, " +
			"then tell the user which event (title and time) you are about to delete, " +
			"and call this only after they have confirmed.",
		scope:       agenda.ScopeWrite,
		annotations: mcp.ToolAnnotations{IdempotentHint: true, DestructiveHint: ptr(true), OpenWorldHint: ptr(false)},
		call:        deleteEvent,
	},
}

// add registers t on srv with its schemas from the spec. Every call is
// checked in the API's order: scope, then arguments, then the domain rules
// the EventService applies.
func (s *Server) add(srv *mcp.Server, spec *openAPI, t tool) error {
	def, in, err := t.definition(spec)
	if err != nil {
		return err
	}
	srv.AddTool(def, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if req.Extra == nil || req.Extra.TokenInfo == nil {
			return toolError("no access token; sign in again"), nil
		}
		token := req.Extra.TokenInfo
		if !slices.Contains(token.Scopes, t.scope) {
			// A tool error, not a 403 asking for step-up authorization: Logto
			// silently drops a scope the user's role does not grant, so signing
			// in again would loop. The model reads the error and tells the user.
			return toolError(agenda.MissingScope(t.scope).Message), nil
		}
		ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
		defer cancel()
		decode := func(v any) error { return in.check(req.Params.Arguments, v) }
		res, err := t.call(ctx, s.cfg.Events, token.UserID, decode)
		if err != nil {
			if agenda.ErrorCode(err) == agenda.EINTERNAL {
				s.cfg.Logger.Error("mcp: tool call failed", "tool", def.Name, "user", token.UserID, "err", err)
			}
			return toolError(agenda.ErrorMessage(err)), nil
		}
		return res, nil
	})
	return nil
}

// definition is the tool as tools/list shows it, and its input checker.
func (t tool) definition(spec *openAPI) (*mcp.Tool, *input, error) {
	schema, err := spec.inputSchema(t.operation)
	if err != nil {
		return nil, nil, err
	}
	in, err := newInput(schema)
	if err != nil {
		return nil, nil, err
	}
	out, err := spec.outputSchema(t.operation)
	if err != nil {
		return nil, nil, err
	}
	annotations := t.annotations
	annotations.Title = t.title
	def := &mcp.Tool{
		Name:        toolName(t.operation),
		Title:       t.title,
		Description: t.description,
		InputSchema: schema,
		Annotations: &annotations,
	}
	if out != nil {
		def.OutputSchema = out
	}
	return def, in, nil
}

func listEvents(ctx context.Context, events agenda.EventService, userID string, decode func(any) error) (*mcp.CallToolResult, error) {
	var args struct {
		From   *string `json:"from"`
		To     *string `json:"to"`
		Q      string  `json:"q"`
		Limit  int     `json:"limit"`
		Cursor string  `json:"cursor"`
	}
	if err := decode(&args); err != nil {
		return nil, err
	}
	q := agenda.ListQuery{Text: args.Q, Limit: args.Limit, Cursor: args.Cursor}
	var err error
	if q.From, err = agenda.OptionalTime("from", args.From); err != nil {
		return nil, err
	}
	if q.To, err = agenda.OptionalTime("to", args.To); err != nil {
		return nil, err
	}
	page, err := events.ListEvents(ctx, userID, q)
	if err != nil {
		return nil, err
	}
	raw, err := encode(page)
	if err != nil {
		return nil, err
	}
	var list struct {
		Events []wireEvent `json:"events"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, err
	}
	var b strings.Builder
	switch n := len(list.Events); n {
	case 0:
		b.WriteString("No events.")
	case 1:
		b.WriteString("1 event:")
	default:
		fmt.Fprintf(&b, "%d events:", n)
	}
	for _, e := range list.Events {
		b.WriteString("\n- " + e.line())
	}
	if page.NextCursor != "" {
		fmt.Fprintf(&b, "\nMore events follow: call list_events again with cursor %q.", page.NextCursor)
	}
	return result(b.String(), raw), nil
}

func getEvent(ctx context.Context, events agenda.EventService, userID string, decode func(any) error) (*mcp.CallToolResult, error) {
	var args struct {
		ID string `json:"id"`
	}
	if err := decode(&args); err != nil {
		return nil, err
	}
	ev, err := events.GetEvent(ctx, userID, args.ID)
	if err != nil {
		return nil, err
	}
	return eventResult("", ev)
}

func createEvent(ctx context.Context, events agenda.EventService, userID string, decode func(any) error) (*mcp.CallToolResult, error) {
	var args agenda.NewEventInput
	if err := decode(&args); err != nil {
		return nil, err
	}
	in, err := args.Parse()
	if err != nil {
		return nil, err
	}
	ev, replayed, err := events.CreateEvent(ctx, userID, in)
	if err != nil {
		return nil, err
	}
	if replayed {
		return eventResult("Already created by an earlier call with this request_id: ", ev)
	}
	return eventResult("Created: ", ev)
}

func updateEvent(ctx context.Context, events agenda.EventService, userID string, decode func(any) error) (*mcp.CallToolResult, error) {
	var args struct {
		ID string `json:"id"`
		agenda.EventPatchInput
	}
	if err := decode(&args); err != nil {
		return nil, err
	}
	p, err := args.Parse()
	if err != nil {
		return nil, err
	}
	ev, err := events.UpdateEvent(ctx, userID, args.ID, p)
	if err != nil {
		return nil, err
	}
	return eventResult("Updated: ", ev)
}

func deleteEvent(ctx context.Context, events agenda.EventService, userID string, decode func(any) error) (*mcp.CallToolResult, error) {
	var args struct {
		ID string `json:"id"`
	}
	if err := decode(&args); err != nil {
		return nil, err
	}
	if err := events.DeleteEvent(ctx, userID, args.ID); err != nil {
		return nil, err
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "Deleted event " + args.ID + "."}}}, nil
}

// wireEvent reads back the fields of an event's JSON the text rendering
// shows, so the text says exactly what the structured content says.
type wireEvent struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Start    string `json:"start"`
	End      string `json:"end"`
	TimeZone string `json:"time_zone"`
	AllDay   bool   `json:"all_day"`
	Location string `json:"location"`
	Notes    string `json:"notes"`
}

// maxNotesShown keeps a listing short; the structured content has the notes
// in full.
const maxNotesShown = 200

// line renders an event on one line, with its times in its own zone, as
// the JSON has them, and the id a follow-up call needs.
func (e wireEvent) line() string {
	parts := []string{e.Title}
	when := e.Start
	if e.End != "" {
		when += " to " + e.End
	}
	if e.TimeZone != "" {
		when += " (" + e.TimeZone + ")"
	}
	if e.AllDay {
		when += ", all day"
	}
	parts = append(parts, when)
	if e.Location != "" {
		parts = append(parts, "at "+e.Location)
	}
	if notes := strings.Join(strings.Fields(e.Notes), " "); notes != "" {
		if utf8.RuneCountInString(notes) > maxNotesShown {
			notes = string([]rune(notes)[:maxNotesShown]) + "…"
		}
		parts = append(parts, "notes: "+notes)
	}
	parts = append(parts, "id "+e.ID)
	return strings.Join(parts, " | ")
}

// eventResult answers with the event as the API renders it, and a line of
// text for clients that show only text.
func eventResult(prefix string, ev agenda.Event) (*mcp.CallToolResult, error) {
	raw, err := encode(ev)
	if err != nil {
		return nil, err
	}
	var w wireEvent
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, err
	}
	return result(prefix+w.line(), raw), nil
}

func result(text string, structured json.RawMessage) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}, StructuredContent: structured}
}

// toolError is a failure the model sees and can act on: the text is the
// detail the API would put in its problem response.
func toolError(msg string) *mcp.CallToolResult {
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: msg}}}
}

// encode renders v as the API does: without HTML escaping, so notes with <
// or & read as they were written.
func encode(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSpace(buf.Bytes()), nil
}

func errorf(format string, args ...any) error { return agenda.Errorf(agenda.EINVALID, format, args...) }

func ptr[T any](v T) *T { return &v }
