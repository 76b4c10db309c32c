// Command load measures the agenda server under load, as a separate process
// on loopback, with SQLite and a real OpenID Connect provider (devidp, in
// this process, standing in for Logto):
//
//   - requests/s and p50/p99 latency of list (20 events), get, create,
//     update, delete and a mixed GPT-like workload, each beside a bare Echo
//     server answering the same requests with the same JSON (the ceiling);
//   - the identity provider's share: latency with a 100 ms userinfo
//     endpoint, and userinfo calls per 1,000 API calls;
//   - many WebSockets held open at once: the server's memory per connection
//     and the push latency at that load.
//
// The server runs as its own process (the real binary, `agenda serve`),
// not in this one: its RSS can then be read for the memory per WebSocket,
// each process gets its own open-file limit (10,000 sockets on each side),
// and the server's CPU time per request is read from /proc apart from the
// load generator's. The ceiling is a separate process too, so both share
// the machine the same way. All three share the CPUs: figures from a busy
// machine are low, but the ratios hold better than absolute numbers.
//
// It prints a Markdown report and exits non-zero if any request failed.
// bench/run.sh builds the server and runs it:
//
//	bench/run.sh                  # the whole run, under two minutes
//	bench/run.sh -d 2s -ws-conns 2000
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

type options struct {
	agenda  string
	conc    int
	dur     time.Duration
	warmup  time.Duration
	wsConns int
	pushes  int
	strict  bool
	only    string
}

func main() {
	var o options
	ceiling := flag.String("serve-ceiling", "", "internal: serve the bare Echo ceiling with the sample events in this file")
	flag.StringVar(&o.agenda, "agenda", "", "the agenda binary to start (bench/run.sh builds it)")
	flag.IntVar(&o.conc, "c", 16, "concurrent clients, one keep-alive connection and one user each")
	flag.DurationVar(&o.dur, "d", 5*time.Second, "measured duration of each workload")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured warm-up before each workload")
	flag.IntVar(&o.wsConns, "ws-conns", 10000, "WebSockets held open at once in each real-time scenario (0 skips them)")
	flag.IntVar(&o.pushes, "pushes", 30, "changes pushed in the few-users scenario (ten times as many with many users)")
	flag.BoolVar(&o.strict, "strict", false, "also exit non-zero when a target is missed")
	flag.StringVar(&o.only, "only", "", "run only the workloads whose names contain one of these comma-separated words")
	flag.Parse()

	if *ceiling != "" {
		if err := serveCeiling(*ceiling); err != nil {
			fmt.Fprintln(os.Stderr, "ceiling:", err)
			os.Exit(1)
		}
		return
	}
	if o.agenda == "" {
		fmt.Fprintln(os.Stderr, "load: -agenda is required; run bench/run.sh")
		os.Exit(2)
	}
	ok, err := bench(context.Background(), o, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

// workload is one row of the HTTP table.
type workload struct {
	name string
	op   func(*worker) error
}

var workloads = []workload{
	{"list 20 events", (*worker).list},
	{"get", (*worker).get},
	{"create", (*worker).create},
	{"update", (*worker).update},
	{"delete", (*worker).delete},
	{"mixed (GPT-like)", (*worker).mixed},
}

// bench runs everything and writes the report. ok is false when a request
// failed (or, with -strict, a target was missed).
func bench(ctx context.Context, o options, out io.Writer) (ok bool, err error) {
	limit, err := raiseFileLimit(uint64(o.wsConns) + 1024)
	if err != nil {
		return false, fmt.Errorf("%w: %d open files allowed, %d WebSockets need more; lower -ws-conns", err, limit, o.wsConns)
	}
	dir, err := os.MkdirTemp("", "agenda-bench-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(dir)
	dbPath := filepath.Join(dir, "agenda.db")

	progress("identity provider and agenda server")
	provider, err := startIdP()
	if err != nil {
		return false, err
	}
	defer provider.srv.Close()
	srv, err := startAgenda(o.agenda, dir, dbPath, provider.URL())
	if err != nil {
		return false, err
	}
	defer func() {
		if srv != nil {
			srv.kill()
		}
	}()

	// One user per client, each with the 20 events its lists return.
	progress("signing in %d users and giving each 20 events", o.conc)
	client := newClient(o.conc)
	app := make([]*worker, o.conc)
	bare := make([]*worker, o.conc)
	for i := range o.conc {
		tok, err := provider.signIn(ctx, fmt.Sprintf("load-%d", i))
		if err != nil {
			return false, err
		}
		app[i] = &worker{base: srv.URL, token: tok, client: client, rng: rand.New(rand.NewPCG(1, uint64(i))), name: fmt.Sprintf("w%d", i)}
		for d := range 20 {
			body := fmt.Sprintf(`{"title":"Setup %d","start":%q,"time_zone":"Europe/Paris","location":"Office","notes":"Weekly sync."}`,
				d, firstDay.Add(time.Duration(d)*8*time.Hour).Format(time.RFC3339))
			if err := app[i].do(http.MethodPost, eventsPath, []byte(body), http.StatusCreated); err != nil {
				return false, err
			}
			id, err := idFromBody(app[i].body.Bytes())
			if err != nil {
				return false, err
			}
			app[i].ids = append(app[i].ids, id)
		}
	}
	if err := app[0].list(); err != nil {
		return false, err
	}
	var sample struct {
		Events json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(app[0].body.Bytes(), &sample); err != nil {
		return false, err
	}
	samplePath := filepath.Join(dir, "sample.json")
	if err := os.WriteFile(samplePath, sample.Events, 0o600); err != nil {
		return false, err
	}
	ceiling, err := startCeiling(samplePath)
	if err != nil {
		return false, err
	}
	defer ceiling.kill()
	bareClient := newClient(o.conc)
	for i, w := range app {
		bare[i] = &worker{base: ceiling.URL, token: w.token, client: bareClient, rng: rand.New(rand.NewPCG(2, uint64(i))),
			ids: w.ids[:1], ceiling: true, name: w.name}
	}

	rows := make([]row, 0, len(workloads))
	failed := false
	for _, wl := range workloads {
		if !selected(o.only, wl.name) {
			continue
		}
		progress("%s: ceiling", wl.name)
		c := run(ceiling, bare, wl.op, o.warmup, o.dur)
		progress("%s: agenda", wl.name)
		a := run(srv, app, wl.op, o.warmup, o.dur)
		rows = append(rows, row{name: wl.name, app: a, ceiling: c})
		failed = failed || a.errors > 0 || c.errors > 0
	}

	progress("identity provider's share (userinfo 100 ms slow)")
	share, err := idpShare(ctx, provider, srv.URL)
	if err != nil {
		return false, err
	}
	failed = failed || share.errors > 0

	var ws []wsResult
	if o.wsConns > 0 {
		for _, many := range []bool{false, true} {
			// A fresh server process for each scenario, so its RSS
			// before is not inflated by what came earlier.
			if err := srv.stop(); err != nil {
				return false, fmt.Errorf("stop the agenda server: %w", err)
			}
			srv = nil
			if srv, err = startAgenda(o.agenda, dir, dbPath, provider.URL()); err != nil {
				return false, err
			}
			r, err := wsScenario(ctx, provider, srv, o, many)
			if err != nil {
				return false, err
			}
			ws = append(ws, r)
		}
	}
	if err := srv.stop(); err != nil {
		return false, fmt.Errorf("stop the agenda server: %w", err)
	}
	srv = nil

	missed := report(out, o, rows, share, ws)
	return !failed && !(o.strict && missed), nil
}

// wsScenario holds o.wsConns connections for 10 users (1,000 tabs each, at
// the default) or for as many users as connections (signed in with JWTs,
// which the app verifies locally).
func wsScenario(ctx context.Context, provider *idp, srv *server, o options, many bool) (wsResult, error) {
	var tokens []string
	name, pushes := "few users", o.pushes
	if many {
		name, pushes = "many users", o.pushes*10
		progress("WebSockets, many users: minting %d tokens", o.wsConns)
		for i := range o.wsConns {
			tok, err := provider.mintJWT(fmt.Sprintf("ws-many-%d", i), i)
			if err != nil {
				return wsResult{}, err
			}
			tokens = append(tokens, tok)
		}
	} else {
		for i := range min(10, o.wsConns) {
			tok, err := provider.signIn(ctx, fmt.Sprintf("ws-few-%d", i))
			if err != nil {
				return wsResult{}, err
			}
			tokens = append(tokens, tok)
		}
	}
	progress("WebSockets, %s: opening %d connections for %d users", name, o.wsConns, len(tokens))
	return runWS(ctx, name, srv, tokens, o.wsConns, pushes)
}

// shareResult is the identity provider's share of the latency.
type shareResult struct {
	sameToken     result // one token, sequential calls
	tenTokens     result // 10 tokens, 1,000 calls
	userinfoCalls int64  // during the 1,000 calls
	errors        int
}

// idpShare makes userinfo answer in 100 ms, then times repeated calls with
// one new token, and counts userinfo calls over 1,000 API calls with 10 new
// tokens.
func idpShare(ctx context.Context, provider *idp, base string) (shareResult, error) {
	var res shareResult
	newWorkers := func(prefix string, n int) ([]*worker, error) {
		ws := make([]*worker, n)
		client := newClient(n)
		for i := range ws {
			tok, err := provider.signIn(ctx, fmt.Sprintf("%s-%d", prefix, i))
			if err != nil {
				return nil, err
			}
			ws[i] = &worker{base: base, token: tok, client: client}
		}
		return ws, nil
	}
	one, err := newWorkers("share-one", 1)
	if err != nil {
		return res, err
	}
	ten, err := newWorkers("share-ten", 10)
	if err != nil {
		return res, err
	}
	provider.delay.Store(int64(100 * time.Millisecond))
	defer provider.delay.Store(0)

	res.sameToken = runCount(one, (*worker).list, 200)
	before := provider.userinfo.Load()
	res.tenTokens = runCount(ten, (*worker).list, 100)
	res.userinfoCalls = provider.userinfo.Load() - before
	res.errors = res.sameToken.errors + res.tenTokens.errors
	return res, nil
}

// runCount sends n requests from each worker, all workers at once, and
// measures every one (the first, uncached, included).
func runCount(workers []*worker, op func(*worker) error, n int) result {
	start := time.Now()
	results := make([]result, len(workers))
	finished := make(chan struct{})
	for i, w := range workers {
		go func() {
			defer func() { finished <- struct{}{} }()
			for range n {
				t0 := time.Now()
				if err := op(w); err != nil {
					results[i].errors++
					if results[i].firstErr == nil {
						results[i].firstErr = err
					}
					continue
				}
				results[i].lat = append(results[i].lat, time.Since(t0))
			}
		}()
	}
	for range workers {
		<-finished
	}
	var res result
	for _, r := range results {
		res.lat = append(res.lat, r.lat...)
		res.errors += r.errors
		if res.firstErr == nil {
			res.firstErr = r.firstErr
		}
	}
	res.elapsed = time.Since(start)
	res.requests = len(res.lat)
	slices.Sort(res.lat)
	return res
}

type row struct {
	name         string
	app, ceiling result
}

// Targets the README states.
const (
	targetListRatio = 0.5
	targetCreates   = 5000.0
	targetIdPP50    = 5 * time.Millisecond
)

// report writes the Markdown tables and says which targets were missed.
func report(out io.Writer, o options, rows []row, share shareResult, ws []wsResult) (missed bool) {
	host, _ := os.Hostname()
	fmt.Fprintf(out, "\n## agenda load benchmark\n\n")
	fmt.Fprintf(out, "%s, %s/%s, %d CPUs (GOMAXPROCS %d), host %s, %s.\n", runtime.Version(), runtime.GOOS, runtime.GOARCH,
		runtime.NumCPU(), runtime.GOMAXPROCS(0), host, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(out, "Server and ceiling each a separate process on 127.0.0.1, sharing the CPUs with this load generator; "+
		"SQLite (WAL, synchronous=NORMAL), opaque tokens checked at a real OIDC provider's userinfo and cached; "+
		"%d clients, one keep-alive connection and one user each; %s measured after %s of warm-up per workload.\n\n", o.conc, o.dur, o.warmup)

	fmt.Fprintln(out, "| workload | agenda req/s | p50 | p99 | server CPU/req | ceiling req/s | ceiling p50 | ceiling CPU/req | ratio | errors |")
	fmt.Fprintln(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	var errs []string
	for _, r := range rows {
		ratio := r.app.rps() / r.ceiling.rps()
		fmt.Fprintf(out, "| %s | %.0f | %s | %s | %d µs | %.0f | %s | %d µs | %.2f | %d |\n", r.name, r.app.rps(), ms(r.app.pct(0.5)), ms(r.app.pct(0.99)),
			r.app.cpuPerRequest().Microseconds(), r.ceiling.rps(), ms(r.ceiling.pct(0.5)), r.ceiling.cpuPerRequest().Microseconds(), ratio, r.app.errors+r.ceiling.errors)
		for _, e := range []error{r.app.firstErr, r.ceiling.firstErr} {
			if e != nil {
				errs = append(errs, r.name+": "+e.Error())
			}
		}
	}
	fmt.Fprintln(out)
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		missed = true
		return "**missed**"
	}
	for _, r := range rows {
		switch r.name {
		case "list 20 events":
			ratio := r.app.rps() / r.ceiling.rps()
			fmt.Fprintf(out, "- Authenticated list at %.2f of the ceiling (target ≥ %.1f): %s.\n", ratio, targetListRatio, verdict(ratio >= targetListRatio))
		case "create":
			fmt.Fprintf(out, "- Creates sustained at %.0f/s (target ≥ %.0f/s): %s.\n", r.app.rps(), targetCreates, verdict(r.app.rps() >= targetCreates))
		}
	}

	fmt.Fprintf(out, "\n### Identity provider's share (userinfo answering in 100 ms)\n\n")
	fmt.Fprintln(out, "| calls | p50 | p99 | userinfo calls |")
	fmt.Fprintln(out, "|---|---:|---:|---:|")
	fmt.Fprintf(out, "| %d in a row, one new token | %s | %s | — |\n", share.sameToken.requests, ms(share.sameToken.pct(0.5)), ms(share.sameToken.pct(0.99)))
	fmt.Fprintf(out, "| %d, 10 new tokens, 10 at once | %s | %s | %d per %d API calls |\n\n", share.tenTokens.requests,
		ms(share.tenTokens.pct(0.5)), ms(share.tenTokens.pct(0.99)), share.userinfoCalls, share.tenTokens.requests)
	p50 := share.sameToken.pct(0.5)
	fmt.Fprintf(out, "- p50 with one token %s (target < %s): %s.\n", ms(p50), targetIdPP50, verdict(p50 < targetIdPP50))
	for _, e := range []error{share.sameToken.firstErr, share.tenTokens.firstErr} {
		if e != nil {
			errs = append(errs, "identity provider's share: "+e.Error())
		}
	}

	if len(ws) > 0 {
		fmt.Fprintf(out, "\n### Real-time: WebSockets held open at once\n\n")
		fmt.Fprintln(out, "Server RSS read from /proc before and after the connections were opened (each scenario on a fresh server process); "+
			"push latency from sending the create to the change read by each of the owner's connections.")
		fmt.Fprintln(out)
		fmt.Fprintln(out, "| scenario | connections | users | opened in | server RSS before → after | per connection | pushes × receivers | push p50 | push p99 |")
		fmt.Fprintln(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
		for _, r := range ws {
			fmt.Fprintf(out, "| %s | %d | %d | %.1f s | %d → %d MiB | %.1f KiB | %d × %d | %s | %s |\n", r.name, r.conns, r.users,
				r.openTime.Seconds(), r.rssBefore>>20, r.rssAfter>>20, float64(r.perConn())/1024, r.pushes, r.conns/r.users,
				ms(r.pct(0.5)), ms(r.pct(0.99)))
		}
	}
	if len(errs) > 0 {
		fmt.Fprintf(out, "\nErrors (first of each kind):\n\n")
		for _, e := range errs {
			fmt.Fprintf(out, "- %s\n", strings.ReplaceAll(e, "\n", " "))
		}
	}
	return missed
}

// selected reports whether name matches the -only list (empty: everything).
func selected(only, name string) bool {
	if only == "" {
		return true
	}
	for _, w := range strings.Split(only, ",") {
		if w = strings.TrimSpace(w); w != "" && strings.Contains(name, w) {
			return true
		}
	}
	return false
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "load: "+format+"\n", args...)
}
