package paths

import (
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxReadings bounds the ways one request path is read.
const maxReadings = 4

// A reading is one way to read a request path, folded and cleaned: merged
// as Caddy cleans for most patterns, kept for patterns holding "//".
// upper says that ASCII upper case letters are still to be folded (a plain
// path is matched as given, without building a lower-case copy).
type reading struct {
	merged, kept string
	upper        bool
	lenient      bool // not Caddy's reading: one only a lenient upstream makes
}

// readings fills rs with the readings of p (see the package documentation)
// and says how many there are. A plain path has one and costs nothing.
func readings(p string, rs *[maxReadings]reading) int {
	if ok, upper := plain(p); ok {
		rs[0] = reading{merged: p, kept: p, upper: upper}
		return 1
	}
	var forms [maxReadings]string
	forms[0] = p
	n := 1
	if strings.IndexByte(p, '%') >= 0 {
		n = addForm(&forms, n, unescapeLenient(p))
	}
	for i, m := 0, n; i < m; i++ {
		n = addForm(&forms, n, harden(forms[i]))
	}
	for i := range n {
		f := fold(forms[i])
		if f == "" || f[0] != '/' {
			f = "/" + f
		}
		r := reading{merged: cleanMerged(f), lenient: i > 0}
		r.kept = r.merged
		if strings.Contains(f, "//") {
			r.kept = cleanKept(f)
		}
		rs[i] = r
	}
	return n
}

func addForm(forms *[maxReadings]string, n int, f string) int {
	for i := range n {
		if forms[i] == f {
			return n
		}
	}
	forms[n] = f
	return n + 1
}

// plain says whether p reads only one way and is already clean: it starts
// with "/", is ASCII without "%", "\", ";" or space, has no empty segment
// and no segment ending in "." (so no "." or ".." either). upper says
// whether it holds ASCII upper case.
func plain(p string) (ok, upper bool) {
	if p == "" || p[0] != '/' || p[len(p)-1] == '.' {
		return false, false
	}
	for i := 1; i < len(p); i++ {
		switch c := p[i]; {
		case c == '/':
			if p[i-1] == '/' || p[i-1] == '.' {
				return false, false
			}
		case c == '%' || c == '\\' || c == ';' || c == ' ' || c >= utf8.RuneSelf:
			return false, false
		case 'A' <= c && c <= 'Z':
			upper = true
		}
	}
	return true, upper
}

// unescapeLenient decodes each valid %XX in s and leaves anything else as
// it is.
func unescapeLenient(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// harden reads p as lenient servers do: "\" is "/", a segment's ";params"
// are cut, and so are a segment's trailing dots and spaces (but "." and
// ".." stay what they are).
func harden(p string) string {
	segs := strings.Split(strings.ReplaceAll(p, `\`, "/"), "/")
	for i, seg := range segs {
		if j := strings.IndexByte(seg, ';'); j >= 0 {
			seg = seg[:j]
		}
		if seg != "." && seg != ".." {
			seg = strings.TrimRight(seg, ". ")
		}
		segs[i] = seg
	}
	return strings.Join(segs, "/")
}

// fold maps every rune to the lower case of its upper case; s is returned
// as it is when that changes nothing. Invalid UTF-8 becomes U+FFFD, as in
// strings.ToLower.
func fold(s string) string {
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return strings.Map(foldRune, s)
		}
		upper = upper || 'A' <= c && c <= 'Z'
	}
	if !upper {
		return s
	}
	return strings.ToLower(s)
}

func foldRune(r rune) rune { return unicode.ToLower(unicode.ToUpper(r)) }

// cleanMerged cleans a rooted path as Caddy does for most patterns:
// path.Clean, keeping a trailing slash.
func cleanMerged(p string) string {
	c := path.Clean(p)
	if c == "/" || !strings.HasSuffix(p, "/") {
		return c
	}
	if len(p) == len(c)+1 && p[:len(c)] == c {
		return p
	}
	return c + "/"
}

// cleanKept cleans a rooted path as Caddy does for patterns holding "//":
// "." and ".." are resolved and a trailing slash is kept, but an empty
// segment is a segment like any other (".." removes it too).
func cleanKept(p string) string {
	trailing := strings.HasSuffix(p, "/")
	segs := strings.Split(p[1:], "/")
	if trailing {
		segs = segs[:len(segs)-1]
	}
	out := segs[:0]
	for _, s := range segs {
		switch s {
		case ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, s)
		}
	}
	c := "/" + strings.Join(out, "/")
	if trailing && len(out) > 0 {
		c += "/"
	}
	return c
}
