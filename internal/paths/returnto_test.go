package paths

import (
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestSafeReturnTo(t *testing.T) {
	keep := []string{
		"/",
		"/premium/a",
		"/premium/a?x=1&y=%20b",
		"/a/b/",
		"/x?a=b",
		"/x#frag",
		"/search?q=%2F%2Fnot-a-host",
		"/search?next=https://evil.com", // in the query: not a target
		"/caf%C3%A9",
		"/café",
		"/a%20b",
		"/a:b",
		"/@evil.com",
		"/./x",
		"/a/%2Fb", // decoded "/a//b": only a leading "//" is another host
	}
	drop := []string{
		"",
		"premium",
		"./x",
		"//evil.com",
		"///evil.com",
		"/\\evil.com",
		"\\/evil.com",
		"\\\\evil.com",
		"https://evil.com",
		"http:/evil.com",
		"javascript:alert(1)",
		"JaVaScRiPt:alert(1)",
		" /evil",
		" javascript:alert(1)",
		"java\tscript:alert(1)",
		"/%2F%2Fevil.com",
		"/%2fevil.com",
		"/%5Cevil.com",
		"/%5cevil.com",
		"/%252F%252Fevil.com", // "//evil.com" decoded twice
		"/%25252F%25252Fevil.com",
		"/a\r\nSet-Cookie:x=1",
		"/a%0d%0aSet-Cookie:x=1",
		"/a%250d%250aSet-Cookie:x=1",
		"/a%00",
		"/a\x00",
		"/a\tb",
		"/\t/evil.com", // browsers drop tabs: "//evil.com"
		"/\n/evil.com",
		"/a b",
		"/a\x7f",
		"/a%7f",
		"/a\u0085",  // NEL, a C1 control
		"/a%C2%85",  // the same, encoded
		"/a\u202eb", // right-to-left override
		"/a\u2028b", // line separator
		"/a\u00a0b", // no-break space
		"/a\xffb",   // not UTF-8
		"/a\\b",
		"/a//b",
		"/..//evil.com",
		"/%zz",
		"/" + strings.Repeat("a", 2048),
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
	if s := "/" + strings.Repeat("a", 2047); SafeReturnTo(s) != s {
		t.Error("a 2048-byte path must be kept")
	}
}

func FuzzSafeReturnTo(f *testing.F) {
	for _, s := range []string{"/", "/a?b=c", "//evil.com", "/\\evil", "/%2F%2Fevil", "/a%0d%0a", "https://x", "/a#b"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://shop.example/x/y")
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
		if !utf8.ValidString(got) {
			t.Fatalf("kept %q, which is not UTF-8", got)
		}
		for _, c := range got {
			if c < 0x20 || c == 0x7f || unicode.IsControl(c) {
				t.Fatalf("kept a control character in %q", got)
			}
		}
		u, err := url.Parse(got)
		if err != nil || u.Scheme != "" || u.Host != "" {
			t.Fatalf("kept %q, which parses as scheme %q host %q (%v)", got, u.Scheme, u.Host, err)
		}
		// What a browser resolves it to stays on the site, decoded or not.
		if r := base.ResolveReference(u); r.Host != "shop.example" || r.Scheme != "https" {
			t.Fatalf("%q resolves to %q", got, r)
		}
		if dec, err := url.PathUnescape(got); err != nil || strings.HasPrefix(dec, "//") || strings.HasPrefix(dec, "/\\") {
			t.Fatalf("kept %q, which decodes to %q", got, dec)
		}
	})
}
