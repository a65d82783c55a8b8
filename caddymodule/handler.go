package caddymodule

import (
	"io"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-paywall/caddy-paywall/internal/gateway"
)

// ServeHTTP adapts Caddy to the gateway's gate (gateway.Check), which
// decides everything: spoofed X-Paywall-* headers, endpoints, ungated
// paths, identity, entitlements, free views, crawlers, shadow and
// on_store_error. Here the replacer goes in, and the answer, the upstream
// headers and the placeholders come out. Ungated requests pass on
// without touching Redis.
func (p *Paywall) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	d := p.gateway.Check(r, originalPath(r))
	switch d.Outcome {
	case gateway.Endpoint:
		p.gateway.ServeEndpoint(w, r, p.endpointUser(r, repl), repl)
		return nil
	case gateway.Ungated:
		return next.ServeHTTP(w, r)
	}
	p.record(r, d)
	if !d.GoesOn() {
		p.gateway.Deny(w, r, d, repl)
		return nil
	}
	pr := &privateResponse{ResponseWriterWrapper: caddyhttp.ResponseWriterWrapper{ResponseWriter: w}}
	if d.Passes() {
		p.gateway.PassOn(w, r, d, &pr.upstream)
		repl.Set("http.paywall.user", d.User)
		products, ok := p.productValues[pr.upstream[1]]
		if !ok {
			products = pr.upstream[1] // several products: boxed here
		}
		repl.Set("http.paywall.products", products)
	}
	return next.ServeHTTP(pr, r)
}

// record counts and logs a decision taken at a gate.
func (p *Paywall) record(r *http.Request, d gateway.Decision) {
	switch d.Outcome {
	case gateway.Lenient:
		p.identity.lenient.Inc()
		p.logger.Warn("paywall: refused a path that is gated only under a more lenient reading than Caddy's path matcher",
			zap.String("path", r.URL.EscapedPath()))
		return
	case gateway.IdentityUnavailable:
		p.logger.Error("paywall: whoami: the site cannot say who is signed in", zap.String("url", p.whoami.URL()), zap.Error(d.Err))
	case gateway.StoreDenied, gateway.StoreAllowed:
		p.logger.Error("paywall: reading entitlements", zap.String("user", d.User), zap.Error(d.Err))
	}
	p.metrics.decision(d.Outcome)
	if p.logger.Core().Enabled(zap.DebugLevel) {
		p.logger.Debug("paywall decision", zap.String("outcome", string(d.Outcome)),
			zap.String("user", d.User), zap.Strings("products", d.Products), zap.String("path", r.URL.Path))
	}
}

// gateIdentity is the gate's Identity: the `user` placeholder, or whoami.
type gateIdentity struct{ p *Paywall }

func (id gateIdentity) User(r *http.Request) (string, error) {
	return id.p.gateUser(r, r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer))
}

// user is the `user` placeholder's value for this request. A request
// header placeholder is read from the header itself, as Caddy's replacer
// reads it (the values joined by commas) but without boxing the value.
func (p *Paywall) user(r *http.Request, repl *caddy.Replacer) string {
	if p.userHeader != "" {
		return strings.Join(r.Header[p.userHeader], ",")
	}
	if p.userPlaceholder != "" {
		v, _ := repl.GetString(p.userPlaceholder)
		return v
	}
	return repl.ReplaceAll(p.User, "")
}

// originalPath is the path before any rewrite, so a rewrite cannot move a
// gated request out of its gate.
func originalPath(r *http.Request) string {
	if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok && orig.URL != nil {
		return orig.URL.Path
	}
	return r.URL.Path
}

// privateResponse marks responses to gated requests private, so no shared
// cache keeps one user's paid page for another. It also holds the values
// of the headers set for the request, so that one allocation serves them
// all. Every way to the client (Write, ReadFrom, a flush) writes the
// header through WriteHeader first.
type privateResponse struct {
	caddyhttp.ResponseWriterWrapper
	wroteHeader  bool
	cacheControl [1]string // the Cache-Control value, when it is only private
	upstream     [2]string // X-Paywall-User and X-Paywall-Products
}

func (w *privateResponse) WriteHeader(status int) {
	if !w.wroteHeader {
		w.wroteHeader = true
		h := w.Header()
		if cc := h["Cache-Control"]; len(cc) > 0 {
			h.Set("Cache-Control", privateCacheControl(cc))
		} else {
			w.cacheControl[0] = "private"
			h["Cache-Control"] = w.cacheControl[:1:1]
		}
	}
	w.ResponseWriterWrapper.WriteHeader(status)
}

func (w *privateResponse) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriterWrapper.Write(b)
}

// ReadFrom keeps the underlying writer's io.ReaderFrom (sendfile for a
// file), which the embedded wrapper would call without the header.
func (w *privateResponse) ReadFrom(src io.Reader) (int64, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriterWrapper.ReadFrom(src)
}

// FlushError is what http.ResponseController's Flush calls: a flush before
// any write sends the header, so it must be the private one.
func (w *privateResponse) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// privateCacheControl keeps the upstream's directives but drops those that
// let a shared cache store the response, and adds private.
func privateCacheControl(values []string) string {
	var keep []string
	for _, v := range values {
		for _, d := range strings.Split(v, ",") {
			d = strings.TrimSpace(d)
			name := strings.ToLower(d)
			if i := strings.IndexByte(name, '='); i >= 0 {
				name = name[:i]
			}
			switch name {
			case "", "public", "private", "s-maxage", "proxy-revalidate":
				continue
			}
			keep = append(keep, d)
		}
	}
	return strings.Join(append([]string{"private"}, keep...), ", ")
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Paywall)(nil)
	_ caddy.CleanerUpper          = (*Paywall)(nil)
	_ caddyhttp.MiddlewareHandler = (*Paywall)(nil)
)
