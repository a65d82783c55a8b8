package paths

import (
	"net/url"
	"strings"
	"testing"
)

func TestSafeReturnTo(t *testing.T) {
	keep := []string{
		"/", "/premium/a", "/premium/a?x=1&y=%20b", "/a/b/", "/search?q=%2F%2Fnot-a-host", "/caf%C3%A9",
	}
	drop := []string{
		"", "premium", "//evil.com", "///evil.com", "/\\evil.com", "\\/evil.com", "https://evil.com",
		"http:/evil.com", "javascript:alert(1)", "/%2F%2Fevil.com", "/%2fevil.com", "/%5Cevil.com", "/%5cevil.com",
		"/a\r\nSet-Cookie:x=1", "/a%0d%0aSet-Cookie:x=1", "/a%00", "/a\tb", "/a b", "/a%7f", " /a",
		"/" + strings.Repeat("a", 2048), "/%zz",
	}
	for _, s := range keep {
		if got := SafeReturnTo(s); got != s {
			t.Errorf("SafeReturnTo(%q) = %q, want it kept", s, got)
		}
	}
	for _, s := range drop {
		if got := SafeReturnTo(s); got != "" {
			t.Errorf("SafeReturnTo(%q) = %q, want it dropped", s, got)
		}
	}
}

func FuzzSafeReturnTo(f *testing.F) {
	for _, s := range []string{"/", "/a?b=c", "//evil.com", "/\\evil", "/%2F%2Fevil", "/a%0d%0a", "https://x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := SafeReturnTo(s)
		if got == "" {
			return
		}
		if got != s {
			t.Fatalf("changed %q to %q", s, got)
		}
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.HasPrefix(got, "/\\") {
			t.Fatalf("kept %q, which is not a plain path", got)
		}
		for _, c := range got {
			if c < 0x20 || c == 0x7f {
				t.Fatalf("kept a control character in %q", got)
			}
		}
		u, err := url.Parse(got)
		if err != nil || u.Scheme != "" || u.Host != "" {
			t.Fatalf("kept %q, which parses as scheme %q host %q", got, u.Scheme, u.Host)
		}
		// What a browser resolves it to stays on the site.
		base, _ := url.Parse("https://shop.example/x/y")
		if r := base.ResolveReference(u); r.Host != "shop.example" {
			t.Fatalf("%q resolves to host %q", got, r.Host)
		}
	})
}
