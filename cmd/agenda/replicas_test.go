package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/agenda-gpt/agenda"
	"github.com/agenda-gpt/agenda/realtime"
	"github.com/agenda-gpt/agenda/store/storetest"
)

// The tests here run replicas of the server as separate processes on one
// PostgreSQL database, signed in through the real OIDC provider of the API
// tests, and talk to them as a GPT (the API) and as browsers (WebSockets).

// change is what a browser is told, in short, for comparing sequences.
type pushed struct {
	Type, ID, Title string
}

func pushedOf(m realtime.Message) pushed {
	return pushed{m.Type, m.Event.ID, m.Event.Title}
}

// TestReplicasLiveSync: a GPT writes through replica A while browsers of
// the same user on A, B and C receive each change once, in commit order;
// another user's browser receives nothing of it.
func TestReplicasLiveSync(t *testing.T) {
	idp := startIdP(t)
	rs := startReplicas(t, idp, storetest.NewDatabase(t), 3, nil)
	a, b, c := rs[0], rs[1], rs[2]
	alice, bob := idp.token(t, "alice", gptOpaqueClient), idp.token(t, "bob", gptOpaqueClient)

	tabs := []*feed{openFeed(t, a.URL, alice), openFeed(t, b.URL, alice), openFeed(t, c.URL, alice), openFeed(t, c.URL, alice)}
	bobTab := openFeed(t, b.URL, bob)

	// The GPT's calls, one after the other: commit order is call order.
	var want []pushed
	created := func(r response) agenda.Event {
		e := decodeEvent(t, r)
		want = append(want, pushed{string(agenda.EventCreated), e.ID, e.Title})
		return e
	}
	updated := func(r response) {
		e := decodeEvent(t, r)
		want = append(want, pushed{string(agenda.EventUpdated), e.ID, e.Title})
	}
	e1 := created(mustCallAPI(t, 201, "POST", a.URL+"/api/events", alice, map[string]any{"title": "Dentist", "start": "2027-01-04T09:00:00+01:00", "time_zone": "Europe/Paris"}))
	e2 := created(mustCallAPI(t, 201, "POST", a.URL+"/api/events", alice, map[string]any{"title": "Lunch", "start": "2027-01-04T12:00:00Z"}))
	updated(mustCallAPI(t, 200, "PATCH", a.URL+"/api/events/"+e1.ID, alice, map[string]any{"title": "Dentist (moved)"}))
	mustCallAPI(t, 204, "DELETE", a.URL+"/api/events/"+e2.ID, alice, nil)
	want = append(want, pushed{string(agenda.EventDeleted), e2.ID, ""})
	body := map[string]any{"title": "Flight", "start": "2027-01-05T07:00:00Z", "request_id": "trip-1"}
	e3 := created(mustCallAPI(t, 201, "POST", a.URL+"/api/events", alice, body))
	if r := mustCallAPI(t, 201, "POST", a.URL+"/api/events", alice, body); r.Header.Get("Idempotent-Replayed") != "true" || decodeEvent(t, r).ID != e3.ID {
		t.Fatalf("the retry was not replayed: %v %s", r.Header, r.Body)
	}
	for i := range 5 {
		updated(mustCallAPI(t, 200, "PATCH", a.URL+"/api/events/"+e3.ID, alice, map[string]any{"title": fmt.Sprint("Flight v", i)}))
	}
	// A last write through another replica marks the end: nothing may
	// come between the changes above and it (no duplicate, nothing for the
	// replay).
	created(mustCallAPI(t, 201, "POST", b.URL+"/api/events", alice, map[string]any{"title": "Marker", "start": "2027-01-06T07:00:00Z"}))

	for i, tab := range tabs {
		for j, w := range want {
			got := pushedOf(tab.nextChange(t).Message)
			if w.Type == string(agenda.EventDeleted) {
				got.Title = ""
			}
			if got != w {
				t.Fatalf("tab %d, change %d: got %+v, want %+v", i, j, got, w)
			}
		}
	}

	// Bob's tab: the first thing it hears is Bob's own change.
	mine := decodeEvent(t, mustCallAPI(t, 201, "POST", c.URL+"/api/events", bob, map[string]any{"title": "Bob's", "start": "2027-01-04T09:00:00Z"}))
	if m := bobTab.nextChange(t); m.Event.ID != mine.ID {
		t.Fatalf("bob's tab heard %s %v, want only bob's change", m.Type, m.Event)
	}
}

// TestReplicasListenerResync ends replica B's LISTEN connection from the
// database side: B's browsers get a fresh snapshot, which together with the
// changes around it shows every write; A's browsers notice nothing.
func TestReplicasListenerResync(t *testing.T) {
	idp := startIdP(t)
	db := storetest.NewDatabase(t)
	rs := startReplicas(t, idp, db, 2, nil)
	a, b := rs[0], rs[1]
	alice := idp.token(t, "alice", gptOpaqueClient)
	tabA, tabB := openFeed(t, a.URL, alice), openFeed(t, b.URL, alice)
	seen := feedView{}

	for round := range 2 {
		listener := "agenda-listener-" + strconv.Itoa(b.Pid())
		if n := storetest.QueryInt(t, db, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = $1`, listener); n != 1 {
			t.Fatalf("ended %d backends named %s, want 1", n, listener)
		}
		// Written while B may not be listening.
		during := decodeEvent(t, mustCallAPI(t, 201, "POST", a.URL+"/api/events", alice, map[string]any{"title": fmt.Sprint("during ", round), "start": "2027-01-04T09:00:00Z"}))
		for {
			m := tabB.next(t)
			seen.apply(m.Message)
			if m.Type == realtime.TypeSnapshot {
				break
			}
		}
		// The snapshot comes once B listens again: what follows arrives.
		after := decodeEvent(t, mustCallAPI(t, 201, "POST", a.URL+"/api/events", alice, map[string]any{"title": fmt.Sprint("after ", round), "start": "2027-01-04T10:00:00Z"}))
		for {
			m := tabB.next(t)
			seen.apply(m.Message)
			if m.Type != realtime.TypeSnapshot && m.Event.ID == after.ID {
				break
			}
		}
		for _, e := range []agenda.Event{during, after} {
			if _, ok := seen[e.ID]; !ok {
				t.Fatalf("round %d: B's browser never learnt of %q", round, e.Title)
			}
		}
		for _, e := range []agenda.Event{during, after} {
			if m := tabA.nextChange(t); m.Event.ID != e.ID {
				t.Fatalf("round %d: A's browser heard %v, want %q", round, m.Event, e.Title)
			}
		}
	}
}

// TestReplicasSurviveKill kills replica A with SIGKILL in the middle of a
// GPT's writes: every write A acknowledged is in the database and was
// pushed to browsers on C, and B and C go on serving.
func TestReplicasSurviveKill(t *testing.T) {
	idp := startIdP(t)
	rs := startReplicas(t, idp, storetest.NewDatabase(t), 3, nil)
	a, b, c := rs[0], rs[1], rs[2]
	alice := idp.token(t, "alice", gptOpaqueClient)
	tabA, tabC := openFeed(t, a.URL, alice), openFeed(t, c.URL, alice)

	const writers, before = 4, 40
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	enough := make(chan struct{})
	var enoughOnce sync.Once
	for w := range writers {
		wg.Go(func() {
			for i := 0; ; i++ {
				r, err := callAPI("POST", a.URL+"/api/events", alice, map[string]any{"title": fmt.Sprintf("w%d #%d", w, i), "start": "2027-01-04T09:00:00Z"})
				if err != nil {
					return // A is gone
				}
				if r.Status != http.StatusCreated {
					t.Errorf("create: %d %s", r.Status, r.Body)
					return
				}
				mu.Lock()
				acked = append(acked, decodeEvent(t, r).ID)
				if len(acked) >= before {
					enoughOnce.Do(func() { close(enough) })
				}
				mu.Unlock()
			}
		})
	}
	select {
	case <-enough:
	case <-time.After(time.Minute):
		t.Fatal("the writers did not get going")
	}
	a.kill(t)
	wg.Wait()
	if err := tabA.ended(t); err == nil {
		t.Error("the browser on the killed replica did not notice")
	}

	// Every acknowledged write is stored, and B answers.
	r := mustCallAPI(t, 200, "GET", b.URL+"/api/events?from=2027-01-04T00:00:00Z&limit=200", alice, nil)
	var page struct{ Events []agenda.Event }
	if err := json.Unmarshal(r.Body, &page); err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, e := range page.Events {
		stored[e.ID] = true
	}
	for _, id := range acked {
		if !stored[id] {
			t.Errorf("A acknowledged %s, which is lost", id)
		}
	}

	// B still writes, and C's browser has every acknowledged change and
	// then B's.
	after := decodeEvent(t, mustCallAPI(t, 201, "POST", b.URL+"/api/events", alice, map[string]any{"title": "after the kill", "start": "2027-01-04T09:00:00Z"}))
	atC := map[string]bool{}
	for {
		m := tabC.nextChange(t)
		if m.Event.ID == after.ID {
			break
		}
		atC[m.Event.ID] = true
	}
	for _, id := range acked {
		if !atC[id] {
			t.Errorf("A acknowledged %s, never pushed to C's browser", id)
		}
	}
	t.Logf("%d writes acknowledged before SIGKILL, %d stored, %d pushed", len(acked), len(stored), len(atC))
}

// TestReplicasConcurrentWrites: GPT calls for one user reach all replicas
// at once. Patches of different fields of one event all survive (no lost
// update), retries of a create sent to several replicas together make one
// event, and a browser hears each create once.
func TestReplicasConcurrentWrites(t *testing.T) {
	idp := startIdP(t)
	rs := startReplicas(t, idp, storetest.NewDatabase(t), 3, nil)
	alice := idp.token(t, "alice", gptOpaqueClient)
	tab := openFeed(t, rs[2].URL, alice)

	// No lost update: each round, three replicas patch three fields of
	// the same event at the same moment.
	e := decodeEvent(t, mustCallAPI(t, 201, "POST", rs[0].URL+"/api/events", alice, map[string]any{"title": "shared", "start": "2027-01-04T09:00:00Z"}))
	fields := []string{"title", "location", "notes"}
	for round := range 15 {
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, field := range fields {
			wg.Go(func() {
				<-start
				r, err := callAPI("PATCH", rs[i].URL+"/api/events/"+e.ID, alice, map[string]any{field: fmt.Sprint(field, " ", round)})
				if err != nil || r.Status != http.StatusOK {
					t.Errorf("patch %s: %v %d %s", field, err, r.Status, r.Body)
				}
			})
		}
		close(start)
		wg.Wait()
		got := decodeEvent(t, mustCallAPI(t, 200, "GET", rs[round%3].URL+"/api/events/"+e.ID, alice, nil))
		if want := fmt.Sprint(" ", round); got.Title != "title"+want || got.Location != "location"+want || got.Notes != "notes"+want {
			t.Fatalf("round %d: after three concurrent patches, the event is %q / %q / %q", round, got.Title, got.Location, got.Notes)
		}
	}

	// Retries: the same request_id sent to every replica at once.
	const creates = 20
	ids := map[string]bool{}
	for i := range creates {
		body := map[string]any{"title": fmt.Sprint("retried ", i), "start": "2027-01-05T09:00:00Z", "request_id": fmt.Sprint("req-", i)}
		start := make(chan struct{})
		results := make([]response, len(rs))
		var wg sync.WaitGroup
		for j, r := range rs {
			wg.Go(func() {
				<-start
				res, err := callAPI("POST", r.URL+"/api/events", alice, body)
				if err != nil {
					t.Error(err)
				}
				results[j] = res
			})
		}
		close(start)
		wg.Wait()
		fresh := 0
		for _, res := range results {
			if res.Status != http.StatusCreated {
				t.Fatalf("create %d: %d %s", i, res.Status, res.Body)
			}
			if res.Header.Get("Idempotent-Replayed") != "true" {
				fresh++
			}
			ids[decodeEvent(t, res).ID] = true
		}
		if fresh != 1 {
			t.Fatalf("create %d sent to %d replicas at once: %d not replayed, want 1", i, len(rs), fresh)
		}
	}
	if len(ids) != creates {
		t.Fatalf("%d requests made %d events, want %d", creates, len(ids), creates)
	}

	// Many writers, every replica, at once.
	const writers, each = 9, 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				r, err := callAPI("POST", rs[w%3].URL+"/api/events", alice, map[string]any{"title": fmt.Sprintf("w%d #%d", w, i), "start": "2027-01-06T09:00:00Z"})
				if err != nil || r.Status != http.StatusCreated {
					t.Errorf("create: %v %d %s", err, r.Status, r.Body)
					return
				}
				mu.Lock()
				ids[decodeEvent(t, r).ID] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	r := mustCallAPI(t, 200, "GET", rs[1].URL+"/api/events?from=2027-01-05T00:00:00Z&limit=200", alice, nil)
	var page struct{ Events []agenda.Event }
	if err := json.Unmarshal(r.Body, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != creates+writers*each {
		t.Fatalf("stored %d events, want %d", len(page.Events), creates+writers*each)
	}

	// The browser heard 1 create and 45 updates of the shared event, then
	// each create once.
	marker := decodeEvent(t, mustCallAPI(t, 201, "POST", rs[0].URL+"/api/events", alice, map[string]any{"title": "marker", "start": "2027-01-07T09:00:00Z"}))
	heard := map[string]int{}
	updates := 0
	for {
		m := tab.nextChange(t)
		if m.Event.ID == marker.ID {
			break
		}
		switch {
		case m.Type == string(agenda.EventCreated):
			heard[m.Event.ID]++
		case m.Event.ID == e.ID:
			updates++
		default:
			t.Fatalf("unexpected %s %v", m.Type, m.Event)
		}
	}
	if updates != 3*15 {
		t.Errorf("heard %d updates of the shared event, want %d", updates, 3*15)
	}
	for id := range ids {
		if heard[id] != 1 {
			t.Errorf("heard the create of %s %d times, want once", id, heard[id])
		}
	}
	if len(heard) != len(ids)+1 { // and the shared event's create
		t.Errorf("heard %d creates, want %d", len(heard), len(ids)+1)
	}
}
