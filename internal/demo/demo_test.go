package demo

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Caddy's listeners share a port, so two demos on one would answer in
// turn: the second refuses to start, saying why.
func TestRefusesATakenPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = Start(Options{Listen: l.Addr().String()})
	if err == nil || !strings.Contains(err.Error(), "in use") || !strings.Contains(err.Error(), "--listen") {
		t.Fatalf("a demo on a taken port: %v", err)
	}
}

// The home page names the demo's logins, and where the payment goes.
func TestHomePageNamesTheLogins(t *testing.T) {
	for standIn, where := range map[bool]string{true: "offline stand-in", false: "test mode"} {
		w := httptest.NewRecorder()
		site(standIn).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
		body, _ := io.ReadAll(w.Body)
		for _, want := range []string{"alice", Users["alice"], "bob", Users["bob"], where} {
			if !strings.Contains(string(body), want) {
				t.Errorf("home page (stand-in %v) lacks %q", standIn, want)
			}
		}
	}
}
