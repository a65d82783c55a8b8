package paths

import (
	"strings"
	"testing"
)

func gate(t testing.TB, id string, paths, except []string) Gate {
	t.Helper()
	in, err := Compile(paths)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := Compile(except)
	if err != nil {
		t.Fatal(err)
	}
	return NewGate(id, in, ex)
}

// literal is g as struct literals (not NewGate) make it.
func literal(g Gates) Gates {
	out := make(Gates, len(g))
	for i, x := range g {
		out[i] = Gate{Product: x.Product, Paths: x.Paths, Except: x.Except}
	}
	return out
}

func testGates(t testing.TB) Gates {
	return Gates{
		gate(t, "pro", []string{"/premium/*", "/downloads/*"}, []string{"/premium/preview/*", "*.css"}),
		gate(t, "course", []string{"/course/*", "/premium/course/*"}, nil),
		gate(t, "pdf", []string{"*.pdf"}, []string{"/free/*"}),
	}
}

func TestGates(t *testing.T) {
	for _, g := range []Gates{testGates(t), literal(testGates(t))} {
		testMatch(t, g)
	}
}

func testMatch(t *testing.T, g Gates) {
	for _, c := range []struct {
		paths   []string
		want    string
		lenient bool // some product gates a lenient reading only
	}{
		{[]string{"/premium/a"}, "pro", false},
		{[]string{"/PREMIUM/A"}, "pro", false},
		{[]string{"/premium"}, "", false}, // as Caddy: "/premium/*" does not match "/premium"
		{[]string{"/premium/course/1"}, "pro,course", false},
		{[]string{"/premium/course/1.pdf"}, "pro,course,pdf", false},
		{[]string{"/premium/preview/a"}, "", false},
		{[]string{"/premium/style.css"}, "", false},
		{[]string{"/free/a.pdf"}, "", false},
		{[]string{"/free/../premium/a.pdf"}, "pro,pdf", false},
		{[]string{"/free"}, "", false},
		{[]string{"/index.php", "/course/x"}, "course", false},         // rewritten, original
		{[]string{"/course/x", "/premium/a"}, "pro,course", false},     // config order, not path order
		{[]string{"/premium/a", "/premium/a"}, "pro", false},           // each product once
		{[]string{"/premium/preview/a", "/premium/a"}, "pro", false},   // except holds per path
		{[]string{}, "", false},                                        // nothing to match
		{[]string{"/premium/preview/..;/x"}, "", true},                 // Tomcat reads "/premium/x"
		{[]string{"/premium/preview%2F..%2Fx"}, "pro", false},          // as given: outside the except list
		{[]string{"/free/..;/premium/x"}, "", true},                    // Tomcat reads "/premium/x"
		{[]string{"/premium;jsessionid=1/x"}, "", true},                // ";params" cut
		{[]string{"/premium./x"}, "", true},                            // Windows: trailing dot cut
		{[]string{"/premium%20/x"}, "", true},                          // trailing space cut
		{[]string{`/premium\x`}, "", true},                             // "\" read as "/"
		{[]string{"/premium%2Fx.pdf"}, "pdf", true},                    // decoded twice: also pro
		{[]string{"/a.pdf;x=1"}, "", true},                             // *.pdf once ";x=1" is cut
		{[]string{"/free/..;/premium/x", "/premium/x"}, "pro", false},  // rewritten into the gate: gated, not lenient
		{[]string{"/free/x;a=b", "/free/%41"}, "", false},              // odd but never gated
		{[]string{"/premium/preview/x;a=b"}, "", false},                // every reading is excepted
		{[]string{"/premium%2Fpreview%2Fx"}, "", false},                // every gated reading is excepted
		{[]string{"/premium/x%252Ecss"}, "pro", false},                 // as given: not a ".css"
		{[]string{"/Premium/%61rticle", "/premium%2Fx"}, "pro", false}, // escaped paths
		{[]string{"/free/x.pdf", "/free%2F..%2Fx.pdf"}, "pdf", false},  // "/x.pdf" once decoded
		{[]string{"/downloads/a", "/free/b.pdf", "/course/c"}, "pro,course", false},
	} {
		got, lenient := g.Check(c.paths...)
		if strings.Join(got, ",") != c.want || lenient != c.lenient {
			t.Errorf("Check(%q) = %q, %v; want %q, %v", c.paths, got, lenient, c.want, c.lenient)
		}
		if m := g.Match(c.paths...); strings.Join(m, ",") != c.want {
			t.Errorf("Match(%q) = %q, want %q", c.paths, m, c.want)
		}
		if c.want == "" && got != nil {
			t.Errorf("Match(%q) = %#v, want nil", c.paths, got)
		}
	}
	if Gates(nil).Match("/premium/a") != nil {
		t.Error("no gates must match nothing")
	}
}

// One matching gate made by NewGate: no allocation, and the answer is
// capped, so an append by the caller copies.
func TestGatesAllocateNothingForOneGate(t *testing.T) {
	g := testGates(t)
	for _, ps := range [][]string{{"/premium/a"}, {"/premium/a", "/premium/a"}, {"/index.php", "/course/x"}} {
		if n := testing.AllocsPerRun(100, func() { g.Match(ps...) }); n != 0 {
			t.Errorf("Match(%q) allocates %.0f times", ps, n)
		}
	}
	got := g.Match("/premium/a")
	_ = append(got, "mallory")
	if again := g.Match("/premium/a"); len(again) != 1 || again[0] != "pro" || cap(got) != 1 {
		t.Fatalf("Match after an append = %q (cap %d), want [pro] (cap 1)", again, cap(got))
	}
}

func TestGatesAllocateNothingOnMiss(t *testing.T) {
	g := testGates(t)
	for _, ps := range [][]string{
		{"/blog/post"},
		{"/blog/post", "/blog/post"},
		{"/index.php", "/Blog/Some/Post"},
		{"/premium/preview/a"},
	} {
		if n := testing.AllocsPerRun(100, func() { g.Check(ps...) }); n != 0 {
			t.Errorf("Match(%q) allocates %.0f times", ps, n)
		}
	}
}

func BenchmarkGates(b *testing.B) {
	g := testGates(b)
	for _, bc := range []struct {
		name  string
		paths []string
	}{
		{"miss", []string{"/blog/2024/some/post", "/blog/2024/some/post"}},
		{"miss-rewritten", []string{"/index.php", "/blog/2024/some/post"}},
		{"hit", []string{"/premium/article", "/premium/article"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				g.Match(bc.paths...)
			}
		})
	}
}
