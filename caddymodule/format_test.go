package caddymodule

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddy-paywall/caddy-paywall/internal/demo"
)

// The Caddyfiles users copy are formatted, so `caddy fmt` leaves them
// unchanged and `caddy run` prints no "input is not formatted" warning:
// Caddyfile.example, the golden adapt tests' inputs and the demo's.
func TestCaddyfilesAreFormatted(t *testing.T) {
	files := map[string][]byte{}
	b, err := os.ReadFile("../Caddyfile.example")
	if err != nil {
		t.Fatal(err)
	}
	files["Caddyfile.example"] = b
	tests, _ := filepath.Glob("testdata/*.caddytest")
	for _, name := range tests {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		input, _, _ := strings.Cut(string(b), "----------")
		files[name] = []byte(strings.TrimRight(input, "\n") + "\n")
	}
	d, err := demo.Start(demo.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	files["the demo's Caddyfile"] = []byte(d.Caddyfile)
	d.Close()
	if len(files) < 3 {
		t.Fatalf("only %d Caddyfiles found", len(files))
	}
	for name, b := range files {
		if got := caddyfile.Format(b); !bytes.Equal(got, b) {
			t.Errorf("%s is not formatted; `caddy fmt` gives:\n%s", name, got)
		}
	}
}
