package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/caddy-paywall/caddy-paywall/bench/internal/harness"
)

// runProfile takes a CPU profile of bare and of the gateway on the paid
// path, each pinned as in the pairs, through the admin endpoint's
// /debug/pprof/profile while wrk runs, and prints the gateway's top frames
// and where it spends more than bare, in µs of CPU per request.
func (e *env) runProfile() error {
	paid, err := caseNamed("paid")
	if err != nil {
		return err
	}
	if err := e.grant("paid-user", "pro", e.vars); err != nil {
		return err
	}
	fmt.Printf("== profiling bare and the paid path: %s of wrk -t1 -c%d each, front ends on CPU %s with GOMAXPROCS=1\n",
		e.cfg.profileDuration, e.cfg.connections, e.cfg.frontCPU)
	bare, err := e.profileSide(paid, "profile-bare", "", 200, upstreamBody)
	if err != nil {
		return err
	}
	gw, err := e.profileSide(paid, "profile-paid", paid.Front, paid.Status, paid.Check)
	if err != nil {
		return err
	}
	printTop(gw, e.cfg.profileTop)
	printMoreThanBare(gw, bare, e.cfg.profileTop)
	return nil
}

// profileSide starts one front end (snippet "" is bare Caddy), checks it
// answers c's request as expected, profiles it under load and stops it.
func (e *env) profileSide(c benchCase, name, snippet string, status int, check func(*http.Response, string) error) (*profiled, error) {
	v := e.vars
	port, err := harness.FreePort()
	if err != nil {
		return nil, err
	}
	v.Admin = fmt.Sprintf("127.0.0.1:%d", port)
	f, err := e.startCaddy(name, e.cfg.frontCPU, []string{"GOMAXPROCS=1"}, snippet, v)
	if err != nil {
		return nil, err
	}
	defer e.procs.Stop(f.cmd)
	if err := checkOne(c, f, status, check); err != nil {
		return nil, err
	}
	if err := e.checkLoad(c, f, status); err != nil {
		return nil, err
	}
	p, err := e.profile(c, f, v.Admin, status, e.cfg.profileDuration)
	if err != nil {
		return nil, err
	}
	if e.cfg.profileDir != "" {
		fmt.Printf("   kept %s (its symbols are in it: go tool pprof -top %[1]s)\n", filepath.Join(e.cfg.profileDir, name+".pprof"))
	}
	fmt.Printf("   %-13s %8d requests  %6.1f µs CPU/request (/proc)  %5.1f µs/request in the profile's samples\n",
		name, p.run.requests, p.run.cpuPerRq, p.total)
	return p, nil
}

// printTop prints gw's top functions by flat CPU.
func printTop(gw *profiled, top int) {
	fmt.Printf("\nThe gateway on the paid path: top %d functions by flat CPU, µs per request (cum: with callees)\n", top)
	fmt.Printf("%9s %9s  %s\n", "flat", "cum", "function")
	byFlat := gw.names()
	sort.Slice(byFlat, func(i, j int) bool { return gw.flat[byFlat[i]] > gw.flat[byFlat[j]] })
	for _, fn := range byFlat[:min(top, len(byFlat))] {
		fmt.Printf("%9.2f %9.2f  %s\n", gw.flat[fn], gw.cum[fn], fn)
	}
}

// printMoreThanBare prints the functions where gw spends the most more
// than bare, by cum CPU.
func printMoreThanBare(gw, bare *profiled, top int) {
	fmt.Printf("\nWhere the paid path costs more than bare: top %d functions by the difference in cum CPU, µs per request\n", top)
	fmt.Printf("%9s %9s %9s %9s  %s\n", "+cum", "paid cum", "bare cum", "+flat", "function")
	all := map[string]bool{}
	for _, fn := range append(gw.names(), bare.names()...) {
		all[fn] = true
	}
	var diff []string
	for fn := range all {
		diff = append(diff, fn)
	}
	sort.Slice(diff, func(i, j int) bool {
		di, dj := gw.cum[diff[i]]-bare.cum[diff[i]], gw.cum[diff[j]]-bare.cum[diff[j]]
		if di != dj {
			return di > dj
		}
		return diff[i] < diff[j]
	})
	for _, fn := range diff[:min(top, len(diff))] {
		fmt.Printf("%+9.2f %9.2f %9.2f %+9.2f  %s\n", gw.cum[fn]-bare.cum[fn], gw.cum[fn], bare.cum[fn],
			gw.flat[fn]-bare.flat[fn], fn)
	}
	fmt.Printf("(total: paid %.1f, bare %.1f µs/request in the samples; one profile each, so the machine's other load is in both)\n\n",
		gw.total, bare.total)
}

// profiled is one profile, per function, in µs of CPU per request.
type profiled struct {
	run       wrkRun
	flat, cum map[string]float64
	total     float64
}

func (p *profiled) names() []string {
	out := make([]string, 0, len(p.cum))
	for fn := range p.cum {
		out = append(out, fn)
	}
	return out
}

// profile runs wrk for d against f while the admin endpoint takes a CPU
// profile that starts before it and ends after it, so that every sample
// of the run is in the profile (an idle process adds almost none).
func (e *env) profile(c benchCase, f *front, admin string, want int, d time.Duration) (*profiled, error) {
	path := e.procs.Path(f.name + ".pprof")
	if e.cfg.profileDir != "" {
		path = filepath.Join(e.cfg.profileDir, f.name+".pprof")
	}
	seconds := int((d+999*time.Millisecond)/time.Second) + 1
	done := make(chan error, 1)
	go func() {
		done <- fetchTo(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", admin, seconds), path,
			time.Duration(seconds+30)*time.Second)
	}()
	time.Sleep(300 * time.Millisecond) // the profile has started
	run, err := e.timedFor(c, f, want, d)
	if err != nil {
		return nil, err
	}
	if err := <-done; err != nil {
		return nil, fmt.Errorf("%s: profile: %w", f.name, err)
	}
	out, err := e.procs.Output(harness.Spec{Name: "pprof", Args: []string{"go", "tool", "pprof",
		"-top", "-nodecount=1000000", "-nodefraction=0", "-edgefraction=0", "-unit=us", e.caddy, path}})
	if err != nil {
		return nil, err
	}
	p := &profiled{run: run, flat: map[string]float64{}, cum: map[string]float64{}}
	n := float64(run.requests)
	for _, m := range reTopLine.FindAllStringSubmatch(out, -1) {
		flat, _ := strconv.ParseFloat(m[1], 64)
		cum, _ := strconv.ParseFloat(m[2], 64)
		p.flat[m[3]] += flat / n
		p.cum[m[3]] += cum / n
		p.total += flat / n
	}
	if len(p.cum) == 0 {
		return nil, fmt.Errorf("%s: no functions in the profile:\n%s", f.name, out)
	}
	return p, nil
}

// reTopLine is one row of `go tool pprof -top -unit=us`:
// flat flat% sum% cum cum% function (a zero has no unit).
var reTopLine = regexp.MustCompile(`(?m)^\s*([\d.]+)(?:us)?\s+[\d.]+%\s+[\d.]+%\s+([\d.]+)(?:us)?\s+[\d.]+%\s+(.+?)\s*$`)

func fetchTo(url, path string, timeout time.Duration) error {
	client := &http.Client{Timeout: timeout}
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s: %s %s", url, resp.Status, strings.TrimSpace(string(b)))
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, resp.Body); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func caseNamed(name string) (benchCase, error) {
	for _, c := range cases {
		if c.Name == name {
			return c, nil
		}
	}
	return benchCase{}, fmt.Errorf("no case %q", name)
}
