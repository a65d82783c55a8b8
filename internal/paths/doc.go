// Package paths decides which request paths a product gates, the way
// Caddy's `path` matcher (caddyhttp.MatchPath) reads its patterns, and
// keeps redirect targets (return_to, next) on the site. It knows nothing
// of Caddy: patterns are compiled once, at provision time, and matching a
// plain path allocates nothing.
//
// # Patterns
//
// As in Caddy: matching is case-insensitive; "/exact"; "/prefix/*" is a
// literal prefix match on "/prefix/", so it matches "/prefix/" and
// everything below but NOT "/prefix" itself (list "/prefix" as well, or
// write "/prefix*", which also matches "/prefixes"); "*.suffix";
// "*substring*"; "*" matches everything; any other "*", "?", "[" or "\"
// makes a path.Match glob, whose "*" stays within one segment. A pattern
// holding "//" is matched against a path cleaned without merging slashes.
// Patterns must start with "/" or "*"; placeholders, bad globs, "." or
// ".." segments and bad escapes are refused when compiling.
//
// # Request paths
//
// The path is cleaned as Caddy cleans it ("//" merged, "." and ".."
// resolved, a trailing slash kept). Caddy matches the unescaped path, so
// "%61" is "a" and "%2F" is "/": "/Premium/%61rticle" and "/premium%2Fx"
// are both inside "/premium/*".
//
// A gate must see exactly the gated paths that Caddy's path matcher (and so
// the authentication in front of the gate) sees: no fewer, or a gated page
// is served unchecked, and no more, or the gate acts on a request the
// authentication layer never covered (a client-sent identity header that
// forward_auth never replaced). Some upstreams read a path more leniently
// than Caddy, so a path that is not plain (it holds "%", "\", ";", a
// space, non-ASCII, "//", or a segment ending in ".") is also read in up
// to three more ways:
//
//   - percent-decoded once more: an upstream that decodes twice turns
//     "%252F" into "/";
//   - with "\" read as "/", ";params" cut from each segment (Tomcat and
//     other servlet containers: "/free/..;/premium/x") and trailing dots
//     and spaces cut from each segment (Windows: "/premium./x");
//   - decoded and then the above.
//
// Gates.Match gates by Caddy's reading only (the path as given, which must
// be Go's URL.Path). Gates.Check also reports a request that some product
// gates only under one of the lenient readings: the gateway refuses it
// with 400 rather than let a lenient upstream serve the gated page.
// Set.Match answers for any reading.
//
// Patterns are read in unescaped space too, which differs from Caddy: an
// escape in a pattern is decoded when compiling ("/a%2Fb" is "/a/b",
// "%25" is a literal "%"), and Caddy's raw-space wildcard "%*" is refused.
//
// Case folding maps each rune to the lower case of its upper case (Caddy
// uses only the lower case); this differs only for a few runes such as
// "ſ", "ı" and "ς", and it means that upper-casing a path never changes
// the answer.
package paths
