//go:build smoke

package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"

	"github.com/agenda-gpt/agenda"
)

type fakeAPI struct {
	w     *Web
	mu    sync.Mutex
	evs   map[string]agenda.Event
	n     int
	conns map[*websocket.Conn]bool
}

func problem(rw http.ResponseWriter, status int, detail string) {
	rw.Header().Set("Content-Type", "application/problem+json")
	rw.WriteHeader(status)
	json.NewEncoder(rw).Encode(map[string]any{"title": http.StatusText(status), "status": status, "detail": detail})
}

func (f *fakeAPI) broadcast(typ string, e agenda.Event) {
	for c := range f.conns {
		c.WriteJSON(map[string]any{"type": typ, "event": e})
	}
}

func (f *fakeAPI) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	id, ok := f.w.Identity(r)
	if !ok {
		problem(rw, 401, "sign in")
		return
	}
	_ = id
	if r.URL.Path == "/ws" {
		up := websocket.Upgrader{}
		c, err := up.Upgrade(rw, r, nil)
		if err != nil {
			return
		}
		f.mu.Lock()
		var list []agenda.Event
		for _, e := range f.evs {
			list = append(list, e)
		}
		if list == nil {
			list = []agenda.Event{}
		}
		c.WriteJSON(map[string]any{"type": "snapshot", "events": list})
		f.conns[c] = true
		f.mu.Unlock()
		go func() {
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					f.mu.Lock()
					delete(f.conns, c)
					f.mu.Unlock()
					return
				}
			}
		}()
		return
	}
	if r.Method != http.MethodGet {
		if err := f.w.CheckCSRF(r); err != nil {
			problem(rw, 403, agenda.ErrorMessage(err))
			return
		}
	}
	var body struct {
		Title    *string `json:"title"`
		Start    *string `json:"start"`
		End      *string `json:"end"`
		ClearEnd bool    `json:"clear_end"`
		TimeZone *string `json:"time_zone"`
		AllDay   *bool   `json:"all_day"`
		Location *string `json:"location"`
		Notes    *string `json:"notes"`
	}
	if r.Body != nil {
		json.NewDecoder(r.Body).Decode(&body)
	}
	fmt.Fprintf(os.Stderr, "API %s %s %+v\n", r.Method, r.URL.Path, body)
	parse := func(s *string) *time.Time {
		if s == nil {
			return nil
		}
		t, err := time.Parse(time.RFC3339, *s)
		if err != nil {
			return nil
		}
		return &t
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	rw.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == "GET":
		problem(rw, 200, "")
	case r.Method == "POST":
		in := agenda.NewEvent{}
		if body.Title != nil {
			in.Title = *body.Title
		}
		if t := parse(body.Start); t != nil {
			in.Start = *t
		}
		in.End = parse(body.End)
		if body.TimeZone != nil {
			in.TimeZone = *body.TimeZone
		}
		if body.AllDay != nil {
			in.AllDay = *body.AllDay
		}
		if body.Location != nil {
			in.Location = *body.Location
		}
		if body.Notes != nil {
			in.Notes = *body.Notes
		}
		e, err := in.Event()
		if err != nil {
			problem(rw, 400, agenda.ErrorMessage(err))
			return
		}
		f.n++
		e.ID = fmt.Sprintf("ev%d", f.n)
		e.CreatedAt, e.UpdatedAt = time.Now(), time.Now()
		f.evs[e.ID] = e
		rw.WriteHeader(201)
		json.NewEncoder(rw).Encode(e)
		f.broadcast("event.created", e)
	case r.Method == "PATCH":
		idp := strings.TrimPrefix(r.URL.Path, "/api/events/")
		e, ok := f.evs[idp]
		if !ok {
			problem(rw, 404, "no such event")
			return
		}
		p := agenda.EventPatch{Title: body.Title, Start: parse(body.Start), End: parse(body.End), ClearEnd: body.ClearEnd,
			TimeZone: body.TimeZone, AllDay: body.AllDay, Location: body.Location, Notes: body.Notes}
		e2, err := e.Patched(p)
		if err != nil {
			problem(rw, 400, agenda.ErrorMessage(err))
			return
		}
		e2.UpdatedAt = time.Now().Add(time.Second)
		f.evs[idp] = e2
		json.NewEncoder(rw).Encode(e2)
		f.broadcast("event.updated", e2)
	case r.Method == "DELETE":
		idp := strings.TrimPrefix(r.URL.Path, "/api/events/")
		e := f.evs[idp]
		delete(f.evs, idp)
		rw.WriteHeader(204)
		f.broadcast("event.deleted", e)
	}
}

func TestSmoke(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	cfg := testConfig(t)
	cfg.BaseURL = mustURL(t, base)
	w, _ := newWeb(t, cfg)
	api := &fakeAPI{w: w, evs: map[string]agenda.Event{}, conns: map[*websocket.Conn]bool{}}
	paris, _ := time.LoadLocation("Europe/Paris")
	ny, _ := time.LoadLocation("America/New_York")
	now := time.Now()
	end := now.Add(26 * time.Hour)
	api.evs["a"] = agenda.Event{ID: "a", Title: "Dentist <b>", Start: now.Add(2 * time.Hour).In(paris).Truncate(time.Hour), TimeZone: "Europe/Paris", Location: "Rue X", Notes: "bring card\nline 2", UpdatedAt: now}
	api.evs["b"] = agenda.Event{ID: "b", Title: "Call with NY", Start: now.Add(30 * time.Hour).In(ny).Truncate(time.Hour), End: &end, TimeZone: "America/New_York", UpdatedAt: now}
	d := time.Date(now.Year(), now.Month(), now.Day()+3, 0, 0, 0, 0, paris)
	d2 := d.AddDate(0, 0, 3)
	api.evs["c"] = agenda.Event{ID: "c", Title: "Holiday", Start: d, End: &d2, AllDay: true, TimeZone: "Europe/Paris", UpdatedAt: now}
	mux := http.NewServeMux()
	mux.Handle("/api/", api)
	mux.Handle("/ws", api)
	mux.Handle("/", w)
	srv.Config.Handler = mux
	srv.Start()
	defer srv.Close()
	cookie := signedIn(t, w, "u1", "Alice")

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath("/usr/bin/chromium"), chromedp.NoSandbox, chromedp.Env("TZ=Europe/Berlin"))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var consoleErrs []string
	var mu sync.Mutex
	chromedp.ListenTarget(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			consoleErrs = append(consoleErrs, "exception: "+e.ExceptionDetails.Error())
		case *runtime.EventConsoleAPICalled:
			if e.Type == "error" || e.Type == "warning" {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				consoleErrs = append(consoleErrs, string(e.Type)+": "+strings.Join(parts, " "))
			}
		}
	})
	shot := func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			var b []byte
			if err := chromedp.FullScreenshot(&b, 90).Do(ctx); err != nil {
				return err
			}
			return os.WriteFile("/tmp/smoke/"+name+".png", b, 0o644)
		})
	}
	var count int
	var html string
	err := chromedp.Run(ctx,
		chromedp.EmulateViewport(1280, 900),
		network.SetCookie(cookie.Name, cookie.Value).WithDomain("127.0.0.1").WithPath("/"),
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(`#connection[data-state="live"]`),
		chromedp.Evaluate(`document.querySelectorAll('[data-event-id]').length`, &count),
		shot("list"),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("events in list: %d", count)
	// add an event
	err = chromedp.Run(ctx,
		chromedp.Click(`#add-event`),
		chromedp.WaitVisible(`#event-dialog[open]`),
		chromedp.SendKeys(`#event-title`, "Lunch with Bob"),
		chromedp.SendKeys(`#event-location`, "Cafe"),
		shot("form"),
		chromedp.Click(`#event-save`),
		chromedp.WaitNotPresent(`#event-dialog[open]`),
		chromedp.WaitVisible(`[data-event-id="ev1"]`),
		chromedp.OuterHTML(`[data-event-id="ev1"]`, &html),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(html)
	// edit: clear end, change title
	err = chromedp.Run(ctx,
		chromedp.Click(`[data-event-id="ev1"] [data-action="edit"]`),
		chromedp.WaitVisible(`#event-dialog[open]`),
		chromedp.SetValue(`#event-title`, "Lunch with Bob and Ann"),
		chromedp.SetValue(`#event-end-date`, ""),
		chromedp.SetValue(`#event-end-time`, ""),
		chromedp.Click(`#event-save`),
		chromedp.WaitNotPresent(`#event-dialog[open]`),
		chromedp.OuterHTML(`[data-event-id="ev1"]`, &html),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(html)
	// error detail: end before start
	var errText string
	err = chromedp.Run(ctx,
		chromedp.Click(`[data-event-id="ev1"] [data-action="edit"]`),
		chromedp.WaitVisible(`#event-dialog[open]`),
		chromedp.SetValue(`#event-end-date`, "2000-01-01"),
		chromedp.SetValue(`#event-end-time`, "10:00"),
		chromedp.Click(`#event-save`),
		chromedp.WaitVisible(`#form-error`),
		chromedp.Text(`#form-error`, &errText),
		shot("form-error"),
		chromedp.Click(`#event-cancel`),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("error shown:", errText)
	// all-day edit of holiday
	err = chromedp.Run(ctx,
		chromedp.Click(`[data-event-id="c"] [data-action="edit"]`),
		chromedp.WaitVisible(`#event-dialog[open]`),
		shot("allday-form"),
		chromedp.Click(`#event-cancel`),
		// delete
		chromedp.Click(`[data-event-id="ev1"] [data-action="edit"]`),
		chromedp.WaitVisible(`#event-dialog[open]`),
		chromedp.Click(`#event-delete`),
		chromedp.Click(`#event-delete`),
		chromedp.WaitNotPresent(`[data-event-id="ev1"]`),
		chromedp.Click(`#view-week`),
		chromedp.WaitVisible(`.week`),
		shot("week"),
		chromedp.Click(`#week-prev`),
		chromedp.WaitVisible(`#connection[data-state="live"]`),
		chromedp.EmulateViewport(390, 844),
		shot("week-phone"),
		chromedp.Click(`#view-list`),
		shot("list-phone"),
	)
	if err != nil {
		t.Fatal(err)
	}
	// restart: drop ws connections → offline → reconnect
	api.mu.Lock()
	for c := range api.conns {
		c.Close()
	}
	api.mu.Unlock()
	var state string
	err = chromedp.Run(ctx,
		chromedp.WaitVisible(`#connection[data-state="live"]`),
		chromedp.AttributeValue(`#connection`, "data-state", &state, nil),
	)
	if err != nil {
		t.Fatal(err)
	}
	// signed-out page and privacy
	err = chromedp.Run(ctx, network.ClearBrowserCookies(), chromedp.Navigate(base+"/"), shot("home"), chromedp.Navigate(base+"/privacy"), shot("privacy"))
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, e := range consoleErrs {
		t.Error(e)
	}
}
