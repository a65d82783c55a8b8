package caddymodule

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddy-paywall/caddy-paywall/internal/gateway"
	"github.com/caddy-paywall/caddy-paywall/internal/store"
	"github.com/caddy-paywall/caddy-paywall/internal/tally"
)

// countFor is the console counter of a decision.
func countFor(o gateway.Outcome) tally.Counter {
	switch o {
	case gateway.Pass:
		return tally.Pass
	case gateway.Login:
		return tally.Login
	case gateway.Pay:
		return tally.Pay
	}
	return tally.StoreError
}

// metrics are the paywall's series in Caddy's Prometheus registry (served
// by Caddy's metrics endpoint). Ungated requests are not counted: they cost
// nothing and counting them would.
type metrics struct {
	decisions *prometheus.CounterVec
	webhooks  *prometheus.CounterVec
	store     *prometheus.HistogramVec
	cache     *prometheus.CounterVec

	// Resolved once: a label lookup per request costs more than the count.
	byOutcome              map[gateway.Outcome]prometheus.Counter
	cacheHits, cacheMisses prometheus.Counter

	// The console's in-memory counters (nil without a console).
	tally *tally.Tally
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "caddy", Subsystem: "paywall", Name: "decisions_total",
			Help: "Decisions on gated requests, by outcome (pass, login, pay, denied_store_error, allowed_store_error, free_view, crawler).",
		}, []string{"outcome"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "caddy", Subsystem: "paywall", Name: "webhook_events_total",
			Help: "Webhook deliveries, by event type and result.",
		}, []string{"type", "result"}),
		store: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "caddy", Subsystem: "paywall", Name: "store_seconds",
			Help:    "Latency of entitlement reads from Redis, by result.",
			Buckets: []float64{.0002, .0005, .001, .002, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"result"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "caddy", Subsystem: "paywall", Name: "cache_lookups_total",
			Help: "Entitlement cache lookups while the cache is live, by result (hit, miss); the hit ratio is hit / (hit + miss).",
		}, []string{"result"}),
	}
	if reg != nil {
		m.decisions = register(reg, m.decisions)
		m.webhooks = register(reg, m.webhooks)
		m.store = register(reg, m.store)
		m.cache = register(reg, m.cache)
	}
	m.byOutcome = map[gateway.Outcome]prometheus.Counter{}
	for _, o := range []gateway.Outcome{gateway.Pass, gateway.Login, gateway.Pay, gateway.StoreDenied, gateway.StoreAllowed, gateway.FreeView, gateway.Crawler} {
		m.byOutcome[o] = m.decisions.WithLabelValues(string(o))
	}
	m.cacheHits = m.cache.WithLabelValues("hit")
	m.cacheMisses = m.cache.WithLabelValues("miss")
	return m
}

// register adds c to reg, or returns the collector already there (several
// paywall blocks in one config share the series).
func register[T prometheus.Collector](reg prometheus.Registerer, c T) T {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(T); ok {
				return existing
			}
		}
	}
	return c
}

func (m *metrics) cacheHit()  { m.cacheHits.Inc() }
func (m *metrics) cacheMiss() { m.cacheMisses.Inc() }

func (m *metrics) decision(o gateway.Outcome) {
	if m.tally != nil {
		m.tally.Add(countFor(o))
	}
	if c, ok := m.byOutcome[o]; ok {
		c.Inc()
		return
	}
	m.decisions.WithLabelValues(string(o)).Inc()
}

func (m *metrics) webhook(r gateway.WebhookResult) {
	typ := r.Type
	if typ == "" {
		typ = "unknown"
	}
	m.webhooks.WithLabelValues(typ, r.Outcome).Inc()
}

// timedReader measures entitlement reads.
type timedReader struct {
	inner gateway.Entitlements
	hist  *prometheus.HistogramVec
}

func (t timedReader) Entitlements(ctx context.Context, user string) (store.Entitlements, error) {
	start := time.Now()
	e, err := t.inner.Entitlements(ctx, user)
	result := "ok"
	if err != nil {
		result = "error"
	}
	t.hist.WithLabelValues(result).Observe(time.Since(start).Seconds())
	return e, err
}
