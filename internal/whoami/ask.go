package whoami

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// userAgent names the gateway to the site; no visitor header is sent.
const userAgent = "caddy-paywall-whoami"

// ask makes one request to the site with the given Cookie header and reads
// who it says is signed in ("" for nobody).
func (r *Resolver) ask(cookies string, fwd forwarded) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.cfg.URL, nil)
	if err != nil {
		return "", r.unavailable("building the request: %v", err)
	}
	req.Header = http.Header{"User-Agent": {userAgent}}
	if cookies != "" {
		req.Header["Cookie"] = []string{cookies}
	}
	for k, v := range map[string]string{"X-Forwarded-For": fwd.forIP, "X-Forwarded-Host": fwd.host, "X-Forwarded-Proto": fwd.proto} {
		if v != "" {
			req.Header[k] = []string{v}
		}
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return "", r.unavailable("%s", transportReason(err, r.cfg.Timeout))
	}
	defer resp.Body.Close()

	switch s := resp.StatusCode; {
	case s >= 300 && s < 400, s == http.StatusUnauthorized, s == http.StatusForbidden:
		drain(resp.Body)
		return "", nil
	case s < 200 || s >= 300:
		drain(resp.Body)
		return "", r.unavailable("answered %d %s", s, http.StatusText(s))
	}

	if r.cfg.UserHeader != "" {
		drain(resp.Body)
		return r.checkUser(strings.TrimSpace(resp.Header.Get(r.cfg.UserHeader)))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return "", r.unavailable("reading the answer: %s", transportReason(err, r.cfg.Timeout))
	}
	truncated := len(body) > MaxBody
	if truncated {
		body = body[:MaxBody]
	}
	if r.cfg.UserRegex != nil {
		m := r.cfg.UserRegex.FindSubmatch(body)
		if m == nil && truncated {
			return "", r.unavailable("the answer is larger than %d KiB and user_regex does not match its start", MaxBody>>10)
		}
		if m == nil {
			return "", nil
		}
		return r.checkUser(strings.TrimSpace(html.UnescapeString(string(m[1]))))
	}
	if truncated {
		return "", r.unavailable("the answer is larger than %d KiB", MaxBody>>10)
	}
	return r.checkUser(jsonUser(body, r.jsonKey))
}

// checkUser accepts a user id as found, refusing one that cannot be an id.
func (r *Resolver) checkUser(user string) (string, error) {
	if len(user) > MaxUser {
		return "", r.unavailable("the user id found is longer than %d bytes", MaxUser)
	}
	for _, c := range user {
		if unicode.IsControl(c) || c == unicode.ReplacementChar {
			return "", r.unavailable("the user id found holds a control character or invalid UTF-8")
		}
	}
	return user, nil
}

func (r *Resolver) unavailable(format string, args ...any) error {
	return &Unavailable{URL: r.cfg.URL, Reason: fmt.Sprintf(format, args...)}
}

// jsonUser follows a dot path into a JSON document: object keys, and
// array indexes as numbers. A string or a number there is the user;
// anything else (no such field, null, an object, a body that is not
// JSON) is nobody.
func jsonUser(body []byte, path []string) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return ""
	}
	for _, k := range path {
		switch node := v.(type) {
		case map[string]any:
			v = node[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(node) {
				return ""
			}
			v = node[i]
		default:
			return ""
		}
	}
	switch u := v.(type) {
	case string:
		return strings.TrimSpace(u)
	case json.Number:
		return u.String()
	}
	return ""
}

// transportReason says why no answer came, without the request (whose
// error text could one day carry more than the URL).
func transportReason(err error, timeout time.Duration) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("no answer within %s", timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

// drain reads a little of a body so its connection can be reused.
func drain(body io.Reader) { _, _ = io.CopyN(io.Discard, body, 4<<10) }
