// Package paths matches request paths as Caddy's `path` matcher does, and
// keeps redirect targets on the site. It knows nothing of Caddy: patterns
// are compiled once, at provision time, and matching a path allocates
// nothing in the common cases.
package paths

import (
	"fmt"
	"path"
	"strings"
)

// kind is how a pattern matches.
type kind uint8

const (
	exact     kind = iota // "/about"
	prefix                // "/premium/*"
	suffix                // "*.pdf"
	substring             // "*secret*"
	glob                  // anything else with "*", "?" or "["
)

// Pattern is one compiled path pattern.
type Pattern struct {
	kind kind
	text string // lower-cased; for prefix/suffix/substring without the "*"
}

// Set is a list of compiled patterns; a path matches if any does.
type Set []Pattern

// Compile compiles patterns, as Caddy's path matcher reads them: exact,
// "/prefix/*", "*.suffix", "*substring*", or a path.Match glob. Matching is
// case-insensitive.
func Compile(patterns []string) (Set, error) {
	set := make(Set, 0, len(patterns))
	for _, raw := range patterns {
		p := strings.ToLower(raw)
		if p == "" || (p[0] != '/' && p[0] != '*') {
			return nil, fmt.Errorf("path pattern %q must start with / or *", raw)
		}
		if strings.ContainsAny(p, "{}") {
			return nil, fmt.Errorf("path pattern %q: placeholders are not supported here", raw)
		}
		stars := strings.Count(p, "*")
		switch {
		case p == "*":
			set = append(set, Pattern{kind: prefix, text: ""})
		case stars == 0 && !strings.ContainsAny(p, "?["):
			set = append(set, Pattern{kind: exact, text: p})
		case stars == 2 && p[0] == '*' && p[len(p)-1] == '*':
			set = append(set, Pattern{kind: substring, text: p[1 : len(p)-1]})
		case stars == 1 && p[len(p)-1] == '*' && !strings.ContainsAny(p, "?["):
			set = append(set, Pattern{kind: prefix, text: p[:len(p)-1]})
		case stars == 1 && p[0] == '*' && !strings.ContainsAny(p, "?["):
			set = append(set, Pattern{kind: suffix, text: p[1:]})
		default:
			if _, err := path.Match(p, ""); err != nil {
				return nil, fmt.Errorf("path pattern %q: %v", raw, err)
			}
			set = append(set, Pattern{kind: glob, text: p})
		}
	}
	return set, nil
}

// Match reports whether the (unescaped) request path matches any pattern.
func (s Set) Match(reqPath string) bool {
	if len(s) == 0 {
		return false
	}
	p := Clean(reqPath)
	for _, pat := range s {
		if pat.match(p) {
			return true
		}
	}
	return false
}

func (pat Pattern) match(p string) bool {
	switch pat.kind {
	case exact:
		return strings.EqualFold(p, pat.text)
	case prefix:
		return len(p) >= len(pat.text) && strings.EqualFold(p[:len(pat.text)], pat.text)
	case suffix:
		return len(p) >= len(pat.text) && strings.EqualFold(p[len(p)-len(pat.text):], pat.text)
	case substring:
		return containsFold(p, pat.text)
	}
	ok, _ := path.Match(pat.text, strings.ToLower(p))
	return ok
}

// containsFold is strings.Contains, ASCII case-insensitively, without
// allocating.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// Clean normalises a request path as Caddy does before matching: doubled
// slashes merged, "." and ".." resolved, a trailing slash kept, backslashes
// read as slashes (as Windows servers do). Clean paths are returned as
// they are, without allocating.
func Clean(p string) string {
	if isClean(p) {
		return p
	}
	p = strings.ReplaceAll(p, "\\", "/")
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	trailing := strings.HasSuffix(p, "/")
	c := path.Clean(p)
	if trailing && c != "/" {
		c += "/"
	}
	return c
}

func isClean(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			return false
		case '/':
			if i+1 < len(p) && p[i+1] == '/' {
				return false
			}
		case '.':
			if p[i-1] == '/' && (i+1 == len(p) || p[i+1] == '/' || (p[i+1] == '.' && (i+2 == len(p) || p[i+2] == '/'))) {
				return false
			}
		}
	}
	return true
}
