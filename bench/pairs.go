package main

import (
	"fmt"

	"github.com/caddy-paywall/caddy-paywall/bench/internal/harness"
)

// pair is one bare run followed by one run of the case's front end.
type pair struct{ bare, front wrkRun }

// cpuRatio is bare's CPU per request over the front end's: 1.0 is free,
// 0.9 is 10% more CPU per request than bare reverse_proxy.
func (p pair) cpuRatio() float64 { return p.bare.cpuPerRq / p.front.cpuPerRq }

// rpsRatio is the front end's throughput over bare's.
func (p pair) rpsRatio() float64 { return p.front.rps / p.bare.rps }

// measured is a case with its front end and its pairs.
type measured struct {
	benchCase
	front *front
	pairs []pair
}

// runWrk starts the front ends, checks every case, measures the pairs
// and prints the table.
func (e *env) runWrk(selected []benchCase) error {
	bare, err := e.startFront("bare", "")
	if err != nil {
		return err
	}
	if err := e.grant("paid-user", "pro", e.vars); err != nil {
		return err
	}
	ms, err := e.startAndCheck(bare, selected)
	if err != nil {
		return err
	}
	fmt.Printf("== %d pairs: wrk -t1 -c%d -d%s on CPU %s; front ends on CPU %s with GOMAXPROCS=1; bare runs first in each pair\n",
		e.cfg.pairs, e.cfg.connections, e.cfg.duration, e.cfg.loadCPU, e.cfg.frontCPU)
	for i := range e.cfg.pairs {
		for _, m := range ms {
			b, err := e.timed(m.benchCase, bare, 200)
			if err != nil {
				return err
			}
			f, err := e.timed(m.benchCase, m.front, m.Status)
			if err != nil {
				return err
			}
			m.pairs = append(m.pairs, pair{b, f})
			fmt.Printf("   pair %d %-20s bare %7.0f req/s %6.1f µs/req   front %7.0f req/s %6.1f µs/req   CPU ratio %.3f\n",
				i+1, m.Name, b.rps, b.cpuPerRq, f.rps, f.cpuPerRq, pair{b, f}.cpuRatio())
		}
	}
	printTable(ms)
	fmt.Println("== checking the front ends' answers again after the pairs")
	for _, m := range ms {
		if err := e.checkLoad(m.benchCase, m.front, m.Status); err != nil {
			return err
		}
	}
	return nil
}

// startAndCheck starts each case's front end and checks both sides: one
// request (status and what proves it right), then a second of load.
func (e *env) startAndCheck(bare *front, selected []benchCase) ([]*measured, error) {
	fmt.Println("== checking every case (one request, then 1s of wrk counting statuses; also the warm-up)")
	var ms []*measured
	for i, c := range selected {
		f, err := e.startFront(fmt.Sprintf("front%d", i), c.Front)
		if err != nil {
			return nil, err
		}
		for _, err := range []error{
			checkOne(c, bare, 200, upstreamBody), checkOne(c, f, c.Status, c.Check),
			e.checkLoad(c, bare, 200), e.checkLoad(c, f, c.Status),
		} {
			if err != nil {
				return nil, err
			}
		}
		ms = append(ms, &measured{benchCase: c, front: f})
	}
	return ms, nil
}

// printTable prints, per case, the median CPU ratio with its spread, the
// A/A control's beside it, the CPU per request and the throughputs.
func printTable(ms []*measured) {
	aa := summary(ms[0].pairs, pair.cpuRatio)
	fmt.Println()
	fmt.Println("Front end's CPU time per request, bare reverse_proxy / this front end (1.0: costs nothing; median of the pairs [min–max])")
	fmt.Printf("%-20s %-22s %-22s %-7s %-4s %9s %9s %8s %9s %9s %6s\n", "case", "CPU ratio bare/front",
		"A/A control", "target", "met", "bare µs", "front µs", "+µs/req", "bare rq/s", "front rq/s", "rq/s ×")
	for _, m := range ms {
		ratio := harness.Median(values(m.pairs, pair.cpuRatio))
		met := "-"
		if m.Target > 0 {
			met = map[bool]string{true: "yes", false: "NO"}[ratio >= m.Target]
		}
		bus := harness.Median(values(m.pairs, func(p pair) float64 { return p.bare.cpuPerRq }))
		fus := harness.Median(values(m.pairs, func(p pair) float64 { return p.front.cpuPerRq }))
		fmt.Printf("%-20s %-22s %-22s %-7s %-4s %9.1f %9.1f %+8.1f %9.0f %9.0f %6.3f\n", m.Name,
			summary(m.pairs, pair.cpuRatio), aa, target(m.Target), met, bus, fus, fus-bus,
			harness.Median(values(m.pairs, func(p pair) float64 { return p.bare.rps })),
			harness.Median(values(m.pairs, func(p pair) float64 { return p.front.rps })),
			harness.Median(values(m.pairs, pair.rpsRatio)))
	}
	fmt.Println("(µs and rq/s: medians over the pairs; rq/s ×: median per-pair throughput ratio front/bare)")
	fmt.Println()
}

func values(ps []pair, f func(pair) float64) []float64 {
	out := make([]float64, len(ps))
	for i, p := range ps {
		out[i] = f(p)
	}
	return out
}

func summary(ps []pair, f func(pair) float64) string {
	xs := values(ps, f)
	lo, hi := harness.MinMax(xs)
	return fmt.Sprintf("%.3f [%.3f–%.3f]", harness.Median(xs), lo, hi)
}

func target(t float64) string {
	if t == 0 {
		return "-"
	}
	return fmt.Sprintf(">=%g", t)
}
