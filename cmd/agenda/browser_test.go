package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/agenda-gpt/agenda/internal/testenv"
)

// browserWait bounds each step in the browser; none comes near it.
const browserWait = 15 * time.Second

// browserZone is the browser's time zone, so what the page shows does not
// depend on the machine's.
const browserZone = "Europe/Paris"

// TestBrowser drives the signed-in page in headless Chromium against the
// real app and identity provider: what the person sees while their GPT
// works.
func TestBrowser(t *testing.T) {
	t.Parallel()
	browser := startBrowser(t)
	idp := startIdP(t)

	t.Run("the GPT's changes appear live", func(t *testing.T) {
		t.Parallel()
		app := startApp(t, idp, nil)
		gpt := app.token("alice", gptOpaqueClient)
		for _, e := range []map[string]any{
			{"title": "Dentist", "start": atDay(1, 9, 30), "end": atDay(1, 10, 0), "time_zone": browserZone, "location": "12 rue de la Paix"},
			{"title": "Flight to Lisbon", "start": atDay(2, 7, 15), "end": atDay(2, 9, 45), "time_zone": browserZone, "notes": "Terminal 2E, seat 14C"},
			{"title": "Conference", "start": atDay(3, 0, 0), "end": atDay(5, 0, 0), "time_zone": browserZone, "all_day": true, "location": "Lisbon"},
		} {
			app.call("POST", "/api/events", gpt, e).event(t)
		}

		tab := newTab(t, browser, "", chromedp.WithNewBrowserContext())
		tab.signIn(app, "alice")
		tab.do(chromedp.WaitVisible(chromedp.CSS(`#user-name`)))
		if n := tab.count(`li.event`); n != 3 {
			t.Fatalf("the page lists %d events, want the 3 of the snapshot", n)
		}
		// A page that reloads loses this; the changes must come without one.
		tab.eval(`window.agendaTestNoReload = true`)

		ev := app.call("POST", "/api/events", gpt, map[string]any{
			"title": "Lunch with Sam", "start": atDay(1, 12, 30), "end": atDay(1, 13, 30), "time_zone": browserZone, "location": "Café Marly",
		}).event(t)
		tab.do(chromedp.WaitVisible(chromedp.CSS(eventSel(ev.ID) + `.changed`)))
		tab.waitText(eventSel(ev.ID)+` .event-title`, "Lunch with Sam")
		tab.screenshot("agenda-signed-in.png")

		app.call("PATCH", "/api/events/"+ev.ID, gpt, map[string]any{"title": "Lunch with Sam and Ana", "location": "Le Train Bleu"}).event(t)
		tab.waitText(eventSel(ev.ID)+` .event-title`, "Lunch with Sam and Ana")
		tab.waitText(eventSel(ev.ID)+` .event-location`, "Location: Le Train Bleu")
		tab.do(chromedp.WaitVisible(chromedp.CSS(eventSel(ev.ID) + `.changed`)))

		if r := app.call("DELETE", "/api/events/"+ev.ID, gpt, nil); r.Status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
		tab.do(chromedp.WaitNotPresent(chromedp.CSS(eventSel(ev.ID))))
		if !tab.eval(`window.agendaTestNoReload === true && document.querySelectorAll('li.event').length === 3`) {
			t.Error("the page reloaded, or lost events, while showing the changes")
		}
	})

	t.Run("on a phone, every control is labelled and the page fits", func(t *testing.T) {
		t.Parallel()
		app := startApp(t, idp, nil)
		gpt := app.token("dana", gptOpaqueClient)
		app.call("POST", "/api/events", gpt, map[string]any{
			"title": "A rather long title for a small screen, to see that it wraps", "start": atDay(1, 9, 0),
			"time_zone": browserZone, "location": "Somewhere with a long address, 75001 Paris",
		}).event(t)
		tab := newTab(t, browser, "", chromedp.WithNewBrowserContext())
		tab.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
		tab.signIn(app, "dana")
		tab.do(chromedp.WaitVisible(chromedp.CSS(`li.event`)), chromedp.WaitVisible(chromedp.CSS(`#add-event`)))
		if !tab.eval(`document.documentElement.scrollWidth <= window.innerWidth`) {
			t.Error("the page scrolls sideways on a 390-pixel-wide phone")
		}
		unlabelled := `[...document.querySelectorAll('input:not([type=hidden]), select, textarea')].filter(e => e.labels.length === 0 && !e.getAttribute('aria-label')).length === 0`
		if !tab.eval(unlabelled) {
			t.Error("a form control has no label")
		}
		// role=status is a polite live region: screen readers announce changes.
		if !tab.eval(`document.querySelector('#connection').closest('[role=status], [aria-live]') !== null`) {
			t.Error("the connection state is not announced (no live region)")
		}
		if !tab.eval(`[...document.querySelectorAll('button')].every(b => b.textContent.trim() !== '' || b.getAttribute('aria-label'))`) {
			t.Error("a button has no accessible name")
		}
		tab.screenshot("agenda-phone.png")
	})

	t.Run("a change in one tab appears in another", func(t *testing.T) {
		t.Parallel()
		app := startApp(t, idp, nil)
		gpt := app.token("bob", gptOpaqueClient)
		ev := app.call("POST", "/api/events", gpt, map[string]any{"title": "Team lunch", "start": atDay(1, 12, 0), "time_zone": browserZone}).event(t)

		one := newTab(t, browser, "", chromedp.WithNewBrowserContext())
		one.signIn(app, "bob")
		two := newTab(t, one.ctx, "") // the same browser, so the same session
		two.do(chromedp.Navigate(app.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`#connection[data-state="live"]`)))

		// Edit in the first tab.
		one.do(
			chromedp.Click(chromedp.CSS(eventSel(ev.ID)+` [data-action="edit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#event-dialog[open]`)),
			chromedp.SetValue(chromedp.CSS(`#event-title`), "Team lunch (moved)"),
			chromedp.SetValue(chromedp.CSS(`#event-location`), "Canteen"),
			chromedp.Click(chromedp.CSS(`#event-save`)),
			chromedp.WaitNotVisible(chromedp.CSS(`#event-dialog`)),
		)
		two.waitText(eventSel(ev.ID)+` .event-title`, "Team lunch (moved)")
		two.do(chromedp.WaitVisible(chromedp.CSS(eventSel(ev.ID) + `.changed`)))
		if got := app.call("GET", "/api/events/"+ev.ID, gpt, nil).event(t); got.Title != "Team lunch (moved)" || got.Location != "Canteen" {
			t.Errorf("the GPT reads %+v", got)
		}

		// Add in the first tab.
		one.do(
			chromedp.Click(chromedp.CSS(`#add-event`)),
			chromedp.WaitVisible(chromedp.CSS(`#event-dialog[open]`)),
			chromedp.SetValue(chromedp.CSS(`#event-title`), "Added in the page"),
			chromedp.Click(chromedp.CSS(`#event-save`)),
			chromedp.WaitNotVisible(chromedp.CSS(`#event-dialog`)),
		)
		two.poll(`[...document.querySelectorAll('li.event.changed .event-title')].some((n) => n.textContent === 'Added in the page')`)

		// Delete in the first tab: it takes two presses.
		one.do(
			chromedp.Click(chromedp.CSS(eventSel(ev.ID)+` [data-action="edit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#event-dialog[open]`)),
			chromedp.Click(chromedp.CSS(`#event-delete`)),
			chromedp.WaitVisible(chromedp.CSS(`#event-delete[data-confirm]`)),
		)
		if one.count(eventSel(ev.ID)) != 1 {
			t.Fatal("one press deleted the event")
		}
		one.do(
			chromedp.Click(chromedp.CSS(`#event-delete`)),
			chromedp.WaitNotVisible(chromedp.CSS(`#event-dialog`)),
			chromedp.WaitNotPresent(chromedp.CSS(eventSel(ev.ID))),
		)
		two.do(chromedp.WaitNotPresent(chromedp.CSS(eventSel(ev.ID))))
		if r := app.call("GET", "/api/events/"+ev.ID, gpt, nil); r.Status != http.StatusNotFound {
			t.Errorf("the GPT still finds the deleted event: %d", r.Status)
		}
	})

	t.Run("an event the page cannot draw is skipped, and said so", func(t *testing.T) {
		t.Parallel()
		app := startApp(t, idp, nil)
		gpt := app.token("erin", gptOpaqueClient)
		good := app.call("POST", "/api/events", gpt, map[string]any{"title": "Drawable", "start": atDay(1, 9, 0), "time_zone": browserZone}).event(t)
		// The API now refuses years past 9999; an older server stored
		// them, and the page must survive the row it left behind.
		db, err := sql.Open("sqlite3", app.cfg.Database)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		const farFuture = 253402304399 // 10000-01-01T00:59:59Z
		if _, err := db.Exec(`INSERT INTO events (id, user_id, title, start_unix, until_unix, span_unix, time_zone, all_day, location, notes, search_text, created_unix, updated_unix)
			SELECT 'evt_far_future', user_id, 'Far future', ?, ?, 0, '', false, '', '', 'far future', created_unix, updated_unix FROM events WHERE id = ?`,
			farFuture, farFuture, good.ID); err != nil {
			t.Fatal(err)
		}

		tab := newTab(t, browser, "", chromedp.WithNewBrowserContext())
		tab.signIn(app, "erin")
		tab.do(chromedp.WaitVisible(chromedp.CSS(`#connection[data-state="live"]`)), chromedp.WaitVisible(chromedp.CSS(eventSel(good.ID))))
		tab.poll(`!document.querySelector('#page-notice').hidden && document.querySelector('#page-notice').textContent.startsWith('1 event could not be shown: its date is out of range.')`)
		if n := tab.count(`li.event`); n != 1 {
			t.Errorf("the page lists %d events, want the 1 it can draw", n)
		}
		if r := app.call("DELETE", "/api/events/evt_far_future", gpt, nil); r.Status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
		tab.do(chromedp.WaitNotVisible(chromedp.CSS(`#page-notice`)))
		tab.do(chromedp.WaitVisible(chromedp.CSS(eventSel(good.ID))))
	})

	t.Run("a page of another origin cannot change the agenda", func(t *testing.T) {
		t.Parallel()
		app := startApp(t, idp, nil)
		gpt := app.token("frank", gptOpaqueClient)
		// Another port of the same host: the same site, so the browser
		// sends the session cookie (SameSite=Lax), but another origin.
		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/" {
				w.WriteHeader(http.StatusNoContent) // the favicon
				return
			}
			fmt.Fprintf(w, `<!doctype html><form id="f" method="post" enctype="text/plain" action="%s/api/events">
				<input name='{"title":"Planted","start":"2027-01-04T09:00:00Z","x":"' value='"}'></form>`, app.URL)
		}))
		t.Cleanup(evil.Close)

		tab := newTab(t, browser, "status of 403", chromedp.WithNewBrowserContext())
		tab.signIn(app, "frank")
		tab.do(chromedp.WaitVisible(chromedp.CSS(`#connection[data-state="live"]`)))
		tab.do(chromedp.Navigate(evil.URL), chromedp.WaitReady(chromedp.CSS(`#f`)))
		// The answer replaces the page: Chromium shows a JSON body in a <pre>.
		tab.do(chromedp.Submit(chromedp.CSS(`#f`)), chromedp.WaitVisible(chromedp.CSS(`pre`)))
		if !tab.eval(`document.body.innerText.includes('cross-origin request refused') && document.body.innerText.includes('"status":403')`) {
			t.Error("the cross-origin post was not answered 403 with the refusal")
		}
		if r := app.call("GET", "/api/events?q=Planted", gpt, nil); r.Status != http.StatusOK || strings.Contains(string(r.Body), "Planted") {
			t.Errorf("the cross-origin post stored an event: %d %s", r.Status, r.Body)
		}
		// The app's own page still writes with the same cookie.
		tab.do(chromedp.Navigate(app.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`#connection[data-state="live"]`)),
			chromedp.Click(chromedp.CSS(`#add-event`)),
			chromedp.WaitVisible(chromedp.CSS(`#event-dialog[open]`)),
			chromedp.SetValue(chromedp.CSS(`#event-title`), "Added at home"),
			chromedp.Click(chromedp.CSS(`#event-save`)),
			chromedp.WaitNotVisible(chromedp.CSS(`#event-dialog`)),
		)
		if r := app.call("GET", "/api/events?q=Added", gpt, nil); !strings.Contains(string(r.Body), "Added at home") {
			t.Errorf("the app's own page could not add an event: %s", r.Body)
		}
	})

	t.Run("a deletion leaves every open tab, in any zone", func(t *testing.T) {
		t.Parallel()
		app := startApp(t, idp, nil)
		gpt := app.token("gina", gptOpaqueClient)
		paris := newTab(t, browser, "", chromedp.WithNewBrowserContext())
		paris.signIn(app, "gina")
		paris.do(chromedp.WaitVisible(chromedp.CSS(`#connection[data-state="live"]`)))
		// The same session in a second tab whose clock is 13 hours ahead.
		kiritimati := newTab(t, paris.ctx, "")
		if _, err := chromedp.Call(kiritimati.ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Pacific/Kiritimati"}); err != nil {
			t.Fatal(err)
		}
		kiritimati.do(chromedp.Navigate(app.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`#connection[data-state="live"]`)))
		if !kiritimati.eval(`Intl.DateTimeFormat().resolvedOptions().timeZone === 'Pacific/Kiritimati'`) {
			t.Fatal("the second tab is not in Pacific/Kiritimati")
		}
		tabs := []*browserTab{paris, kiritimati}
		for round := range 2 {
			ev := app.call("POST", "/api/events", gpt, map[string]any{"title": fmt.Sprintf("Call %d", round), "start": atDay(1, 10, 0), "time_zone": browserZone}).event(t)
			for _, tab := range tabs {
				tab.waitText(eventSel(ev.ID)+` .event-title`, fmt.Sprintf("Call %d", round))
			}
			app.call("PATCH", "/api/events/"+ev.ID, gpt, map[string]any{"title": fmt.Sprintf("Call %d (moved)", round)}).event(t)
			for _, tab := range tabs {
				tab.waitText(eventSel(ev.ID)+` .event-title`, fmt.Sprintf("Call %d (moved)", round))
			}
			if r := app.call("DELETE", "/api/events/"+ev.ID, gpt, nil); r.Status != http.StatusNoContent {
				t.Fatalf("delete: %d %s", r.Status, r.Body)
			}
			for _, tab := range tabs {
				tab.do(chromedp.WaitNotPresent(chromedp.CSS(eventSel(ev.ID))))
			}
		}
		// Deleted while its edit dialog is open: the dialog says so.
		ev := app.call("POST", "/api/events", gpt, map[string]any{"title": "Being edited", "start": atDay(1, 11, 0), "time_zone": browserZone}).event(t)
		paris.do(
			chromedp.Click(chromedp.CSS(eventSel(ev.ID)+` [data-action="edit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#event-dialog[open]`)),
		)
		app.call("DELETE", "/api/events/"+ev.ID, gpt, nil)
		paris.waitText(`#form-error`, "This event has just been deleted.")
		paris.do(chromedp.WaitNotPresent(chromedp.CSS(eventSel(ev.ID))))
		kiritimati.do(chromedp.WaitNotPresent(chromedp.CSS(eventSel(ev.ID))))
	})

	t.Run("the page reconnects after a restart", func(t *testing.T) {
		t.Parallel()
		app := startApp(t, idp, nil)
		gpt := app.token("carol", gptOpaqueClient)

		// While the server is down the browser logs its refused attempts to
		// connect; those are expected here, and only here.
		tab := newTab(t, browser, "net::ERR_CONNECTION_REFUSED", chromedp.WithNewBrowserContext())
		tab.signIn(app, "carol")
		tab.eval(`window.agendaTestNoReload = true`)
		// Count the attempts to reconnect.
		tab.eval(`window.agendaTestAttempts = 0, new MutationObserver(() => {
			if (document.querySelector('#connection').dataset.state === 'connecting') window.agendaTestAttempts++;
		}).observe(document.querySelector('#connection'), { attributes: true })`)

		app.Stop()
		// Offline, and still offline after an attempt failed: the page keeps
		// trying while the server is away.
		tab.poll(`window.agendaTestAttempts >= 1 && document.querySelector('#connection').dataset.state === 'offline'`)
		app.Start()
		tab.do(chromedp.WaitVisible(chromedp.CSS(`#connection[data-state="live"]`)))

		ev := app.call("POST", "/api/events", gpt, map[string]any{"title": "After the restart", "start": atDay(1, 8, 0), "time_zone": browserZone}).event(t)
		tab.do(chromedp.WaitVisible(chromedp.CSS(eventSel(ev.ID) + `.changed`)))
		if !tab.eval(`window.agendaTestNoReload === true`) {
			t.Error("the page reloaded to recover")
		}
	})
}

// startBrowser starts one headless Chromium for the test, and returns the
// context new tabs derive from. Without Chromium the test is skipped, but
// on CI, which installs it, it fails.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		path, err = exec.LookPath("chromium-browser")
	}
	if err != nil {
		testenv.Missing(t, "the browser tests", "Chromium (apt-get install chromium)", errors.New("chromium not found in PATH"))
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // root in a container
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
		// Nothing but the test's own servers: this keeps Chromium off a
		// network it may not reach.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.Env("TZ="+browserZone, "LANGUAGE=en_US"),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	return ctx
}

// browserTab is one page, whose console the test watches: an uncaught exception,
// a console.error or an error in the browser's log fails the test.
type browserTab struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	problems []string
	marks    chan string // console.debug marks, to know the log is read up to them
}

// newTab opens a tab in parent's browser context (a new one with
// chromedp.WithNewBrowserContext). A network error the browser logs is a
// test failure unless it contains expected (when not empty): refused
// connections while the test stops the server, a refusal it provokes.
func newTab(t *testing.T, parent context.Context, expected string, opts ...chromedp.ContextOption) *browserTab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent, opts...)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		t.Fatalf("open a tab: %v", err)
	}
	tb := &browserTab{t: t, ctx: ctx, marks: make(chan string, 1)}
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			switch {
			case m.Type == chromedp.ConsoleDebug && strings.HasPrefix(m.Text, "agenda-test-mark"):
				select {
				case tb.marks <- m.Text:
				case <-ctx.Done():
					return
				}
			case expected != "" && m.Source == "network" && strings.Contains(m.Text, expected):
			case m.IsException(), m.Type == chromedp.ConsoleError:
				tb.mu.Lock()
				tb.problems = append(tb.problems, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line+1))
				tb.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		tb.checkConsole()
		cancel()
		<-done
	})
	return tb
}

// checkConsole reads the console up to now and reports its problems.
func (tb *browserTab) checkConsole() {
	tb.t.Helper()
	mark := "agenda-test-mark " + strconv.FormatInt(time.Now().UnixNano(), 10)
	ctx, cancel := context.WithTimeout(tb.ctx, browserWait)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`console.debug(`+strconv.Quote(mark)+`)`)); err != nil {
		tb.t.Errorf("console: %v", err)
		return
	}
	for seen := ""; seen != mark; {
		select {
		case seen = <-tb.marks:
		case <-ctx.Done():
			tb.t.Errorf("console: the mark never came: %v", ctx.Err())
			return
		}
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, p := range tb.problems {
		tb.t.Errorf("browser console: %s", p)
	}
}

// do runs steps, each wait bounded by browserWait. On failure it saves a
// screenshot of the page next to the other artifacts.
func (tb *browserTab) do(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, browserWait)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.screenshot("failure.png")
		tb.t.Fatalf("browser: %v", err)
	}
}

// poll waits until the JavaScript expression is true.
func (tb *browserTab) poll(expr string) {
	tb.t.Helper()
	tb.do(chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(browserWait)))
}

// waitText waits until the element sel exists with exactly text.
func (tb *browserTab) waitText(sel, text string) {
	tb.t.Helper()
	tb.poll(fmt.Sprintf(`document.querySelector(%q)?.textContent === %q`, sel, text))
}

// eval evaluates a JavaScript expression to a boolean.
func (tb *browserTab) eval(expr string) bool {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, browserWait)
	defer cancel()
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+expr+`)`))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return ok
}

// count returns how many elements match the CSS selector.
func (tb *browserTab) count(sel string) int {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, browserWait)
	defer cancel()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
	if err != nil {
		tb.t.Fatalf("count %s: %v", sel, err)
	}
	return n
}

// signIn signs user in through the provider's login form and waits until
// the agenda is live.
func (tb *browserTab) signIn(app *testApp, user string) {
	tb.t.Helper()
	tb.do(
		chromedp.Navigate(app.URL+"/"),
		chromedp.Click(chromedp.CSS(`#sign-in`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name="username"]`)),
		chromedp.SetValue(chromedp.CSS(`input[name="username"]`), user),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#connection[data-state="live"]`)),
	)
}

// screenshot saves the whole page as a PNG under the artifacts directory.
func (tb *browserTab) screenshot(name string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, browserWait)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Errorf("screenshot: %v", err)
		return
	}
	path := filepath.Join(artifactsDir(tb.t), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.t.Errorf("screenshot: %v", err)
		return
	}
	tb.t.Logf("screenshot: %s", path)
}

// artifactsDir is where a test leaves files for people to look at:
// $ARTIFACTS_DIR/<test name> when set (CI uploads it), else a temporary
// directory.
func artifactsDir(t *testing.T) string {
	t.Helper()
	root := os.Getenv("ARTIFACTS_DIR")
	if root == "" {
		return t.TempDir()
	}
	dir := filepath.Join(root, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// eventSel selects the list item of the event with id.
func eventSel(id string) string {
	return `li.event[data-event-id="` + id + `"]`
}

// atDay is hour:minute, days from today, in the browser's zone.
func atDay(days, hour, minute int) string {
	loc, err := time.LoadLocation(browserZone)
	if err != nil {
		panic(err)
	}
	now := time.Now().In(loc)
	return time.Date(now.Year(), now.Month(), now.Day()+days, hour, minute, 0, 0, loc).Format(time.RFC3339)
}
