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
		paths []string
		want  string
	}{
		{[]string{"/premium/a"}, "pro"},
		{[]string{"/PREMIUM/A"}, "pro"},
		{[]string{"/premium"}, ""}, // as Caddy: "/premium/*" does not match "/premium"
		{[]string{"/premium/course/1"}, "pro,course"},
		{[]string{"/premium/course/1.pdf"}, "pro,course,pdf"},
		{[]string{"/premium/preview/a"}, ""},
		{[]string{"/premium/style.css"}, ""},
		{[]string{"/free/a.pdf"}, ""},
		{[]string{"/free/../premium/a.pdf"}, "pro,pdf"},
		{[]string{"/free"}, ""},
		{[]string{"/index.php", "/course/x"}, "course"},         // rewritten, original
		{[]string{"/course/x", "/premium/a"}, "pro,course"},     // config order, not path order
		{[]string{"/premium/a", "/premium/a"}, "pro"},           // each product once
		{[]string{"/premium/preview/a", "/premium/a"}, "pro"},   // except holds per path
		{[]string{}, ""},                                        // nothing to match
		{[]string{"/premium/preview/..;/x"}, "pro"},             // one reading is outside the except list
		{[]string{"/premium/preview%2F..%2Fx"}, "pro"},          // so is this one
		{[]string{"/premium/preview/x;a=b"}, ""},                // every reading is excepted
		{[]string{"/premium%2Fpreview%2Fx"}, ""},                // every gated reading is excepted
		{[]string{"/premium/x%252Ecss"}, "pro"},                 // as given: not a ".css"
		{[]string{"/Premium/%61rticle", "/premium%2Fx"}, "pro"}, // escaped paths
		{[]string{"/free/x.pdf", "/free%2F..%2Fx.pdf"}, "pdf"},  // "/x.pdf" once decoded
		{[]string{"/downloads/a", "/free/b.pdf", "/course/c"}, "pro,course"},
	} {
		got := g.Match(c.paths...)
		if strings.Join(got, ",") != c.want {
			t.Errorf("Match(%q) = %q, want %q", c.paths, got, c.want)
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
		if n := testing.AllocsPerRun(100, func() { g.Match(ps...) }); n != 0 {
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
