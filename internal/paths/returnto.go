package paths

import "net/url"

// maxReturnTo bounds a return path; longer ones are dropped.
const maxReturnTo = 2048

// SafeReturnTo returns raw if it is a same-origin relative path (with its
// query), else "". It refuses anything a browser could read as another
// origin: "//evil.com", "/\evil.com", "https://evil.com", "javascript:",
// the same after percent-decoding, and any control character or space.
func SafeReturnTo(raw string) string {
	if raw == "" || len(raw) > maxReturnTo || raw[0] != '/' {
		return ""
	}
	if !plainPath(raw, true) {
		return ""
	}
	// Decoded once, it must still be a plain path: "/%2F%2Fevil.com" and
	// "/%5Cevil.com" become protocol-relative in some hands, "%0d%0a"
	// splits headers.
	if dec, err := url.PathUnescape(raw); err != nil || !plainPath(dec, false) {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	return raw
}

// plainPath: starts with one "/" not followed by "/" or "", and holds no
// control character; raw (undecoded) values may not hold spaces or
// backslashes either.
func plainPath(s string, raw bool) bool {
	if s == "" || s[0] != '/' {
		return false
	}
	if len(s) > 1 && (s[1] == '/' || s[1] == '\\') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || (raw && (c == ' ' || c == '\\')) {
			return false
		}
	}
	return true
}
