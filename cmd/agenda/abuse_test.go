package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/agenda-gpt/agenda/api"
	"github.com/agenda-gpt/agenda/realtime"
)

// FuzzAPI sends arbitrary requests (method, path under /api, query,
// headers, body, and one of four kinds of credentials) through the real
// router, middleware, validation and store, on SQLite and PostgreSQL:
// whatever arrives, the answer is never a 5xx and nothing panics. A request net/http itself would refuse
// is skipped. The seed corpus runs in every `go test`; explore with
// `go test -run '^$' -fuzz FuzzAPI ./cmd/agenda`.
func FuzzAPI(f *testing.F) {
	const id = "{id}" // replaced by an event of the caller's
	ctJSON := "Content-Type: application/json"
	for _, s := range []struct {
		method, path, query, headers, body string
		auth                               uint8
	}{
		{"GET", "/events", "", "", "", 0},
		{"GET", "/events", "from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z&limit=5&q=x&cursor=", "", "", 1},
		{"GET", "/events", "limit=-1&limit=2&limit=abc", "", "", 0},
		{"GET", "/events", "cursor=%ff%fe%00&q=%25_%5C", "", "", 0},
		{"GET", "/events", "from=" + strings.Repeat("9", 300) + "&to=0000-00-00T00:00:00Z", "", "", 0},
		{"GET", "/events", "from=2026-12-02T00:00:00%2B14:00&to=2026-12-01T00:00:00-12:00", "", "", 0},
		{"GET", "/events", "q=" + strings.Repeat("é", 300), "", "", 0},
		{"GET", "/events/" + id, "", "", "", 1},
		{"GET", "/events/" + strings.Repeat("a", 500), "", "", "", 0},
		{"GET", "/events/%00%2F..%2F", "", "", "", 0},
		{"GET", "/events/", "", "", "", 0},
		{"POST", "/events", "", ctJSON, `{"title":"x","start":"2026-12-01T09:00:00Z","request_id":"r"}`, 0},
		{"POST", "/events", "", ctJSON, `{"title":"x","start":"2026-12-01T09:00:00Z","request_id":"r","notes":"other"}`, 0},
		{"POST", "/events", "", "Content-Type: text/plain", `{"title":"x"}`, 0},
		{"POST", "/events", "", ctJSON + "\nContent-Encoding: gzip", "\x1f\x8b garbage", 0},
		{"POST", "/events", "", "Content-Type: application/json; charset=utf-16", "\xff\xfe{\x00}\x00", 0},
		{"POST", "/events", "", ctJSON + "\nIdempotency-Key: k1", `{"title":"x","start":"2026-12-01T09:00:00Z"}`, 1},
		{"POST", "/events", "", ctJSON + "\nTransfer-Encoding: chunked", "5\r\n{\"a\":\r\n0\r\n\r\n", 0},
		{"POST", "/events", "", ctJSON, `{"title":"` + strings.Repeat("\\ud800", 100) + `","start":"2026-12-01T09:00:00Z"}`, 0},
		{"POST", "/events", "", ctJSON, strings.Repeat("[", 20000), 0},
		{"PATCH", "/events/" + id, "", ctJSON, `{"end":""}`, 0},
		{"PATCH", "/events/" + id, "", ctJSON, `{"start":"2026-12-01T09:00:00+14:00","time_zone":"Pacific/Kiritimati"}`, 0},
		{"PATCH", "/events/" + id, "", ctJSON, `{"all_day":null,"title":null}`, 1},
		{"PATCH", "/events/evt_nope", "", ctJSON, `{}`, 0},
		{"DELETE", "/events/" + id, "", "", "", 0},
		{"DELETE", "/events", "", "", "", 0},
		{"PUT", "/events/" + id, "", ctJSON, `{}`, 0},
		{"HEAD", "/events", "", "", "", 0},
		{"OPTIONS", "/events", "", "Origin: https://evil.example\nAccess-Control-Request-Method: POST", "", 2},
		{"TRACE", "/events", "", "", "", 0},
		{"GET", "", "", "", "", 0},
		{"GET", "/../healthz", "", "", "", 0},
		{"GET", "//events", "", "", "", 0},
		{"GET", "/events", "", "Cookie: agenda_session=forged", "", 2},
		{"POST", "/events", "", ctJSON + "\nCookie: agenda_session=forged\nOrigin: https://evil.example", `{}`, 2},
		{"GET", "/events", "", "Authorization: Basic Zm9vOmJhcg==", "", 2},
		{"GET", "/events", "", "Authorization: Bearer", "", 2},
		{"GET", "/events", "", "", "", 3},
		{"GET", "/events", "", "Accept: application/xml\nAccept-Encoding: br", "", 0},
		{"GET", "/events", "", "X-Forwarded-For: 1.2.3.4\nX-Real-IP: ::1\nX-Forwarded-Proto: https", "", 0},
		{"GET", "/events", "q=%00&cursor=%00", "", "", 0},
		{"GET", "/events", "q=%ff%fe", "", "", 1},
		{"GET", "/events/evt_%00", "", "", "", 0},
		{"GET", "/events/%ff%fe", "", "", "", 1},
		{"DELETE", "/events/a%00b", "", "", "", 1},
		{"POST", "/events", "", ctJSON + "\nIdempotency-Key: k\xff\xfe", `{"title":"x","start":"2026-12-01T09:00:00Z"}`, 0},
		{"POST", "/events", "", ctJSON, "{\"title\":\"a\\u0000b\",\"start\":\"2026-12-01T09:00:00Z\",\"notes\":\"\xff\"}", 1},
	} {
		f.Add(s.method, s.path, s.query, s.headers, s.body, s.auth)
	}
	apps := fuzzTargets(f, map[string]string{"RATE_LIMIT": "1000000", "RATE_BURST": "1000000", "LOG_LEVEL": "warn"})

	f.Fuzz(func(t *testing.T, method, path, query, headers, body string, auth uint8) {
		for _, a := range apps {
			target := "/api" + strings.ReplaceAll(path, id, a.eventID)
			if query != "" {
				target += "?" + query
			}
			var raw strings.Builder
			fmt.Fprintf(&raw, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n", method, target)
			for _, line := range strings.Split(headers, "\n") {
				if line = strings.TrimRight(line, "\r"); line != "" {
					raw.WriteString(line + "\r\n")
				}
			}
			switch auth % 4 {
			case 0:
				raw.WriteString("Authorization: Bearer " + a.opaque + "\r\n")
			case 1:
				raw.WriteString("Authorization: Bearer " + a.jwt + "\r\n")
			case 3:
				raw.WriteString("Authorization: Bearer not-a-token-" + fmt.Sprint(len(body)) + "\r\n")
			}
			if !strings.Contains(strings.ToLower(headers), "transfer-encoding") {
				fmt.Fprintf(&raw, "Content-Length: %d\r\n", len(body))
			}
			raw.WriteString("\r\n" + body)
			req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw.String())))
			if err != nil {
				t.Skip("net/http answers this itself:", err)
			}
			req.RemoteAddr = "127.0.0.1:40000"
			rec := httptest.NewRecorder()
			a.app.handler.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s: %s %s\n%s\nanswered %d: %s", a.engine, method, target, headers, rec.Code, rec.Body)
			}
		}
	})
}

// TestIsolationProperty: users with opaque tokens and with JWTs make random
// operations at once, and try others' events by id and by search. Nobody
// ever sees, changes or deletes another's event, through the API or over
// the WebSocket, and each agenda ends exactly as its owner's model says.
func TestIsolationProperty(t *testing.T) {
	t.Parallel()
	ops := 80
	if longRun() {
		ops = 1000
	}
	seed := testSeed(t)
	idp := startIdP(t)
	app := startApp(t, idp, map[string]string{"LOG_LEVEL": "warn"})

	type user struct {
		name, token string
		model       map[string]eventState // what the user owns now
		ever        map[string]bool       // every id the user ever owned
		ws          *wsClient
	}
	var registry struct {
		sync.Mutex
		ids    []string
		owner  map[string]string
		titles []string
	}
	registry.owner = map[string]string{}
	users := make([]*user, 4)
	for i := range users {
		u := &user{name: fmt.Sprint("iso-", i), model: map[string]eventState{}, ever: map[string]bool{}}
		if i%2 == 0 {
			u.token = app.token(u.name, gptOpaqueClient)
		} else {
			u.token = app.token(u.name, gptJWTClient, "read", "write", "offline_access")
		}
		u.ws = mustDialWS(t, app, "", bearer(u.token))
		users[i] = u
	}
	// What each socket carries, checked once everything is done.
	var received sync.Map // user name → []realtime.Message
	var readers sync.WaitGroup
	for _, u := range users {
		readers.Go(func() {
			var got []realtime.Message
			defer func() { received.Store(u.name, got) }()
			for {
				u.ws.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
				_, raw, err := u.ws.conn.ReadMessage()
				if err != nil {
					return
				}
				var m realtime.Message
				if err := json.Unmarshal(raw, &m); err != nil || m.Event == nil {
					t.Errorf("%s: not a change: %s", u.name, raw)
					return
				}
				got = append(got, m)
				if strings.HasPrefix(m.Event.Title, "sentinel") {
					return
				}
			}
		})
	}

	call := func(u *user, method, path string, body any) response {
		r, err := callAPI(method, app.URL+path, u.token, body)
		if err != nil {
			t.Errorf("%s %s %s: %v", u.name, method, path, err)
		}
		return r
	}
	var wg sync.WaitGroup
	for ui, u := range users {
		rng := rand.New(rand.NewPCG(seed, uint64(ui)))
		wg.Go(func() {
			own := func() (string, bool) {
				for id := range u.model { // map order is random enough
					return id, true
				}
				return "", false
			}
			foreign := func() (string, string, bool) {
				registry.Lock()
				defer registry.Unlock()
				for range 10 {
					if len(registry.ids) == 0 {
						break
					}
					k := rng.IntN(len(registry.ids))
					if registry.owner[registry.ids[k]] != u.name {
						return registry.ids[k], registry.titles[k], true
					}
				}
				return "", "", false
			}
			for n := range ops {
				op := rng.IntN(100)
				id, hasOwn := own()
				fid, ftitle, hasForeign := foreign()
				switch {
				case op < 25 || !hasOwn:
					st := eventState{Title: fmt.Sprintf("%s-%d", u.name, n), Notes: fmt.Sprintf("note %s %d", u.name, n)}
					r := call(u, "POST", "/api/events", map[string]any{"title": st.Title, "notes": st.Notes, "start": "2026-12-01T09:00:00Z"})
					var ev struct{ ID string }
					if r.Status != http.StatusCreated || json.Unmarshal(r.Body, &ev) != nil {
						t.Errorf("%s create: %d %s", u.name, r.Status, r.Body)
						continue
					}
					u.model[ev.ID], u.ever[ev.ID] = st, true
					registry.Lock()
					registry.ids, registry.titles = append(registry.ids, ev.ID), append(registry.titles, st.Title)
					registry.owner[ev.ID] = u.name
					registry.Unlock()
				case op < 40:
					if got := listStates(t, call(u, "GET", "/api/events?limit=200", nil)); !sameStates(got, u.model) {
						t.Errorf("%s lists %v, owns %v", u.name, got, u.model)
					}
				case op < 50 && hasForeign:
					r := call(u, "GET", "/api/events?limit=200&q="+url.QueryEscape(ftitle), nil)
					if got := listStates(t, r); len(got) != 0 {
						t.Errorf("%s searching another's title %q found %v", u.name, ftitle, got)
					}
				case op < 60:
					r := call(u, "GET", "/api/events/"+id, nil)
					var got struct{ ID, Title, Notes string }
					if r.Status != http.StatusOK || json.Unmarshal(r.Body, &got) != nil || got.ID != id || (eventState{got.Title, got.Notes}) != u.model[id] {
						t.Errorf("%s get own %s: %d %s", u.name, id, r.Status, r.Body)
					}
				case op < 70 && hasForeign:
					if r := call(u, "GET", "/api/events/"+fid, nil); r.Status != http.StatusNotFound {
						t.Errorf("%s read another's event %s: %d %s", u.name, fid, r.Status, r.Body)
					}
				case op < 78:
					st := eventState{Title: fmt.Sprintf("%s-%d moved", u.name, n), Notes: u.model[id].Notes}
					if r := call(u, "PATCH", "/api/events/"+id, map[string]any{"title": st.Title}); r.Status != http.StatusOK {
						t.Errorf("%s update own %s: %d %s", u.name, id, r.Status, r.Body)
					} else {
						u.model[id] = st
					}
				case op < 86 && hasForeign:
					if r := call(u, "PATCH", "/api/events/"+fid, map[string]any{"title": "hijacked by " + u.name}); r.Status != http.StatusNotFound {
						t.Errorf("%s changed another's event %s: %d %s", u.name, fid, r.Status, r.Body)
					}
				case op < 93 && hasForeign:
					if r := call(u, "DELETE", "/api/events/"+fid, nil); r.Status != http.StatusNotFound {
						t.Errorf("%s deleted another's event %s: %d %s", u.name, fid, r.Status, r.Body)
					}
				default:
					if r := call(u, "DELETE", "/api/events/"+id, nil); r.Status != http.StatusNoContent {
						t.Errorf("%s delete own %s: %d %s", u.name, id, r.Status, r.Body)
					} else {
						delete(u.model, id)
					}
				}
			}
		})
	}
	wg.Wait()

	for _, u := range users {
		if got := listStates(t, app.call("GET", "/api/events?limit=200", u.token, nil)); !sameStates(got, u.model) {
			t.Errorf("%s ends with %v, owns %v", u.name, got, u.model)
		}
		// The sentinel's change comes after all of the user's others.
		app.call("POST", "/api/events", u.token, map[string]any{"title": "sentinel " + u.name, "start": "2026-12-01T09:00:00Z"})
	}
	readers.Wait()
	for _, u := range users {
		v, _ := received.Load(u.name)
		msgs, _ := v.([]realtime.Message)
		if len(msgs) == 0 || !strings.HasPrefix(msgs[len(msgs)-1].Event.Title, "sentinel "+u.name) {
			t.Errorf("%s's socket did not carry its own changes through to the sentinel (%d messages)", u.name, len(msgs))
		}
		for _, m := range msgs[:max(0, len(msgs)-1)] {
			if !u.ever[m.Event.ID] {
				t.Errorf("%s's socket carried %s of an event not theirs: %s %q", u.name, m.Type, m.Event.ID, m.Event.Title)
			}
		}
	}
}

func listStates(t *testing.T, r response) map[string]eventState {
	var body struct {
		Events []struct{ ID, Title, Notes string } `json:"events"`
	}
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &body) != nil {
		t.Errorf("list: %d %s", r.Status, r.Body)
		return nil
	}
	out := map[string]eventState{}
	for _, e := range body.Events {
		out[e.ID] = eventState{Title: e.Title, Notes: e.Notes}
	}
	return out
}

func sameStates(a, b map[string]eventState) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestAbuse sends what breaks careless servers: oversized and endless
// bodies, deeply nested JSON, huge query strings and header sets, clients
// that send their headers too slowly or never finish their body, and a
// flood of WebSocket upgrades. Each is refused without a 5xx; meanwhile and
// after, the server answers /healthz and real requests; and no token,
// cookie or secret query value ever reaches the log.
func TestAbuse(t *testing.T) {
	t.Parallel()
	idp := startIdP(t)
	// REQUEST_TIMEOUT is short so the slow body is answered quickly; the
	// server's own ReadTimeout stays at its 60 s.
	ta := launchApp(t, idp, map[string]string{
		"RATE_LIMIT": "1000000", "RATE_BURST": "1000000",
		"REQUEST_TIMEOUT": "4s", "IDP_TIMEOUT": "2s",
		// The flood below is of sockets, not of one user's tabs, which
		// TestWebSocketsOfOneUser caps.
		"WS_MAX_CONNECTIONS_PER_USER": "1000",
	}, func(l *httpLimits) {
		*l = defaultHTTPLimits()
		l.readHeader = 300 * time.Millisecond
	})
	tok := ta.token("abuser", gptOpaqueClient)
	const secretCookie, secretQuery = "agenda_session=cookie-secret-3f9a", "query-secret-77c1"
	badToken := "bogus-token-secret-0d2e"
	client := &http.Client{Timeout: 30 * time.Second}
	do := func(method, path, token string, header http.Header, body io.Reader) (int, error) {
		req, err := http.NewRequest(method, ta.URL+path, body)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header[k] = v
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		req.Header.Set("Cookie", secretCookie)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	stillServing := func(t *testing.T) {
		t.Helper()
		if code, err := do("GET", "/healthz", "", nil, nil); err != nil || code != http.StatusOK {
			t.Errorf("/healthz: %d %v", code, err)
		}
		if code, err := do("GET", "/api/events", tok, nil, nil); err != nil || code != http.StatusOK {
			t.Errorf("a real request: %d %v", code, err)
		}
	}
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	expect := func(t *testing.T, what string, code int, err error, want ...int) {
		t.Helper()
		if err != nil {
			t.Errorf("%s: %v", what, err)
			return
		}
		for _, w := range want {
			if code == w {
				return
			}
		}
		t.Errorf("%s: %d, want one of %v", what, code, want)
	}

	t.Run("oversized body", func(t *testing.T) {
		body := `{"title":"x","start":"2026-12-01T09:00:00Z","notes":"` + strings.Repeat("n", 2<<20) + `"}`
		code, err := do("POST", "/api/events", tok, jsonHeader, strings.NewReader(body))
		expect(t, "2 MiB with Content-Length", code, err, http.StatusRequestEntityTooLarge)
		// 64 MiB without a length: refused once past the limit; the
		// client may see the refusal or, still sending, a reset.
		endless := io.LimitReader(repeatReader('a'), 64<<20)
		code, err = do("POST", "/api/events", tok, jsonHeader, io.MultiReader(strings.NewReader(`{"title":"`), endless))
		if err == nil {
			expect(t, "64 MiB chunked", code, nil, http.StatusRequestEntityTooLarge)
		}
		stillServing(t)
	})
	t.Run("deep nesting", func(t *testing.T) {
		for _, body := range []string{
			strings.Repeat("[", 500_000),
			`{"title":"x","start":"2026-12-01T09:00:00Z","notes":` + strings.Repeat(`{"a":`, 100_000) + `1` + strings.Repeat("}", 100_000) + `}`,
		} {
			code, err := do("POST", "/api/events", tok, jsonHeader, strings.NewReader(body))
			expect(t, "nested body", code, err, http.StatusBadRequest, http.StatusRequestEntityTooLarge)
		}
		stillServing(t)
	})
	t.Run("huge query strings", func(t *testing.T) {
		code, err := do("GET", "/api/events?access_token="+secretQuery+"&q="+strings.Repeat("x", 1<<20), tok, nil, nil)
		expect(t, "1 MiB query", code, err, http.StatusRequestHeaderFieldsTooLarge)
		code, err = do("GET", "/api/events?access_token="+secretQuery+"&q="+strings.Repeat("x", 32<<10), tok, nil, nil)
		expect(t, "32 KiB query", code, err, http.StatusBadRequest)
		code, err = do("GET", "/api/events?access_token="+secretQuery+strings.Repeat("&limit=1", 5000), tok, nil, nil)
		expect(t, "5,000 parameters", code, err, http.StatusOK, http.StatusBadRequest)
		code, err = do("GET", "/api/events?"+strings.Repeat("%", 10000), badToken, nil, nil)
		expect(t, "broken escapes", code, err, http.StatusBadRequest, http.StatusUnauthorized)
		stillServing(t)
	})
	t.Run("huge headers", func(t *testing.T) {
		h := http.Header{}
		for i := range 2000 {
			h.Set(fmt.Sprint("X-Pad-", i), strings.Repeat("p", 40))
		}
		code, err := do("GET", "/api/events", tok, h, nil)
		expect(t, "2,000 headers", code, err, http.StatusRequestHeaderFieldsTooLarge)
		code, err = do("GET", "/api/events", strings.Repeat("t", 100<<10), nil, nil)
		expect(t, "a 100 KiB token", code, err, http.StatusRequestHeaderFieldsTooLarge)
		stillServing(t)
	})
	t.Run("slow headers", func(t *testing.T) {
		const n = 100
		conns := make([]net.Conn, n)
		for i := range conns {
			c, err := net.Dial("tcp", strings.TrimPrefix(ta.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// Headers begun, never finished: a slowloris client.
			fmt.Fprintf(c, "GET /api/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nCookie: %s\r\nX-Slow: ", tok, secretCookie)
			conns[i] = c
		}
		stillServing(t) // while they hang
		start := time.Now()
		for i, c := range conns {
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			b, err := io.ReadAll(c) // until the server hangs up
			if err != nil {
				t.Errorf("slow client %d was not cut off: %v", i, err)
			} else if len(b) > 0 && !strings.HasPrefix(string(b), "HTTP/1.1 408") {
				t.Errorf("slow client %d got %q", i, b)
			}
		}
		t.Logf("%d slow clients cut off after %v (ReadHeaderTimeout 300ms)", n, time.Since(start).Round(time.Millisecond))
		stillServing(t)
	})
	t.Run("slow body", func(t *testing.T) {
		c, err := net.Dial("tcp", strings.TrimPrefix(ta.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST /api/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"title\":", tok)
		stillServing(t) // while it hangs
		// Trickled a byte at a time, the body is answered with 408 at the
		// request's deadline (4 s), long before the server's ReadTimeout.
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			tick := time.NewTicker(500 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					if _, err := c.Write([]byte(" ")); err != nil {
						return
					}
				}
			}
		}()
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("a body trickled in got no answer: %v", err)
		}
		defer resp.Body.Close()
		var p api.Problem
		if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
			t.Fatalf("a body trickled in: %d without a problem body: %v", resp.StatusCode, err)
		}
		if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(p.Detail, "in time") {
			t.Errorf("a body trickled in: %d %q, want 408 saying it did not arrive in time", resp.StatusCode, p.Detail)
		}
		stillServing(t)
	})
	t.Run("websocket flood", func(t *testing.T) {
		wsURL := "ws" + strings.TrimPrefix(ta.URL, "http") + "/ws"
		type attempt struct {
			header http.Header
			want   int
		}
		var attempts []attempt
		for range 60 {
			attempts = append(attempts, attempt{bearer(tok), http.StatusSwitchingProtocols})
		}
		for range 60 {
			attempts = append(attempts, attempt{http.Header{"Cookie": {secretCookie}}, http.StatusUnauthorized})
		}
		for range 40 {
			attempts = append(attempts, attempt{http.Header{"Authorization": {"Bearer " + badToken}}, http.StatusUnauthorized})
		}
		for range 40 {
			attempts = append(attempts, attempt{http.Header{"Authorization": {"Bearer " + tok}, "Origin": {"https://evil.example"}}, http.StatusForbidden})
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var open []*websocket.Conn
		d := websocket.Dialer{HandshakeTimeout: 20 * time.Second}
		for i, a := range attempts {
			wg.Go(func() {
				c, resp, err := d.Dial(wsURL, a.header)
				code := 0
				if resp != nil {
					code = resp.StatusCode
					resp.Body.Close()
				}
				if code != a.want {
					t.Errorf("upgrade %d: %d (%v), want %d", i, code, err, a.want)
				}
				if c != nil {
					mu.Lock()
					open = append(open, c)
					mu.Unlock()
				}
			})
		}
		// Half-done handshakes: an upgrade without its key.
		for range 40 {
			wg.Go(func() {
				req, _ := http.NewRequest("GET", ta.URL+"/ws", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("Connection", "Upgrade")
				req.Header.Set("Upgrade", "websocket")
				resp, err := client.Do(req)
				if err != nil {
					t.Errorf("a malformed upgrade: %v", err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusBadRequest {
					t.Errorf("a malformed upgrade: %d", resp.StatusCode)
				}
			})
		}
		stillServing(t) // during the flood
		wg.Wait()
		for _, c := range open {
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, m, err := c.ReadMessage(); err != nil || !strings.Contains(string(m), `"snapshot"`) {
				t.Errorf("an upgraded socket got %v %.60s", err, m)
			}
			c.Close()
		}
		stillServing(t)
	})

	logs := ta.logs.String()
	for _, secret := range []string{tok, badToken, "cookie-secret-3f9a", secretQuery} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains a secret (%.12s...)", secret)
		}
	}
	if m := regexp.MustCompile(`Bearer [^<\s]`).FindString(logs); m != "" {
		t.Errorf("the log contains an Authorization header value: %q", m)
	}
}

// repeatReader is an endless stream of one byte.
type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// startAppWithLimits is startApp with the http.Server's limits changed, for
// tests of slow clients that should not wait the production timeouts.
func startAppWithLimits(t *testing.T, idp *testIdP, change func(*httpLimits)) *testApp {
	t.Helper()
	return launchApp(t, idp, map[string]string{"RATE_LIMIT": "1000000", "RATE_BURST": "1000000"}, change)
}
