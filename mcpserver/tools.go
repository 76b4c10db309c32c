package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agenda-gpt/agenda"
	"github.com/agenda-gpt/agenda/contract"
)

// add offers op as a tool on srv, its schemas from the contract. A call
// does what the API does for the same operation: scope, validate, call,
// render; the arguments already are the operation's.
func (s *Server) add(srv *mcp.Server, op *contract.Operation) {
	t := op.Tool
	def := &mcp.Tool{
		Name:        t.Name,
		Title:       t.Title,
		Description: t.Description,
		InputSchema: op.InputSchema(),
		Annotations: &mcp.ToolAnnotations{
			Title:           t.Title,
			ReadOnlyHint:    t.ReadOnly,
			IdempotentHint:  t.Idempotent,
			DestructiveHint: ptr(t.Destructive),
			OpenWorldHint:   ptr(false),
		},
	}
	if out := op.OutputSchema(); out != nil {
		def.OutputSchema = out
	}
	srv.AddTool(def, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if req.Extra == nil || req.Extra.TokenInfo == nil {
			return toolError("no access token; sign in again"), nil
		}
		token := req.Extra.TokenInfo
		// Only JWTs reach here, and a JWT's scopes always limit it, even
		// when it lists none.
		caller := agenda.Identity{UserID: token.UserID, Scopes: append([]string{}, token.Scopes...)}
		if !caller.HasScope(op.Scope) {
			// A tool error, not a 403 asking for step-up authorization: Logto
			// silently drops a scope the user's role does not grant, so signing
			// in again would loop. The model reads the error and tells the user.
			return toolError(agenda.MissingScope(op.Scope).Message), nil
		}
		args := contract.Args{}
		if raw := req.Params.Arguments; len(raw) > 0 && string(raw) != "null" {
			if err := json.Unmarshal(raw, &args); err != nil {
				return toolError("the arguments must be a JSON object, as the tool's input schema describes"), nil
			}
		}
		if err := op.Validate(args); err != nil {
			return toolError(agenda.ErrorMessage(err)), nil
		}
		ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
		defer cancel()
		res, err := op.Call(ctx, s.cfg.Events, caller.UserID, args)
		if err != nil {
			if agenda.ErrorCode(err) == agenda.EINTERNAL {
				s.cfg.Logger.Error("mcp: tool call failed", "tool", t.Name, "user", caller.UserID, "err", err)
			}
			return toolError(agenda.ErrorMessage(err)), nil
		}
		out, err := render(op, res, op.Shown(res, caller), args)
		if err != nil {
			s.cfg.Logger.Error("mcp: render failed", "tool", t.Name, "err", err)
			return toolError(agenda.ErrorMessage(err)), nil
		}
		return out, nil
	})
}

// render answers with what the API would send, as structured content, and
// text for clients that show only text.
func render(op *contract.Operation, res contract.Result, shown any, args contract.Args) (*mcp.CallToolResult, error) {
	if shown == nil {
		id, _ := args["id"].(string)
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "Deleted event " + id + "."}}}, nil
	}
	raw, err := encode(shown)
	if err != nil {
		return nil, err
	}
	if page, ok := shown.(agenda.Page); ok {
		return listResult(page, raw)
	}
	var w wireEvent
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, err
	}
	prefix := op.Tool.Done
	if res.Replayed {
		prefix = "Already created by an earlier call with this request_id: "
	}
	return result(prefix+w.line(), raw), nil
}

func listResult(page agenda.Page, raw json.RawMessage) (*mcp.CallToolResult, error) {
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

func ptr[T any](v T) *T { return &v }
