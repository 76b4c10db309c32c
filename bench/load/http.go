package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// The window every list asks for: the 20 events each user is given.
const (
	listPath   = "/api/events?from=2026-12-01T00:00:00%2B01:00&to=2026-12-08T00:00:00%2B01:00&limit=20"
	eventsPath = "/api/events"
)

var firstDay = time.Date(2026, 12, 1, 8, 0, 0, 0, time.FixedZone("CET", 3600))

// worker is one client connection's worth of load: one user, its token, and
// the events it may read, change and delete. No two workers share an event,
// so no request meets another's deletion.
type worker struct {
	base    string
	token   string
	client  *http.Client
	rng     *rand.Rand
	ids     []string // events to get and update
	created []string // events to delete, newest last
	ceiling bool     // the bare server: ids are never used up
	seq     int
	name    string
	body    bytes.Buffer
	req     bytes.Buffer
}

var errExhausted = errors.New("no event left to delete")

// do sends one request and checks its status; the answer stays in w.body.
func (w *worker) do(method, path string, body []byte, want int) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, w.base+path, rd)
	if err != nil {
		return err
	}
	if w.token != "" {
		req.Header.Set("Authorization", "Bearer "+w.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	w.body.Reset()
	_, err = w.body.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d, want %d: %.300s", method, path, resp.StatusCode, want, w.body.Bytes())
	}
	return nil
}

// idFromBody finds "id":"..." in an event without decoding all of it, to
// keep the load generator's share of the CPU small.
func idFromBody(b []byte) (string, error) {
	const key = `"id":"`
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return "", fmt.Errorf("no id in %.200s", b)
	}
	rest := b[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return "", fmt.Errorf("no id in %.200s", b)
	}
	return string(rest[:j]), nil
}

func (w *worker) list() error { return w.do(http.MethodGet, listPath, nil, http.StatusOK) }

func (w *worker) get() error {
	return w.do(http.MethodGet, eventsPath+"/"+w.ids[w.rng.IntN(len(w.ids))], nil, http.StatusOK)
}

// create sends what a GPT sends: a titled event in the user's zone, with a
// location, a note and a fresh request_id.
func (w *worker) create() error {
	w.seq++
	start := firstDay.Add(time.Duration(w.rng.IntN(24*60)) * time.Hour / 2)
	w.req.Reset()
	fmt.Fprintf(&w.req, `{"title":"Meeting %d","start":%q,"end":%q,"time_zone":"Europe/Paris",`+
		`"location":"Room %d","notes":"Agenda: budget review, hiring plan and the offsite; bring the Q4 figures.",`+
		`"request_id":"%s-%d"}`,
		w.seq, start.Format(time.RFC3339), start.Add(45*time.Minute).Format(time.RFC3339), w.seq%40, w.name, w.seq)
	if err := w.do(http.MethodPost, eventsPath, w.req.Bytes(), http.StatusCreated); err != nil {
		return err
	}
	id, err := idFromBody(w.body.Bytes())
	if err != nil {
		return err
	}
	if !w.ceiling {
		w.created = append(w.created, id)
	}
	return nil
}

func (w *worker) update() error {
	w.seq++
	w.req.Reset()
	fmt.Fprintf(&w.req, `{"title":"Moved meeting %d","notes":"Moved at the request of the team (%d)."}`, w.seq, w.seq)
	return w.do(http.MethodPatch, eventsPath+"/"+w.ids[w.rng.IntN(len(w.ids))], w.req.Bytes(), http.StatusOK)
}

func (w *worker) delete() error {
	id := w.ids[0]
	if !w.ceiling {
		if len(w.created) == 0 {
			return errExhausted
		}
		id = w.created[len(w.created)-1]
		w.created = w.created[:len(w.created)-1]
	}
	return w.do(http.MethodDelete, eventsPath+"/"+id, nil, http.StatusNoContent)
}

// mixed is what a GPT's traffic looks like: mostly reading the agenda, then
// adding to it, with some changes and a few deletions.
func (w *worker) mixed() error {
	switch n := w.rng.IntN(100); {
	case n < 45:
		return w.list()
	case n < 65:
		return w.get()
	case n < 82:
		return w.create()
	case n < 94:
		return w.update()
	default:
		if len(w.created) == 0 && !w.ceiling {
			return w.create()
		}
		return w.delete()
	}
}

// result is one workload's run.
type result struct {
	requests int           // measured, after the warm-up
	all      int           // warm-up included
	cpu      time.Duration // the server process's CPU time over the whole run
	errors   int
	firstErr error
	elapsed  time.Duration
	lat      []time.Duration // sorted
}

func (r result) rps() float64 { return float64(r.requests) / r.elapsed.Seconds() }

// cpuPerRequest is the server's CPU time per request, warm-up included.
func (r result) cpuPerRequest() time.Duration {
	if r.all == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.all)
}

func (r result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[min(len(r.lat)-1, int(float64(len(r.lat))*p))]
}

// run drives op on every worker at once for warmup+d and measures the
// requests that start after the warm-up. A worker stops early when op says
// it is out of work.
func run(srv *server, workers []*worker, op func(*worker) error, warmup, d time.Duration) result {
	cpu0, _ := srv.cpuTime()
	start := time.Now()
	from, until := start.Add(warmup), start.Add(warmup+d)
	var mu sync.Mutex
	var res result
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() {
			lat := make([]time.Duration, 0, 1<<14)
			errs, all := 0, 0
			var first error
			for {
				t0 := time.Now()
				if !t0.Before(until) {
					break
				}
				err := op(w)
				if errors.Is(err, errExhausted) {
					break
				}
				all++
				if t0.Before(from) {
					continue
				}
				if err != nil {
					errs++
					if first == nil {
						first = err
					}
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			res.errors += errs
			res.all += all
			if res.firstErr == nil {
				res.firstErr = first
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	end := time.Now()
	if end.After(until) {
		end = until
	}
	res.elapsed = end.Sub(from)
	res.requests = len(res.lat)
	if cpu1, err := srv.cpuTime(); err == nil {
		res.cpu = cpu1 - cpu0
	}
	slices.Sort(res.lat)
	return res
}

// newClient is one keep-alive connection per worker.
func newClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
			DisableCompression:  true,
			IdleConnTimeout:     time.Minute,
		},
	}
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 2, 64) + " ms"
}
