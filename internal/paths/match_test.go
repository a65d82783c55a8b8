package paths

import (
	"strings"
	"testing"
)

// The expectations follow Caddy's MatchPath (modules/caddyhttp/matchers.go,
// v2.11.9), read for this table: case-insensitive; the path cleaned with
// doubled slashes merged; "/p/*" is a prefix match on "/p/" (so "/p" itself
// does not match); "*.x" suffix; "*x*" substring; other wildcards are
// path.Match globs. The request path is the unescaped one (Go's URL.Path),
// so "%61" is "a" and "%2F" is "/" by the time it is matched.
func TestMatch(t *testing.T) {
	cases := []struct {
		pattern, path string
		want          bool
	}{
		{"/premium/*", "/premium/a", true},
		{"/premium/*", "/premium/", true},
		{"/premium/*", "/premium", false},
		{"/premium/*", "/PREMIUM/a", true},
		{"/premium/*", "//premium//a", true},
		{"/premium/*", "/free/../premium/a", true},
		{"/premium/*", "/premium/./a", true},
		{"/premium/*", "/premiumx", false},
		{"/premium/*", "/free/premium/a", false},
		{"/premium/*", "\\premium\\a", true},
		{"/premium*", "/premium", true},
		{"/premium*", "/premiumx/y", true},
		{"/about", "/about", true},
		{"/about", "/About", true},
		{"/about", "/about/", false},
		{"/about", "/about/x", false},
		{"*.pdf", "/files/a.PDF", true},
		{"*.pdf", "/files/a.pdf.html", false},
		{"*secret*", "/a/top-secret/b", true},
		{"*secret*", "/a/public/b", false},
		{"/docs/*/private", "/docs/v1/private", true},
		{"/docs/*/private", "/docs/v1/public", false},
		{"/a?c", "/abc", true},
		{"*", "/anything", true},
	}
	for _, c := range cases {
		set, err := Compile([]string{c.pattern})
		if err != nil {
			t.Fatalf("%q: %v", c.pattern, err)
		}
		if got := set.Match(c.path); got != c.want {
			t.Errorf("%q matching %q = %v, want %v", c.pattern, c.path, got, c.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	for _, p := range []string{"", "premium/*", "/a[", "/{env.X}"} {
		if _, err := Compile([]string{p}); err == nil || !strings.Contains(err.Error(), "pattern") {
			t.Errorf("Compile(%q) = %v, want an error naming the pattern", p, err)
		}
	}
}

func TestGates(t *testing.T) {
	mk := func(id string, paths, except []string) Gate {
		in, _ := Compile(paths)
		ex, _ := Compile(except)
		return Gate{Product: id, Paths: in, Except: ex}
	}
	g := Gates{
		mk("pro", []string{"/premium/*", "/downloads/*"}, []string{"/premium/preview/*"}),
		mk("course", []string{"/course/*", "/premium/course/*"}, nil),
	}
	cases := []struct {
		paths []string
		want  string
	}{
		{[]string{"/premium/a"}, "pro"},
		{[]string{"/premium/course/1"}, "pro,course"},
		{[]string{"/premium/preview/a"}, ""},
		{[]string{"/free"}, ""},
		{[]string{"/index.php", "/course/x"}, "course"}, // rewritten and original URI
	}
	for _, c := range cases {
		if got := strings.Join(g.Match(c.paths...), ","); got != c.want {
			t.Errorf("Match(%v) = %q, want %q", c.paths, got, c.want)
		}
	}
	if g.Match("/free") != nil {
		t.Error("no match must be nil")
	}
}

func TestMatchAllocatesNothing(t *testing.T) {
	set, _ := Compile([]string{"/premium/*", "*.pdf", "/about", "*secret*"})
	for _, p := range []string{"/premium/a", "/x/y.pdf", "/free/page", "/a/secret/b"} {
		if n := testing.AllocsPerRun(100, func() { set.Match(p) }); n != 0 {
			t.Errorf("Match(%q) allocates %.0f times", p, n)
		}
	}
}

func FuzzMatch(f *testing.F) {
	for _, s := range []string{"/premium/a", "//premium/../x", "/PREMIUM/a.pdf", "\\a\\b", "/a/./b/"} {
		f.Add("/premium/*", s)
		f.Add("*.pdf", s)
	}
	f.Fuzz(func(t *testing.T, pattern, p string) {
		set, err := Compile([]string{pattern})
		if err != nil {
			return
		}
		got := set.Match(p)
		if isASCII(p) && set.Match(strings.ToUpper(p)) != got {
			t.Fatalf("%q on %q: case changes the answer", pattern, p)
		}
		if set.Match(Clean(p)) != got {
			t.Fatalf("%q on %q: cleaning changes the answer", pattern, p)
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func BenchmarkMatch(b *testing.B) {
	set, _ := Compile([]string{"/premium/*", "/downloads/*"})
	for _, p := range []string{"/premium/article", "/blog/some/post"} {
		b.Run(p, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				set.Match(p)
			}
		})
	}
}
