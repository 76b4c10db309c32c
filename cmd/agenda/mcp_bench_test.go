package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// BenchmarkListEventsAPIvsMCP lists the same window of 20 events through
// GET /api/events and through the list_events tool, in one run: over
// loopback HTTP with each side's client (net/http; the MCP SDK's), and in
// process through the app's handler, as the API benchmarks do. Both sides
// verify a JWT (cached) and read the same SQLite store.
//
//	go test -run XXX -bench ListEventsAPIvsMCP -benchmem ./cmd/agenda
func BenchmarkListEventsAPIvsMCP(b *testing.B) {
	app := startApp(b, nil, map[string]string{"LOGTO_API_RESOURCE": apiResource, "RATE_LIMIT": "1000000", "RATE_BURST": "1000000"})
	apiTok := app.devToken("bench", apiResource, "read", "write")
	mcpTok := app.devToken("bench", app.mcpResource(), "read", "write")
	start := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	for i := range 20 {
		app.call("POST", "/api/events", apiTok, map[string]any{"title": fmt.Sprint("event ", i), "start": start.Add(time.Duration(i) * time.Hour).Format(time.RFC3339)})
	}
	const from, to = "2026-12-01T00:00:00Z", "2026-12-03T00:00:00Z"
	path := "/api/events?from=" + from + "&to=" + to + "&limit=20"
	args := map[string]any{"from": from, "to": to, "limit": 20}
	call := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_events","arguments":{"from":"` + from + `","to":"` + to + `","limit":20}}}`

	b.Run("api/loopback", func(b *testing.B) {
		client := &http.Client{Timeout: mcpWait}
		req, _ := http.NewRequest("GET", app.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+apiTok)
		b.ReportAllocs()
		for b.Loop() {
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("GET %s: %s", path, resp.Status)
			}
		}
	})
	b.Run("mcp/loopback", func(b *testing.B) {
		s := mcpSession(b, app.URL+"/mcp", mcpTok)
		b.ReportAllocs()
		for b.Loop() {
			res, err := s.CallTool(b.Context(), &mcp.CallToolParams{Name: "list_events", Arguments: args})
			if err != nil || res.IsError {
				b.Fatalf("list_events: %v %s", err, textOf(res))
			}
		}
	})
	b.Run("api/in-process", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest("GET", path, nil)
			req.Header.Set("Authorization", "Bearer "+apiTok)
			rec := httptest.NewRecorder()
			app.app.handler.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
			}
		}
	})
	b.Run("mcp/in-process", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest("POST", "/mcp", strings.NewReader(call))
			req.Header.Set("Authorization", "Bearer "+mcpTok)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
			rec := httptest.NewRecorder()
			app.app.handler.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"next_cursor"`) || strings.Contains(rec.Body.String(), `"isError":true`) {
				b.Fatalf("tools/call: %d %s", rec.Code, rec.Body)
			}
		}
	})
}
