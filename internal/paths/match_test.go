package paths

import (
	"net/url"
	"path"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// matchRow is one (pattern, request) pair. target is the request target
// as a client sends it (escaped); Match is given Go's URL.Path for it,
// which is what Caddy's matcher reads and what the gateway passes.
type matchRow struct {
	pattern, target string
	caddy           bool   // what caddyhttp.MatchPath (v2.11.9) answers
	want            bool   // what we answer; differs from caddy only to gate more
	src             string // where caddy's answer comes from (see below)
}

// Sources for the caddy column:
//
//	"ct": a case of Caddy's own TestPathMatcher (modules/caddyhttp/matchers_test.go)
//	"cc": worked out by reading MatchPath.MatchWithError and CleanPath
//	      (modules/caddyhttp/matchers.go, caddyhttp.go): lower-case both, clean
//	      the path (merge slashes unless the pattern has "//", resolve dots, keep
//	      a trailing slash), then "*x*" Contains, "*x" HasSuffix, "x*" HasPrefix,
//	      else path.Match; patterns holding "%" compare in escaped space.
//
// Rows where want != caddy are our deliberate extensions (package doc).
var matchTable = []matchRow{
	{"/", "/", true, true, "ct"},
	{"/foo/bar", "/", false, false, "ct"},
	{"/foo/bar", "/foo/bar", true, true, "ct"},
	{"/foo/bar/", "/foo/bar", false, false, "ct"},
	{"/foo/bar/", "/foo/bar/", true, true, "ct"},
	{"*.ext", "/foo/bar.ext", true, true, "ct"},
	{"*.php", "/index.PHP", true, true, "ct"},
	{"/foo/*/baz", "/foo/bar/baz", true, true, "ct"},
	{"/foo/*/baz/bam", "/foo/bar/bam", false, false, "ct"},
	{"*substring*", "/foo/substring/bar.txt", true, true, "ct"},
	{"/foo", "/foo/bar", false, false, "ct"},
	{"/foo", "/FOO", true, true, "ct"},
	{"/foo*", "/FOOOO", true, true, "ct"},
	{"/foo/bar.txt", "/foo/BAR.txt", true, true, "ct"},
	{"/foo*", "//foo/bar", true, true, "ct"},
	{"/foo", "//foo", true, true, "ct"},
	{"//foo", "/foo", false, false, "ct"},
	{"//foo", "//foo", true, true, "ct"},
	{"/foo//*", "/foo//bar", true, true, "ct"},
	{"/foo//*", "/foo/%2Fbar", true, true, "ct"},
	{"/foo//bar", "/foo//bar", true, true, "ct"},
	{"/foo/*//bar", "/foo///bar", true, true, "ct"},
	{"/foo*", "/%2F/foo", true, true, "ct"},
	{"*", "/", true, true, "ct"},
	{"*", "/foo/bar", true, true, "ct"},
	{"**", "/", true, true, "ct"},
	{"**", "/foo/bar", true, true, "ct"},
	{"/bands/*/*", "/bands/AC%2FDC/T.N.T", false, false, "ct"},
	{"/bands/*", "/bands/AC%2FDC", true, true, "ct"},
	{"/bands/*/", "/bands/AC%2FDC/", false, false, "ct"},
	{"/foo/bar/baz", "/foo%2fbar/baz", true, true, "ct"},
	{"/%25@.txt", "/%25@.txt", true, true, "ct"},
	{"/%25@.txt", "/%25%40.txt", true, true, "ct"},
	{"/%25%40.txt", "/%25%40.txt", true, true, "ct"},
	{"/foo%2fbar/baz", "/foo%2Fbar/baz", true, true, "ct"},
	{"/admin%2fpanel", "/ADMIN%2fpanel", true, true, "ct"},
	{"/foo%2fbar", "/foo%2fbarbaz", false, false, "ct"},
	{"/admin%2fpanel", "/admin%2fpanelX", false, false, "ct"},
	// We read patterns in unescaped space: "/foo%2Fbar" is "/foo/bar".
	{"/foo%2fbar/baz", "/foo/bar/baz", false, true, "ct"},
	{"/foo/%2F*", "/foo//bar", false, true, "ct"},
	{"/foo/%2F*", "/foo/%2Fbar", true, true, "ct"},

	// The gate's cases.
	{"/premium/*", "/premium/a", true, true, "cc"},
	{"/premium/*", "/premium/", true, true, "cc"},
	{"/premium/*", "/premium", false, false, "cc"}, // "/p/*" is a prefix match on "/p/"
	{"/premium/*", "/premium?x=1", false, false, "cc"},
	{"/premium*", "/premium", true, true, "cc"},
	{"/premium*", "/premiumx/y", true, true, "cc"},
	{"/premium/*", "/premiumx", false, false, "cc"},
	{"/premium/*", "/PREMIUM/a", true, true, "cc"},
	{"/premium/*", "/Premium/%61rticle", true, true, "cc"}, // URL.Path is decoded
	{"/premium/*", "/premium%2Fx", true, true, "cc"},       // %2F is "/" in URL.Path
	{"/premium/*", "/premium%2fx", true, true, "cc"},
	{"/premium/*", "//premium//a", true, true, "cc"},
	{"/premium/*", "/free/../premium/a", true, true, "cc"},
	{"/premium/*", "/free/%2e%2e/premium/a", true, true, "cc"},
	{"/premium/*", "/premium/./a", true, true, "cc"},
	{"/premium/*", "/../premium/a", true, true, "cc"},
	{"/premium/*", "/premium/../free", false, false, "cc"},
	{"/premium/*", "/free/premium/a", false, false, "cc"},
	{"/premium/a", "/premium/a/", false, false, "cc"},
	{"/premium/a/", "/premium/a/./", true, true, "cc"},
	{"/about", "/About", true, true, "cc"},
	{"/about", "/about/x", false, false, "cc"},
	{"*.pdf", "/files/a.PDF", true, true, "cc"},
	{"*.pdf", "/files/a.pdf.html", false, false, "cc"},
	{"*.pdf", "/files/a.pdf/", false, false, "cc"},
	{"*secret*", "/a/top-SECRET/b", true, true, "cc"},
	{"*secret*", "/a/public/b", false, false, "cc"},
	{"/docs/*/private", "/docs/v1/private", true, true, "cc"},
	{"/docs/*/private", "/docs/v1/v2/private", false, false, "cc"}, // glob "*" stays in a segment
	{"/a?c", "/abc", true, true, "cc"},
	{"/a?c", "/a/c", false, false, "cc"},
	{"/[ab]x", "/Bx", true, true, "cc"},
	{"/a[*", "/a[b", true, true, "cc"},     // one "*" at the end: a literal prefix, no glob
	{"*a?b*", "/xa?b", false, false, "cc"}, // substring, literal; "?" is the query in a target
	{"*a?b*", "/xa%3Fb", true, true, "cc"},
	{"*a?b*", "/xaxb", false, false, "cc"},
	{"/caf\u00e9/*", "/CAF%C3%89/menu", true, true, "cc"},

	// Readings Caddy does not make; each gates more.
	{"/premium/*", "/premium%252Fx", false, true, "cc"},      // decoded twice
	{"/premium/*", "/Premium/%2561rticle", true, true, "cc"}, // prefix holds either way
	{"/premium/*", "/premium%255Cx", false, true, "cc"},      // "\" once decoded twice
	{"/premium/*", "/premium%5Cx", false, true, "cc"},        // "\" read as "/"
	{"/premium/*", "/free/..;/premium/x", false, true, "cc"},
	{"/premium/*", "/premium;jsessionid=1/x", false, true, "cc"},
	{"/premium/*", "/premium./x", false, true, "cc"},
	{"/premium/*", "/premium%20/x", false, true, "cc"},
	{"/premium/x", "/premium/x.", false, true, "cc"},
	{"*.pdf", "/a.pdf;x=1", false, true, "cc"},
	{"*.pdf", "/a.pdf%3Bx=1", false, true, "cc"},
	{"/premium/*", "/free/..%3B/premium/x", false, true, "cc"},
}

func TestMatchTable(t *testing.T) {
	for _, c := range matchTable {
		set, err := Compile([]string{c.pattern})
		if err != nil {
			t.Fatalf("Compile(%q): %v", c.pattern, err)
		}
		u, err := url.ParseRequestURI(c.target)
		if err != nil {
			t.Fatalf("%q: %v", c.target, err)
		}
		if got := set.Match(u.Path); got != c.want {
			t.Errorf("%q on %q (URL.Path %q) = %v, want %v", c.pattern, c.target, u.Path, got, c.want)
		}
		if c.caddy && !c.want {
			t.Errorf("%q on %q: Caddy gates it, we must too", c.pattern, c.target)
		}
		// The gate acts on Caddy's reading only: it sees no more gated
		// paths than a path matcher in front of it (patterns holding "%"
		// aside, which we read unescaped).
		strict, lenient := Gates{{Product: "p", Paths: set}}.Check(u.Path)
		if !strings.Contains(c.pattern, "%") && (strict != nil) != c.caddy {
			t.Errorf("%q on %q: gated %v by Caddy's reading, Caddy says %v", c.pattern, c.target, strict != nil, c.caddy)
		}
		if lenient != (c.want && strict == nil) {
			t.Errorf("%q on %q: lenient %v, want %v", c.pattern, c.target, lenient, c.want && strict == nil)
		}
		// Given the escaped path instead, we read it decoded too, so
		// whatever Caddy matches still matches.
		if c.caddy && !set.Match(u.EscapedPath()) {
			t.Errorf("%q on escaped %q = false, want true", c.pattern, u.EscapedPath())
		}
	}
}

func TestCompileErrors(t *testing.T) {
	for _, p := range []string{
		"", "premium/*", "/a[", "/a[*x", "/{env.X}", "/a/%zz", "/a%", "/a/%*", "/a%2A",
		"/a/../b", "/a/./*", "*/..",
	} {
		_, err := Compile([]string{"/ok", p})
		if err == nil || !strings.Contains(err.Error(), "pattern") || !strings.Contains(err.Error(), strconv.Quote(p)) {
			t.Errorf("Compile(%q) = %v, want an error naming the pattern", p, err)
		}
	}
	if s, err := Compile(nil); err != nil || s.Match("/") || s.Len() != 0 {
		t.Errorf("Compile(nil) = %v, %v; want an empty set", s, err)
	}
}

// Caddy's TestCleanPath cases (modules/caddyhttp/caddyhttp_test.go).
func TestClean(t *testing.T) {
	for _, c := range []struct {
		in     string
		merge  bool
		expect string
	}{
		{"/foo", false, "/foo"},
		{"/foo/", false, "/foo/"},
		{"//foo", false, "//foo"},
		{"//foo", true, "/foo"},
		{"/foo//bar/", true, "/foo/bar/"},
		{"/foo/./.././bar", false, "/bar"},
		{"/foo//./..//./bar", false, "/foo//bar"},
		{"/foo///./..//./bar", false, "/foo///bar"},
		{"/foo///./..//.", false, "/foo//"},
		{"/foo//./bar", false, "/foo//bar"},
		{"/", false, "/"},
		{"/", true, "/"},
		{"/a/..", true, "/"},
		{"/a/../", true, "/"},
		{"/a/b/../", true, "/a/"},
		{"/a/./", true, "/a/"},
		{"///", false, "///"},
		{"/..//a", false, "//a"},
		{"//", false, "//"}, // found by fuzzing against Caddy
		{"//", true, "/"},
	} {
		clean := cleanMerged
		if !c.merge {
			clean = cleanKept
		}
		if got := clean(c.in); got != c.expect {
			t.Errorf("clean(%q, merge=%v) = %q, want %q", c.in, c.merge, got, c.expect)
		}
	}
}

// fold is per rune L(U(r)). It must agree with Caddy's strings.ToLower
// wherever that calls two runes equal (fold(L(r)) == fold(r)), and
// upper-casing must not change it (U is idempotent).
func TestFoldRunes(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if f := foldRune(r); foldRune(unicode.ToLower(r)) != f || foldRune(unicode.ToUpper(r)) != f || foldRune(f) != f {
			t.Fatalf("fold is not stable for %U", r)
		}
	}
}

func TestMatchAllocatesNothing(t *testing.T) {
	set, _ := Compile([]string{"/about", "/premium/*", "*.pdf", "*secret*"})
	for _, p := range []string{
		"/premium/a", "/x/y.pdf", "/free/page", "/a/secret/b", "/about",
		"/Premium/Article", "/X/Y.PDF", "/Free/Page/With/A/Much/Longer/Path/Than/Thirty-Two/Bytes",
	} {
		if n := testing.AllocsPerRun(100, func() { set.Match(p) }); n != 0 {
			t.Errorf("Match(%q) allocates %.0f times", p, n)
		}
	}
}

// caddyRef is MatchPath written plainly from its documentation, for ASCII
// patterns without "%" or "//": lower-case, clean (merging slashes, keeping
// a trailing one), then Caddy's order of cases.
func caddyRef(pattern, p string) bool {
	pattern, p = strings.ToLower(pattern), strings.ToLower(p)
	if pattern == "*" {
		return true
	}
	c := path.Clean(p)
	if c != "/" && strings.HasSuffix(p, "/") {
		c += "/"
	}
	stars := strings.Count(pattern, "*")
	switch {
	case stars == 2 && strings.HasPrefix(pattern, "*") && strings.HasSuffix(pattern, "*"):
		return strings.Contains(c, pattern[1:len(pattern)-1])
	case stars == 1 && strings.HasPrefix(pattern, "*"):
		return strings.HasSuffix(c, pattern[1:])
	case stars == 1 && strings.HasSuffix(pattern, "*"):
		return strings.HasPrefix(c, pattern[:len(pattern)-1])
	}
	ok, _ := path.Match(pattern, c)
	return ok
}

func FuzzMatch(f *testing.F) {
	for _, c := range matchTable {
		f.Add(c.pattern, c.target)
	}
	f.Fuzz(func(t *testing.T, pattern, p string) {
		set, err := Compile([]string{pattern})
		if err != nil {
			return
		}
		got := set.Match(p)
		// strings.ToUpper and ToLower replace bytes that are not UTF-8.
		if utf8.ValidString(p) && set.Match(strings.ToUpper(p)) != got {
			t.Fatalf("%q on %q: upper case changes the answer", pattern, p)
		}
		if utf8.ValidString(p) && set.Match(strings.ToLower(p)) != got {
			t.Fatalf("%q on %q: lower case changes the answer", pattern, p)
		}
		if !strings.ContainsAny(pattern, `*?[\`) && !set.Match(pattern) {
			t.Fatalf("exact pattern %q does not match itself", pattern)
		}
		if isASCII(pattern) && isASCII(p) && !strings.Contains(pattern, "%") && !strings.Contains(pattern, "//") &&
			strings.HasPrefix(p, "/") {
			ref := caddyRef(pattern, p)
			if ref && !got {
				t.Fatalf("%q on %q: Caddy matches, we do not", pattern, p)
			}
			if strict := (Gates{{Product: "a", Paths: set}}).Match(p) != nil; strict != ref {
				t.Fatalf("%q on %q: the gate says %v by Caddy's reading, Caddy says %v", pattern, p, strict, ref)
			}
			if ok, _ := plain(p); ok && ref != got {
				t.Fatalf("%q on plain %q = %v, Caddy says %v", pattern, p, got, ref)
			}
		}
		// Gates with this pattern both gating and excepted gate nothing;
		// with an empty except list they gate as the set matches.
		g := Gates{{Product: "a", Paths: set, Except: set}, {Product: "b", Paths: set}}
		products, lenient := g.Check(p)
		if m := strings.Join(products, ","); (got && m != "b" && !lenient) || (!got && (m != "" || lenient)) {
			t.Fatalf("%q on %q: gates %q (lenient %v), set says %v", pattern, p, m, lenient, got)
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
	set, _ := Compile([]string{"/premium/*", "/downloads/*", "*.pdf", "/about", "*secret*"})
	for _, bc := range []struct{ name, path string }{
		{"hit-prefix", "/premium/article-about-things"},
		{"hit-suffix", "/files/report.pdf"},
		{"hit-upper", "/Premium/Article-About-Things"},
		{"miss", "/blog/2024/some/post"},
		{"miss-upper", "/Blog/2024/Some/Post"},
		{"escaped", "/premium%2Farticle"},
		{"dirty", "/free/../premium/article"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				set.Match(bc.path)
			}
		})
	}
}
