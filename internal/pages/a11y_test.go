package pages

import (
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var (
	tagRE  = regexp.MustCompile(`(?is)<(input|label|button|h1|main|html|meta|select|textarea)\b([^>]*)>`)
	attrRE = regexp.MustCompile(`(?is)([a-z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))`)
)

type tag struct {
	name  string
	attrs map[string]string
}

func tags(page string) []tag {
	var out []tag
	for _, m := range tagRE.FindAllStringSubmatch(page, -1) {
		t := tag{name: strings.ToLower(m[1]), attrs: map[string]string{}}
		for _, a := range attrRE.FindAllStringSubmatch(m[2], -1) {
			t.attrs[strings.ToLower(a[1])] = a[2] + a[3] + a[4]
		}
		out = append(out, t)
	}
	return out
}

// accessibilityProblems is a small static check: a language, one <h1>, a
// <main> landmark, a viewport, a label for every visible form control,
// buttons with text.
func accessibilityProblems(page string) []string {
	var problems []string
	ts := tags(page)
	count := map[string]int{}
	labels := map[string]bool{}
	for _, t := range ts {
		count[t.name]++
		if t.name == "label" && t.attrs["for"] != "" {
			labels[t.attrs["for"]] = true
		}
	}
	if count["h1"] != 1 {
		problems = append(problems, fmt.Sprintf("%d <h1> elements, want 1", count["h1"]))
	}
	if count["main"] != 1 {
		problems = append(problems, fmt.Sprintf("%d <main> elements, want 1", count["main"]))
	}
	viewport := false
	for _, t := range ts {
		switch t.name {
		case "html":
			if strings.TrimSpace(t.attrs["lang"]) == "" {
				problems = append(problems, "<html> has no lang")
			}
		case "meta":
			if t.attrs["name"] == "viewport" && strings.Contains(t.attrs["content"], "width=device-width") {
				viewport = true
			}
		case "input", "select", "textarea":
			typ := strings.ToLower(t.attrs["type"])
			if typ == "hidden" || typ == "submit" || typ == "button" {
				continue
			}
			if id := t.attrs["id"]; id == "" || !labels[id] {
				problems = append(problems, fmt.Sprintf("<%s name=%q> has no <label for>", t.name, t.attrs["name"]))
			}
		}
	}
	if count["html"] != 1 {
		problems = append(problems, "no <html> element")
	}
	if !viewport {
		problems = append(problems, "no viewport meta")
	}
	for _, m := range regexp.MustCompile(`(?is)<button\b[^>]*>(.*?)</button>`).FindAllStringSubmatch(page, -1) {
		if strings.TrimSpace(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(m[1], "")) == "" {
			problems = append(problems, "a <button> without text")
		}
	}
	return problems
}

func TestAccessibilityChecker(t *testing.T) {
	bad := `<html><head></head><body><h1>a</h1><h1>b</h1><input name="q"><input type="text" id="x" name="y"><button></button></body></html>`
	got := strings.Join(accessibilityProblems(bad), "\n")
	for _, want := range []string{"2 <h1>", "0 <main>", "no lang", "no viewport", `name="q"> has no <label`, `name="y"> has no <label`, "without text"} {
		if !strings.Contains(got, want) {
			t.Errorf("checker missed %q; got:\n%s", want, got)
		}
	}
	good := `<html lang="en"><head><meta name="viewport" content="width=device-width"></head><body><main><h1>a</h1>` +
		`<label for="q">Q</label><input id="q" name="q"><input type="hidden" name="t"><button>Go</button></main></body></html>`
	if p := accessibilityProblems(good); len(p) != 0 {
		t.Errorf("false positives: %v", p)
	}
}

func TestAccessibility(t *testing.T) {
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			page := render(t, Builtin(), http.StatusOK, name, samples[name]).Body.String()
			for _, p := range accessibilityProblems(page) {
				t.Error(p)
			}
			mustContain(t, page, ":focus-visible { outline: 3px solid")
		})
	}
}

// TestContrast checks the colour pairs the stylesheet uses against WCAG 2
// AA: 4.5:1 for text, 3:1 for the focus outline.
func TestContrast(t *testing.T) {
	src, err := builtinFS.ReadFile("templates/layout.html")
	if err != nil {
		t.Fatal(err)
	}
	colours := map[string]string{}
	for _, m := range regexp.MustCompile(`--([a-z-]+):\s*(#[0-9a-fA-F]{6});`).FindAllStringSubmatch(string(src), -1) {
		colours[m[1]] = m[2]
	}
	pairs := []struct {
		fg, bg string
		min    float64
	}{
		{"fg", "bg", 4.5},
		{"fg", "panel", 4.5},
		{"muted", "bg", 4.5},
		{"muted", "panel", 4.5},
		{"accent", "bg", 4.5},       // links
		{"accent-hover", "bg", 4.5}, // hovered links
		{"accent-fg", "accent", 4.5},
		{"accent-fg", "accent-hover", 4.5},
		{"error", "bg", 4.5},
		{"accent", "bg", 3}, // focus outline, drawn outside the element
		{"accent", "panel", 3},
	}
	for _, p := range pairs {
		fg, bg := colours[p.fg], colours[p.bg]
		if fg == "" || bg == "" {
			t.Fatalf("--%s or --%s not found in layout.html", p.fg, p.bg)
		}
		r := contrast(fg, bg)
		t.Logf("%-12s %s on %-6s %s: %.2f:1", p.fg, fg, p.bg, bg, r)
		if r < p.min {
			t.Errorf("%s (%s) on %s (%s): %.2f:1, want at least %.1f:1", p.fg, fg, p.bg, bg, r, p.min)
		}
	}
}

func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(hex string) float64 {
	ch := func(i int) float64 {
		v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		c := float64(v) / 255
		if c <= 0.04045 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(0) + 0.7152*ch(1) + 0.0722*ch(2)
}
