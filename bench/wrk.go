package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/caddy-paywall/caddy-paywall/bench/internal/harness"
)

// wrkRun is one timed wrk run against one front end.
type wrkRun struct {
	requests int
	rps      float64
	cpuPerRq float64 // the front end's CPU time per request, µs
}

// statusScript counts the status of every response (the checking runs
// only: the response hook costs wrk CPU).
const statusScript = `local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function response(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses")) do
      io.write(string.format("status %d %d\n", status, n))
    end
  end
end
`

func (e *env) wrkArgs(c benchCase, f *front, d time.Duration, extra ...string) []string {
	args := []string{"-t1", fmt.Sprintf("-c%d", e.cfg.connections), fmt.Sprintf("-d%s", d)}
	for _, h := range c.Headers {
		args = append(args, "-H", h)
	}
	return append(append(args, extra...), f.url(c.Path))
}

// wrk runs wrk on the load CPU and returns its output.
func (e *env) wrk(args []string) (string, error) {
	return e.procs.Output(harness.Spec{Name: "wrk", CPUs: e.cfg.loadCPU, Args: append([]string{"wrk"}, args...)})
}

var (
	reRequests = regexp.MustCompile(`(\d+) requests in `)
	reRPS      = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	reNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	reStatus   = regexp.MustCompile(`(?m)^status (\d+) (\d+)$`)
)

// timed is one timed wrk run, with the front end's CPU time around it.
// It fails on socket errors or a count of non-2xx/3xx answers that does
// not fit the expected status.
func (e *env) timed(c benchCase, f *front, want int) (wrkRun, error) {
	return e.timedFor(c, f, want, e.cfg.duration)
}

// timedFor is timed with a run of d.
func (e *env) timedFor(c benchCase, f *front, want int, d time.Duration) (wrkRun, error) {
	cpu0, err := harness.CPUTime(f.cmd.Process.Pid)
	if err != nil {
		return wrkRun{}, err
	}
	out, err := e.wrk(e.wrkArgs(c, f, d))
	if err != nil {
		return wrkRun{}, err
	}
	cpu1, err := harness.CPUTime(f.cmd.Process.Pid)
	if err != nil {
		return wrkRun{}, err
	}
	r := wrkRun{}
	if m := reRequests.FindStringSubmatch(out); m != nil {
		r.requests, _ = strconv.Atoi(m[1])
	}
	if m := reRPS.FindStringSubmatch(out); m != nil {
		r.rps, _ = strconv.ParseFloat(m[1], 64)
	}
	non := 0
	if m := reNon2xx.FindStringSubmatch(out); m != nil {
		non, _ = strconv.Atoi(m[1])
	}
	switch {
	case r.requests == 0 || r.rps == 0:
		return r, fmt.Errorf("%s, %s: no requests in wrk's output:\n%s", f.name, c.Name, out)
	case strings.Contains(out, "Socket errors"):
		return r, fmt.Errorf("%s, %s: wrk socket errors:\n%s", f.name, c.Name, out)
	case want >= 400 && non != r.requests, want < 400 && non != 0:
		return r, fmt.Errorf("%s, %s: %d of %d answers non-2xx/3xx, want status %d", f.name, c.Name, non, r.requests, want)
	}
	r.cpuPerRq = float64(cpu1-cpu0) / float64(time.Microsecond) / float64(r.requests)
	return r, nil
}

// checkLoad is a 1-second wrk run (also the warm-up) in which every
// answer must have the expected status.
func (e *env) checkLoad(c benchCase, f *front, want int) error {
	script := e.procs.Path("statuses.lua")
	if err := os.WriteFile(script, []byte(statusScript), 0o644); err != nil {
		return err
	}
	out, err := e.wrk(e.wrkArgs(c, f, time.Second, "-s", script))
	if err != nil {
		return err
	}
	good, bad := 0, ""
	for _, m := range reStatus.FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(m[2])
		if m[1] == strconv.Itoa(want) {
			good += n
		} else {
			bad += fmt.Sprintf(" %s x%d", m[1], n)
		}
	}
	if good == 0 || bad != "" {
		return fmt.Errorf("%s, %s: under load %d answers %d, others:%s; want only %d", f.name, c.Name, good, want, bad, want)
	}
	return nil
}

// checkOne sends one request and checks the answer.
func checkOne(c benchCase, f *front, want int, check func(*http.Response, string) error) error {
	req, _ := http.NewRequest(http.MethodGet, f.url(c.Path), nil)
	harness.SetHeaders(req, c.Headers)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s, %s: %w", f.name, c.Name, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s, %s: status %d, want %d", f.name, c.Name, resp.StatusCode, want)
	}
	if check != nil {
		if err := check(resp, string(body)); err != nil {
			return fmt.Errorf("%s, %s: %w", f.name, c.Name, err)
		}
	}
	return nil
}
