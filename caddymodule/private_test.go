package caddymodule

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// Every way a handler can start the response through privateResponse
// sends Cache-Control: private: a write, WriteHeader, io.Copy (which takes
// the writer's ReadFrom, sendfile for a file) and a flush before any write.
func TestPrivateResponseEveryWayToTheClient(t *testing.T) {
	file := filepath.Join(t.TempDir(), "page.html")
	if err := os.WriteFile(file, []byte("paid page"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, write := range map[string]func(w http.ResponseWriter) error{
		"write": func(w http.ResponseWriter) error { _, err := w.Write([]byte("paid page")); return err },
		"write header": func(w http.ResponseWriter) error {
			w.WriteHeader(http.StatusOK)
			_, err := w.Write([]byte("paid page"))
			return err
		},
		"copy from a file": func(w http.ResponseWriter) error {
			f, err := os.Open(file)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(w, f)
			return err
		},
		"copy from a reader": func(w http.ResponseWriter) error {
			_, err := io.Copy(w, strings.NewReader("paid page"))
			return err
		},
		"flush first": func(w http.ResponseWriter) error {
			if err := http.NewResponseController(w).Flush(); err != nil {
				return err
			}
			_, err := w.Write([]byte("paid page"))
			return err
		},
	} {
		for _, upstream := range []string{"", "public, max-age=60"} {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if upstream != "" {
					w.Header().Set("Cache-Control", upstream)
				}
				pr := &privateResponse{ResponseWriterWrapper: caddyhttp.ResponseWriterWrapper{ResponseWriter: w}}
				if err := write(pr); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}))
			resp, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			srv.Close()
			want := "private"
			if upstream != "" {
				want = "private, max-age=60"
			}
			if got := resp.Header.Values("Cache-Control"); len(got) != 1 || got[0] != want || string(body) != "paid page" {
				t.Errorf("%s, upstream Cache-Control %q: Cache-Control %q, body %q; want [%s], paid page", name, upstream, got, body, want)
			}
		}
	}
}
