package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/agenda-gpt/agenda/devidp"
)

// The identity provider's clients, as a Logto tenant would have them: the
// GPT's (opaque tokens, checked at userinfo) and the API resource JWTs are
// minted for.
const (
	gptClient   = "bench-gpt"
	gptSecret   = "bench-secret"
	gptCallback = "https://chatgpt.com/aip/g-bench/oauth/callback"
	apiResource = "https://agenda.bench/api"
)

// idp is the development identity provider on its own loopback server,
// standing in for Logto, with a switch that makes its userinfo endpoint slow.
type idp struct {
	*devidp.Provider
	srv      *httptest.Server
	keys     *devidp.Keys // the provider's, to sign JWTs it vouches for
	delay    atomic.Int64 // nanoseconds added to every userinfo answer
	userinfo atomic.Int64 // userinfo requests received
}

// startIdP runs a development provider on its own loopback server, with a
// handler in front that counts userinfo calls and can delay them (the
// fault this benchmark injects on purpose).
func startIdP() (*idp, error) {
	srv := httptest.NewUnstartedServer(nil)
	keys, err := devidp.NewKeys()
	if err != nil {
		return nil, err
	}
	p, err := devidp.New(devidp.Config{
		Issuer: "http://" + srv.Listener.Addr().String() + "/oidc",
		Keys:   keys,
		Clients: []devidp.Client{{
			ID: gptClient, Secret: gptSecret, RedirectURIs: []string{gptCallback},
			AuthMethod: devidp.ClientSecretPost,
		}},
		Resources: []devidp.Resource{{Indicator: apiResource, Permissions: []string{"read", "write"}}},
	})
	if err != nil {
		srv.Close()
		return nil, err
	}
	i := &idp{Provider: p, srv: srv, keys: keys}
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oidc/me" {
			i.userinfo.Add(1)
			if d := time.Duration(i.delay.Load()); d > 0 {
				time.Sleep(d) // the injected slowness itself
			}
		}
		p.ServeHTTP(w, r)
	})
	srv.Start()
	return i, nil
}

// URL is what LOGTO_ENDPOINT is set to: the issuer without /oidc.
func (i *idp) URL() string { return i.srv.URL }

// signIn gets an opaque access token for user the way ChatGPT does.
func (i *idp) signIn(ctx context.Context, user string) (string, error) {
	tok, err := devidp.SignIn(ctx, nil, i.Issuer(),
		devidp.ClientCredentials{ID: gptClient, Secret: gptSecret, AuthMethod: devidp.ClientSecretPost},
		gptCallback, user, []string{"openid", "offline_access"}, "")
	if err != nil {
		return "", fmt.Errorf("sign in %s: %w", user, err)
	}
	return tok.AccessToken, nil
}

// mintJWT returns a JWT access token for the API resource, as Logto issues
// with RBAC; the app verifies it locally.
func (i *idp) mintJWT(user string, n int) (string, error) {
	now := time.Now()
	return i.keys.Sign(map[string]any{
		"iss": i.Issuer(), "sub": user, "aud": apiResource, "scope": "read write",
		"client_id": gptClient, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"jti": fmt.Sprintf("bench-%d-%d", now.UnixNano(), n),
	})
}

// server is a server process this program started.
type server struct {
	URL  string
	cmd  *exec.Cmd
	done chan error
}

// startAgenda runs the real agenda binary on a loopback port, against the
// given identity provider and SQLite file, and waits until it answers.
func startAgenda(bin, dir, dbPath, idpURL string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	logFile, err := os.OpenFile(filepath.Join(dir, "agenda.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	// A clean environment: only what the benchmark sets, so a developer's
	// own DATABASE_URL or LOGTO_ENDPOINT cannot leak in.
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"GOMAXPROCS=" + os.Getenv("GOMAXPROCS"),
		"GOGC=" + os.Getenv("GOGC"),
		"BASE_URL=" + base,
		"PORT=" + strconv.Itoa(port),
		"DATABASE_URL=" + dbPath,
		"LOGTO_ENDPOINT=" + idpURL,
		"LOGTO_API_RESOURCE=" + apiResource,
		// The per-user limit is a product setting, not a cost: out of the way.
		"RATE_LIMIT=1000000000",
		"RATE_BURST=1000000",
		"LOG_LEVEL=info", // one line per request, as in production
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &server{URL: base, cmd: cmd, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait(); logFile.Close() }()
	if err := s.waitReady(20 * time.Second); err != nil {
		s.kill()
		return nil, fmt.Errorf("agenda did not start (see %s): %w", logFile.Name(), err)
	}
	return s, nil
}

// startCeiling runs this program as the bare Echo server (-serve-ceiling),
// a separate process like the app, so both share the machine the same way.
func startCeiling(samplePath string) (*server, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-serve-ceiling", samplePath)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, done: make(chan error, 1)}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		s.kill()
		return nil, fmt.Errorf("ceiling server: %w", err)
	}
	go func() { io.Copy(io.Discard, out); s.done <- cmd.Wait() }()
	s.URL = "http://" + strings.TrimSpace(line)
	return s, s.waitReady(10 * time.Second)
}

func (s *server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		resp, err := http.Get(s.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-s.done:
			return fmt.Errorf("exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			return errors.New("not answering /healthz")
		}
		time.Sleep(20 * time.Millisecond) // polling a starting process
	}
}

// stop ends the server gracefully (SIGTERM) and waits for it.
func (s *server) stop() error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case err := <-s.done:
		return err
	case <-time.After(30 * time.Second):
		s.kill()
		return errors.New("did not stop within 30 s of SIGTERM")
	}
}

func (s *server) kill() {
	s.cmd.Process.Kill()
}

// rssBytes reads the server's resident set size from /proc.
func (s *server) rssBytes() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// cpuTime reads the server's user and system CPU time from /proc, in the
// kernel's clock ticks (USER_HZ, 100 a second on Linux).
func (s *server) cpuTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: count from after it.
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, errors.New("unexpected /proc/PID/stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// freePort asks the kernel for a free loopback port. The agenda binary
// takes a PORT, not a listener, so there is a short window in which another
// program could take it; a benchmark can live with that.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
