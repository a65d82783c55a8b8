package paths

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// kind is how a pattern matches.
type kind uint8

const (
	kindAll       kind = iota // "*" (and "**")
	kindExact                 // "/about"
	kindPrefix                // "/premium/*": a literal prefix
	kindSuffix                // "*.pdf": a literal suffix
	kindSubstring             // "*secret*": a literal substring
	kindGlob                  // anything else with "*", "?", "[" or "\"
)

// Pattern is one compiled path pattern.
type Pattern struct {
	raw         string // as configured
	text        string // folded; for prefix, suffix and substring without the "*"s
	kind        kind
	keepSlashes bool // the pattern holds "//": match the path cleaned without merging slashes
}

// String returns the pattern as it was configured.
func (p Pattern) String() string { return p.raw }

// Set is a compiled list of patterns; a path matches the set if it
// matches any of them. The zero Set matches nothing.
type Set struct {
	pats []Pattern
}

// Len is the number of patterns in s.
func (s Set) Len() int { return len(s.pats) }

// Patterns returns the compiled patterns, in configured order.
func (s Set) Patterns() []Pattern { return append([]Pattern(nil), s.pats...) }

// Compile compiles path patterns as Caddy's path matcher reads them (see
// the package documentation). The error names the first bad pattern.
func Compile(patterns []string) (Set, error) {
	if len(patterns) == 0 {
		return Set{}, nil
	}
	pats := make([]Pattern, 0, len(patterns))
	for _, raw := range patterns {
		p, err := compile(raw)
		if err != nil {
			return Set{}, fmt.Errorf("path pattern %q: %w", raw, err)
		}
		pats = append(pats, p)
	}
	return Set{pats: pats}, nil
}

func compile(raw string) (Pattern, error) {
	if raw == "" {
		return Pattern{}, errors.New("empty")
	}
	if raw[0] != '/' && raw[0] != '*' {
		return Pattern{}, errors.New(`must start with "/" or "*"`)
	}
	if strings.ContainsAny(raw, "{}") {
		return Pattern{}, errors.New("placeholders are not supported in paywall paths")
	}
	p, err := unescapePattern(raw)
	if err != nil {
		return Pattern{}, err
	}
	p = fold(p)
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "." || seg == ".." {
			return Pattern{}, errors.New(`a "." or ".." segment never matches a cleaned path`)
		}
	}
	pat := Pattern{raw: raw, text: p, keepSlashes: strings.Contains(p, "//")}
	// The order of these cases is Caddy's.
	switch stars := strings.Count(p, "*"); {
	case p == "*":
		pat.kind = kindAll
	case stars == 2 && p[0] == '*' && p[len(p)-1] == '*':
		pat.kind, pat.text = kindSubstring, p[1:len(p)-1]
		if pat.text == "" {
			pat.kind = kindAll
		}
	case stars == 1 && p[0] == '*':
		pat.kind, pat.text = kindSuffix, p[1:]
	case stars == 1 && p[len(p)-1] == '*':
		pat.kind, pat.text = kindPrefix, p[:len(p)-1]
	case !strings.ContainsAny(p, `*?[\`):
		pat.kind = kindExact
	default:
		if _, err := path.Match(p, ""); err != nil {
			return Pattern{}, errors.New("malformed glob")
		}
		pat.kind = kindGlob
	}
	return pat, nil
}

// unescapePattern decodes every %XX in a pattern; it refuses bad escapes,
// Caddy's raw-space wildcard "%*", and escapes standing for a glob
// character (which would silently turn into one).
func unescapePattern(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '*' {
			return "", errors.New(`"%*" is not supported: paywall paths match the unescaped path`)
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return "", errors.New("bad percent escape")
		}
		c := unhex(s[i+1])<<4 | unhex(s[i+2])
		if strings.IndexByte(`*?[]\`, c) >= 0 {
			return "", fmt.Errorf("escape %q stands for a glob character", s[i:i+3])
		}
		b.WriteByte(c)
		i += 2
	}
	return b.String(), nil
}

// Match reports whether the request path matches any pattern in s, in any
// of its readings (see the package documentation). path may be Go's
// URL.Path or the escaped path.
func (s Set) Match(path string) bool {
	if len(s.pats) == 0 {
		return false
	}
	var vs [maxReadings]reading
	n := readings(path, &vs)
	for i := range n {
		if s.match(&vs[i]) {
			return true
		}
	}
	return false
}

func (s Set) match(r *reading) bool {
	for i := range s.pats {
		if s.pats[i].match(r) {
			return true
		}
	}
	return false
}

func (pat *Pattern) match(r *reading) bool {
	p := r.merged
	if pat.keepSlashes {
		p = r.kept
	}
	t := pat.text
	switch pat.kind {
	case kindAll:
		return true
	case kindExact:
		return len(p) == len(t) && hasPrefixFold(p, t, r.upper)
	case kindPrefix:
		return hasPrefixFold(p, t, r.upper)
	case kindSuffix:
		return len(p) >= len(t) && hasPrefixFold(p[len(p)-len(t):], t, r.upper)
	case kindSubstring:
		return containsFold(p, t, r.upper)
	}
	if r.upper {
		p = strings.ToLower(p) // only ASCII upper case is left to fold
	}
	ok, _ := path.Match(t, p)
	return ok
}

// hasPrefixFold is strings.HasPrefix(lower(s), prefix) for a folded prefix,
// where only s's ASCII letters may still need folding (upper says whether
// any do).
func hasPrefixFold(s, prefix string, upper bool) bool {
	if len(s) < len(prefix) {
		return false
	}
	if !upper {
		return s[:len(prefix)] == prefix
	}
	for i := 0; i < len(prefix); i++ {
		if lowerASCII(s[i]) != prefix[i] {
			return false
		}
	}
	return true
}

func containsFold(s, sub string, upper bool) bool {
	if !upper {
		return strings.Contains(s, sub)
	}
	for i := 0; i+len(sub) <= len(s); i++ {
		if hasPrefixFold(s[i:], sub, true) {
			return true
		}
	}
	return false
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
