package testenv

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"
)

// DNS is a small DNS server on loopback (UDP) answering PTR, A and AAAA
// from records the test sets, so tests that verify crawlers never touch
// the network. Unknown names are NXDOMAIN.
type DNS struct {
	Addr string // host:port

	mu      sync.Mutex
	ptr     map[string][]string // reverse name (in-addr.arpa.) -> names
	addrs   map[string][]net.IP // name (lower-case, with final dot) -> addresses
	failing bool
	queries atomic.Int64
}

// StartDNS starts a DNS server on a free loopback UDP port, stopped when
// the test ends.
func StartDNS(t testing.TB) *DNS {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("starting the test DNS server: %v", err)
	}
	d := &DNS{Addr: pc.LocalAddr().String(), ptr: map[string][]string{}, addrs: map[string][]net.IP{}}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(d.serve), NotifyStartedFunc: func() { close(started) }}
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	return d
}

// Host makes name resolve to ip (A or AAAA) and ip back to name (PTR).
func (d *DNS) Host(name, ip string) {
	d.PTR(ip, name)
	d.A(name, ip)
}

// PTR adds reverse names for ip.
func (d *DNS) PTR(ip string, names ...string) {
	arpa, err := dns.ReverseAddr(ip)
	if err != nil {
		panic(err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, n := range names {
		d.ptr[arpa] = append(d.ptr[arpa], dns.Fqdn(n))
	}
}

// A adds addresses (v4 or v6) for name.
func (d *DNS) A(name string, ips ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	key := strings.ToLower(dns.Fqdn(name))
	for _, ip := range ips {
		d.addrs[key] = append(d.addrs[key], net.ParseIP(ip))
	}
}

// Fail makes every answer SERVFAIL (on) or normal again (off).
func (d *DNS) Fail(on bool) {
	d.mu.Lock()
	d.failing = on
	d.mu.Unlock()
}

// Queries is how many questions the server was asked.
func (d *DNS) Queries() int64 { return d.queries.Load() }

func (d *DNS) serve(w dns.ResponseWriter, req *dns.Msg) {
	d.queries.Add(1)
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failing || len(req.Question) != 1 {
		m.Rcode = dns.RcodeServerFailure
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: q.Name, Rrtype: t, Class: dns.ClassINET, Ttl: 60}
	}
	found := false
	if targets, ok := d.ptr[name]; ok {
		found = true
		if q.Qtype == dns.TypePTR {
			for _, t := range targets {
				m.Answer = append(m.Answer, &dns.PTR{Hdr: hdr(dns.TypePTR), Ptr: t})
			}
		}
	}
	if ips, ok := d.addrs[name]; ok {
		found = true
		for _, ip := range ips {
			switch v4 := ip.To4(); {
			case q.Qtype == dns.TypeA && v4 != nil:
				m.Answer = append(m.Answer, &dns.A{Hdr: hdr(dns.TypeA), A: v4})
			case q.Qtype == dns.TypeAAAA && v4 == nil:
				m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: ip})
			}
		}
	}
	if !found {
		m.Rcode = dns.RcodeNameError
	}
	_ = w.WriteMsg(m)
}
