package caddymodule

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddytest"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

// goldenSeparator parts a .caddytest file: a Caddyfile above it, below it
// the JSON `caddy adapt` makes of it, or the error it gives.
const goldenSeparator = "----------"

// TestAdapt adapts every testdata/*.caddytest Caddyfile and compares the
// result with the file's golden JSON (or error). After a deliberate change,
// UPDATE_CADDYTEST=1 go test -run Adapt ./caddymodule/ rewrites the
// golden parts; review the diff before committing it.
func TestAdapt(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.caddytest"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.caddytest files (%v)", err)
	}
	update := os.Getenv("UPDATE_CADDYTEST") == "1"
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(strings.TrimSuffix(name, ".caddytest"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			input, expected, ok := strings.Cut(strings.ReplaceAll(string(data), "\r\n", "\n"), goldenSeparator)
			if !ok {
				t.Fatalf("%s: no %q line between the Caddyfile and the expected JSON", name, goldenSeparator)
			}
			input = strings.TrimSpace(input) + "\n"
			expected = strings.TrimSpace(expected)

			// The examples are what users copy: keep them as `caddy fmt` writes them.
			if formatted := string(caddyfile.Format([]byte(input))); formatted != input {
				t.Errorf("%s: the Caddyfile is not formatted; `caddy fmt` would write:\n%s", name, formatted)
			}

			if update {
				writeGolden(t, file, input)
				return
			}
			if strings.HasPrefix(expected, "{") {
				if !caddytest.CompareAdapt(t, name, input, "caddyfile", expected) {
					t.Errorf("%s: adapted JSON differs from the golden file (diff above: - golden, + adapted)", name)
				}
				return
			}
			_, _, err = caddyconfig.GetAdapter("caddyfile").Adapt([]byte(input), nil)
			switch {
			case err == nil:
				t.Errorf("%s: adapted without error, want: %s", name, expected)
			case err.Error() != expected:
				t.Errorf("%s: wrong error\n got: %s\nwant: %s", name, err, expected)
			}
		})
	}
}

// writeGolden rewrites file with the adapted JSON, or the error, of input.
func writeGolden(t *testing.T, file, input string) {
	t.Helper()
	var golden string
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(input), nil)
	if err != nil {
		golden = err.Error()
	} else {
		var buf bytes.Buffer
		if err := json.Indent(&buf, out, "", "\t"); err != nil {
			t.Fatal(err)
		}
		golden = buf.String()
	}
	content := input + goldenSeparator + "\n" + golden + "\n"
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("rewrote %s", file)
}
