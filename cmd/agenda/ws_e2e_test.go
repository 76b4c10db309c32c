package main

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/agenda-gpt/agenda"
	"github.com/agenda-gpt/agenda/realtime"
)

// wsWait bounds every wait on a socket; none comes near it.
const wsWait = 10 * time.Second

// TestWebSocketNeedsCredentials: /ws is the API's data, so it is refused
// before the upgrade, with the API's 401, to a request that proves nobody.
func TestWebSocketNeedsCredentials(t *testing.T) {
	t.Parallel()
	idp := startIdP(t)
	app := startApp(t, idp, nil)
	for _, c := range []struct {
		name   string
		header http.Header
	}{
		{"none", nil},
		{"unknown token", bearer("not-a-token")},
		{"other scheme", http.Header{"Authorization": {"Basic YWxpY2U6c2VjcmV0"}}},
		{"unknown cookie", http.Header{"Cookie": {"agenda_session=forged"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, resp, err := dialWS(app, "", c.header)
			if err == nil {
				conn.Close()
				t.Fatal("upgraded without credentials")
			}
			if resp == nil || resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("want 401, got %v (%v)", resp, err)
			}
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

// TestWebSocketCredentials: the GPT's bearer token and the browser's session
// cookie both open the feed of their own user's agenda.
func TestWebSocketCredentials(t *testing.T) {
	t.Parallel()
	idp := startIdP(t)
	app := startApp(t, idp, nil)
	tok := app.token("alice", gptOpaqueClient)
	jwt := app.token("alice", gptJWTClient, "read", "write", "offline_access")
	ev := app.call("POST", "/api/events", tok, map[string]any{"title": "Mine", "start": time.Now().Add(time.Hour).Format(time.RFC3339)}).event(t)

	for name, h := range map[string]http.Header{
		"opaque token": bearer(tok),
		"JWT":          bearer(jwt),
		"cookie":       app.signInCookie("alice"),
	} {
		t.Run(name, func(t *testing.T) {
			ws := mustDialWS(t, app, "", h)
			if len(ws.snapshot) != 1 || ws.snapshot[0].ID != ev.ID {
				t.Fatalf("snapshot %+v, want alice's event %s", ws.snapshot, ev.ID)
			}
		})
	}
	if r := app.call("GET", "/ws", tok, nil); r.Status != http.StatusBadRequest {
		t.Errorf("a plain GET with a token: %d, want 400 (not a WebSocket handshake)", r.Status)
	}
}

// TestWebSocketOrigin: a page of another site is refused even with the
// person's cookie (cross-site WebSocket hijacking); the app's own pages and
// ALLOWED_ORIGINS are admitted.
func TestWebSocketOrigin(t *testing.T) {
	t.Parallel()
	idp := startIdP(t)
	app := startApp(t, idp, map[string]string{"ALLOWED_ORIGINS": "https://console.example.com"})
	cookie := app.signInCookie("alice")
	other := "http://127.0.0.1:1" // same host, another port: another origin
	for _, c := range []struct {
		origin string
		want   int
	}{
		{"", http.StatusSwitchingProtocols}, // no browser page: a program
		{app.URL, http.StatusSwitchingProtocols},
		{"https://console.example.com", http.StatusSwitchingProtocols},
		{"https://evil.example", http.StatusForbidden},
		{"https://console.example.com.evil.example", http.StatusForbidden},
		{other, http.StatusForbidden},
		{"null", http.StatusForbidden},
	} {
		t.Run(c.origin, func(t *testing.T) {
			h := cookie.Clone()
			if c.origin != "" {
				h.Set("Origin", c.origin)
			}
			conn, resp, err := dialWS(app, "", h)
			if conn != nil {
				conn.Close()
			}
			if resp == nil || resp.StatusCode != c.want {
				t.Fatalf("Origin %q: got %v (%v), want %d", c.origin, resp, err, c.want)
			}
		})
	}
}

// TestWebSocketSnapshot: the first message is the snapshot of the window the
// client asks for, by default from the start of today.
func TestWebSocketSnapshot(t *testing.T) {
	t.Parallel()
	idp := startIdP(t)
	app := startApp(t, idp, nil)
	tok := app.token("alice", gptOpaqueClient)
	bob := app.token("bob", gptOpaqueClient)

	empty := mustDialWS(t, app, "", bearer(tok))
	if string(empty.raw) != `{"type":"snapshot","events":[]}` {
		t.Errorf("empty snapshot %s", empty.raw)
	}

	now := time.Now().Truncate(time.Second)
	create := func(tok, title string, start time.Time) agenda.Event {
		return app.call("POST", "/api/events", tok, map[string]any{"title": title, "start": start.Format(time.RFC3339)}).event(t)
	}
	past := create(tok, "Last week", now.AddDate(0, 0, -7))
	soon := create(tok, "Tomorrow", now.Add(24*time.Hour))
	later := create(tok, "Next month", now.AddDate(0, 1, 0))
	create(bob, "Bob's", now.Add(24*time.Hour))

	window := url.Values{
		"from": {now.Add(12 * time.Hour).Format(time.RFC3339)},
		"to":   {now.AddDate(0, 0, 14).Format(time.RFC3339)},
	}
	for _, c := range []struct {
		name, query string
		want        []agenda.Event
	}{
		{"default window", "", []agenda.Event{soon, later}},
		{"from and to", window.Encode(), []agenda.Event{soon}},
		{"from only", url.Values{"from": {now.AddDate(0, 0, -8).Format(time.RFC3339)}}.Encode(), []agenda.Event{past, soon, later}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ws := mustDialWS(t, app, c.query, bearer(tok))
			if got, want := eventIDs(ws.snapshot), eventIDs(c.want); got != want {
				t.Errorf("snapshot %s, want %s", got, want)
			}
		})
	}

	_, resp, err := dialWS(app, "from=yesterday", bearer(tok))
	if resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("from=yesterday: got %v (%v), want 400", resp, err)
	}
}

// TestWebSocketFanOut: each change the GPT makes through the API reaches
// every open connection of its user exactly once and in commit order, and
// no connection of anyone else.
func TestWebSocketFanOut(t *testing.T) {
	t.Parallel()
	idp := startIdP(t)
	app := startApp(t, idp, nil)
	alice := app.token("alice", gptOpaqueClient)
	bob := app.token("bob", gptOpaqueClient)

	// Two GPT connections and one browser tab of alice; one of bob.
	tabs := []*wsClient{
		mustDialWS(t, app, "", bearer(alice)),
		mustDialWS(t, app, "", bearer(alice)),
		mustDialWS(t, app, "", app.signInCookie("alice")),
	}
	bobs := mustDialWS(t, app, "", bearer(bob))

	start := time.Now().Add(time.Hour).Format(time.RFC3339)
	a := app.call("POST", "/api/events", alice, map[string]any{"title": "A", "start": start}).event(t)
	b := app.call("POST", "/api/events", alice, map[string]any{"title": "B", "start": start}).event(t)
	a2 := app.call("PATCH", "/api/events/"+a.ID, alice, map[string]any{"title": "A moved"}).event(t)
	if r := app.call("DELETE", "/api/events/"+b.ID, alice, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	// A last change of each user: nothing may come before it that was not
	// expected, and nothing between it and the ones before.
	last := app.call("POST", "/api/events", alice, map[string]any{"title": "Last", "start": start}).event(t)
	bobsOwn := app.call("POST", "/api/events", bob, map[string]any{"title": "Bob's", "start": start}).event(t)

	want := []string{
		"event.created " + a.ID + " A",
		"event.created " + b.ID + " B",
		"event.updated " + a.ID + " A moved",
		"event.deleted " + b.ID,
		"event.created " + last.ID + " Last",
	}
	for i, ws := range tabs {
		for j, w := range want {
			if got := summary(ws.next()); got != w {
				t.Fatalf("alice's connection %d, message %d: %q, want %q", i, j, got, w)
			}
		}
	}
	if got, w := summary(bobs.next()), "event.created "+bobsOwn.ID+" Bob's"; got != w {
		t.Fatalf("bob's first message %q, want %q: alice's changes leaked", got, w)
	}
	if a2.Title != "A moved" {
		t.Errorf("patched %+v", a2)
	}
}

// TestWebSocketShutdown: stopping the server closes every socket with 1001
// (going away), so browsers reconnect; after a restart on the same database
// the feed resumes with the agenda intact.
func TestWebSocketShutdown(t *testing.T) {
	t.Parallel()
	idp := startIdP(t)
	app := startApp(t, idp, nil)
	alice := app.token("alice", gptOpaqueClient)
	ev := app.call("POST", "/api/events", alice, map[string]any{"title": "Kept", "start": time.Now().Add(time.Hour).Format(time.RFC3339)}).event(t)
	conns := []*wsClient{
		mustDialWS(t, app, "", bearer(alice)),
		mustDialWS(t, app, "", app.signInCookie("alice")),
		mustDialWS(t, app, "", bearer(app.token("bob", gptOpaqueClient))),
	}

	// Read as a browser does, so each close handshake completes at once.
	closed := make([]chan error, len(conns))
	for i, ws := range conns {
		closed[i] = make(chan error, 1)
		go func() {
			ws.conn.SetReadDeadline(time.Now().Add(wsWait))
			_, _, err := ws.conn.ReadMessage()
			closed[i] <- err
		}()
	}
	app.Stop()
	for i := range conns {
		if err := <-closed[i]; !websocket.IsCloseError(err, websocket.CloseGoingAway) {
			t.Errorf("connection %d: %v; want close 1001", i, err)
		}
	}

	app.Start()
	ws := mustDialWS(t, app, "", bearer(alice))
	if len(ws.snapshot) != 1 || ws.snapshot[0].ID != ev.ID {
		t.Errorf("snapshot after restart %+v, want %s", ws.snapshot, ev.ID)
	}
}

// wsClient is one open /ws connection after its snapshot.
type wsClient struct {
	t        testing.TB
	conn     *websocket.Conn
	raw      []byte // the snapshot as sent
	snapshot []agenda.Event
}

// dialWS opens /ws?query with header. It does not read the snapshot.
func dialWS(ta *testApp, query string, header http.Header) (*websocket.Conn, *http.Response, error) {
	u := "ws" + strings.TrimPrefix(ta.URL, "http") + "/ws"
	if query != "" {
		u += "?" + query
	}
	d := websocket.Dialer{HandshakeTimeout: wsWait}
	conn, resp, err := d.Dial(u, header)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	return conn, resp, err
}

// mustDialWS opens /ws and reads the snapshot, which must come first. The
// connection closes when the test ends.
func mustDialWS(t testing.TB, ta *testApp, query string, header http.Header) *wsClient {
	t.Helper()
	conn, resp, err := dialWS(ta, query, header)
	if err != nil {
		status := "no response"
		if resp != nil {
			status = resp.Status
		}
		t.Fatalf("dial /ws: %v (%s)", err, status)
	}
	t.Cleanup(func() { conn.Close() })
	ws := &wsClient{t: t, conn: conn}
	conn.SetReadDeadline(time.Now().Add(wsWait))
	_, ws.raw, err = conn.ReadMessage()
	if err != nil {
		t.Fatalf("read the snapshot: %v", err)
	}
	var m realtime.Message
	if err := json.Unmarshal(ws.raw, &m); err != nil || m.Type != realtime.TypeSnapshot || m.Events == nil {
		t.Fatalf("first message is not a snapshot: %s (%v)", ws.raw, err)
	}
	ws.snapshot = m.Events
	return ws
}

// next reads the next change.
func (ws *wsClient) next() realtime.Message {
	ws.t.Helper()
	ws.conn.SetReadDeadline(time.Now().Add(wsWait))
	_, raw, err := ws.conn.ReadMessage()
	if err != nil {
		ws.t.Fatalf("read a change: %v", err)
	}
	var m realtime.Message
	if err := json.Unmarshal(raw, &m); err != nil || m.Event == nil {
		ws.t.Fatalf("not a change: %s (%v)", raw, err)
	}
	return m
}

// summary is a change in a line: type, id and, but for a deletion, title.
func summary(m realtime.Message) string {
	s := m.Type + " " + m.Event.ID
	if m.Type != string(agenda.EventDeleted) {
		s += " " + m.Event.Title
	}
	return s
}

// eventIDs lists events as title=id, in order, for comparing snapshots.
func eventIDs(evs []agenda.Event) string {
	ids := make([]string, len(evs))
	for i, e := range evs {
		ids[i] = e.Title + "=" + e.ID
	}
	return strings.Join(ids, ",")
}

// bearer is the upgrade header of a GPT, or any API client, holding tok.
func bearer(tok string) http.Header {
	return http.Header{"Authorization": {"Bearer " + tok}}
}

// signInCookie signs user in to the web page as a browser does, through the
// provider's login form, and returns the Cookie header of the session.
func (ta *testApp) signInCookie(user string) http.Header {
	ta.t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		ta.t.Fatal(err)
	}
	c := &http.Client{Jar: jar, Timeout: wsWait}
	resp, err := c.Get(ta.URL + "/sign-in") // ends on the provider's login page
	if err != nil {
		ta.t.Fatalf("sign-in: %v", err)
	}
	resp.Body.Close()
	login := *resp.Request.URL
	id := login.Query().Get("id")
	login.RawQuery = ""
	resp, err = c.PostForm(login.String(), url.Values{"id": {id}, "username": {user}})
	if err != nil {
		ta.t.Fatalf("login form: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.String() != ta.URL+"/" {
		ta.t.Fatalf("sign-in ended at %s with %s", resp.Request.URL, resp.Status)
	}
	app, _ := url.Parse(ta.URL)
	h := http.Header{}
	for _, ck := range jar.Cookies(app) {
		h.Add("Cookie", ck.String())
	}
	return h
}
