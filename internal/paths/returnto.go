package paths

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxReturnTo bounds a return path; longer ones are dropped.
const maxReturnTo = 2048

// SafeReturnTo returns raw, unchanged, if it is a same-origin relative
// path (with its query and fragment), else "". It is strict: raw must start
// with one "/" followed by neither "/" nor "\" (or be just "/"), hold no
// control, format or space character, no "\", no "//" in its path part,
// and be valid UTF-8 of at most 2048 bytes. Percent-decoded, up to three
// times, it must still start that way and hold no control character, so
// "/%2F%2Fevil.com", "/%5Cevil.com" and "/a%0d%0aSet-Cookie:" are dropped;
// the first decoding must succeed ("/%zz" is dropped).
func SafeReturnTo(raw string) string {
	if raw == "" || len(raw) > maxReturnTo || !safeRaw(raw) {
		return ""
	}
	dec, err := url.PathUnescape(raw)
	for range 3 {
		if err != nil || !safeDecoded(dec) {
			return ""
		}
		if !strings.Contains(dec, "%") {
			break
		}
		dec, err = unescapeLenient(dec), nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	return raw
}

// safeRaw checks the value as the browser will read it.
func safeRaw(s string) bool {
	if !rootedOnce(s) || !utf8.ValidString(s) {
		return false
	}
	p, _, _ := strings.Cut(s, "?")
	p, _, _ = strings.Cut(p, "#")
	if strings.Contains(p, "//") {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == '\\' || badRune(r) {
			return false
		}
	}
	return true
}

// safeDecoded checks a decoded form, which may hold encoded spaces and
// bytes that are not UTF-8, but no control character.
func safeDecoded(s string) bool {
	if !rootedOnce(s) {
		return false
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f || r >= utf8.RuneSelf && r != utf8.RuneError && badRune(r) {
			return false
		}
	}
	return true
}

// rootedOnce: "/" or "/" followed by neither "/" nor "\".
func rootedOnce(s string) bool {
	return s == "/" || len(s) > 1 && s[0] == '/' && s[1] != '/' && s[1] != '\\'
}

// badRune: control (C0, DEL, C1), format (bidi controls, zero-width) and
// space characters (U+2028 and the like).
func badRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.IsSpace(r)
}
