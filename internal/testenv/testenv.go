// Package testenv gives tests the real servers they talk to: a redis-server,
// a three-master Redis Cluster and stripe-mock. The README's test command
// (.ci/test.sh) installs every program in .ci/programs and starts one of
// each server, exporting PAYWALL_TEST_REDIS, PAYWALL_TEST_REDIS_CLUSTER and
// PAYWALL_TEST_STRIPE; without those variables a test starts its own from
// the binaries on PATH (or in the repository's .bin/). Binary is the one way
// a test finds a program: one not in .ci/programs, or not installed, fails
// the test with the command that installs it; these tests are never skipped.
package testenv

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	exitMu    sync.Mutex
	exitFuncs []func()
)

func atExit(f func()) {
	exitMu.Lock()
	exitFuncs = append(exitFuncs, f)
	exitMu.Unlock()
}

// Main runs a package's tests and then stops the servers this process
// started for them. Use it as TestMain: func TestMain(m *testing.M) { testenv.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	exitMu.Lock()
	for _, f := range exitFuncs {
		f()
	}
	exitMu.Unlock()
	os.Exit(code)
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// UniquePrefix returns a Redis key prefix no other test uses, so tests can
// share one redis-server without flushing it.
func UniquePrefix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "{pwtest-" + hex.EncodeToString(b) + "}:"
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// RedisURL returns the URL of a running redis-server: the shared one the
// test command started, else one started for this test.
func RedisURL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("PAYWALL_TEST_REDIS"); u != "" {
		return u
	}
	redisOnce.Do(func() {
		shared = &Redis{t: t, Port: FreePort(t), Dir: os.TempDir()}
		shared.Start()
		atExit(shared.Stop)
	})
	return shared.URL()
}

var (
	redisOnce sync.Once
	shared    *Redis
)

// Redis is a redis-server process owned by one test, which may stop and
// restart it to simulate an outage.
type Redis struct {
	t    testing.TB
	Port int
	Dir  string
	Args []string
	cmd  *exec.Cmd
}

// StartRedis starts a private redis-server on a free port; it is stopped
// when the test ends. Extra arguments are passed to redis-server.
func StartRedis(t testing.TB, extra ...string) *Redis {
	t.Helper()
	r := &Redis{t: t, Port: FreePort(t), Dir: t.TempDir(), Args: extra}
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// URL is the redis:// URL of the server.
func (r *Redis) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.Port) }

// Addr is host:port.
func (r *Redis) Addr() string { return fmt.Sprintf("127.0.0.1:%d", r.Port) }

// Start (re)starts the server with the same port and data directory.
func (r *Redis) Start() {
	r.t.Helper()
	bin := Binary(r.t, "redis-server")
	args := append([]string{"--port", strconv.Itoa(r.Port), "--bind", "127.0.0.1",
		"--dir", r.Dir, "--save", "", "--daemonize", "no", "--logfile", ""}, r.Args...)
	r.cmd = exec.Command(bin, args...)
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("starting redis-server: %v", err)
	}
	waitTCP(r.t, r.Addr(), "redis-server")
}

// Pause stops the server's process (SIGSTOP) without closing its
// connections: a replica that receives but neither applies nor
// acknowledges. Resume continues it.
func (r *Redis) Pause() { r.signal(syscall.SIGSTOP) }

// Resume continues a paused server (SIGCONT).
func (r *Redis) Resume() { r.signal(syscall.SIGCONT) }

func (r *Redis) signal(sig syscall.Signal) {
	r.t.Helper()
	if r.cmd == nil || r.cmd.Process == nil {
		r.t.Fatalf("redis-server on %d is not running", r.Port)
	}
	if err := r.cmd.Process.Signal(sig); err != nil {
		r.t.Fatalf("signalling redis-server on %d: %v", r.Port, err)
	}
}

// Stop kills the server (SIGKILL: an outage, not a clean shutdown).
func (r *Redis) Stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

var (
	stripeOnce sync.Once
	stripeURL  string
	stripeErr  error
)

// StripeURL returns the base URL of a running stripe-mock: the shared one
// the test command started, else one this test process starts once (it
// loads Stripe's whole OpenAPI spec, which takes seconds) and that dies
// with the process.
func StripeURL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("PAYWALL_TEST_STRIPE"); u != "" {
		return u
	}
	bin := Binary(t, "stripe-mock")
	stripeOnce.Do(func() {
		port := FreePort(t)
		cmd := exec.Command(bin, "-http-addr", fmt.Sprintf("127.0.0.1:%d", port), "-https-addr", "127.0.0.1:0")
		if stripeErr = cmd.Start(); stripeErr != nil {
			return
		}
		atExit(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		stripeURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	})
	if stripeErr != nil {
		t.Fatalf("starting stripe-mock: %v", stripeErr)
	}
	waitTCP(t, strings.TrimPrefix(stripeURL, "http://"), "stripe-mock")
	return stripeURL
}

func waitTCP(t testing.TB, addr, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			if what == "redis-server" {
				_, _ = c.Write([]byte("PING\r\n"))
				_ = c.SetReadDeadline(time.Now().Add(time.Second))
				line, _ := bufio.NewReader(c).ReadString('\n')
				c.Close()
				if line == "+PONG\r\n" {
					return
				}
			} else {
				c.Close()
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not start listening on %s within 60s", what, addr)
}

// WaitHTTP waits until url answers any HTTP status.
func WaitHTTP(t testing.TB, url string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not answer within 20s", url)
}
