package catalog

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a length of time in a config: JSON takes a number of
// nanoseconds or a string such as "720h" or "30d", as Caddy's own
// durations do (this package stays free of Caddy, so it has its own).
type Duration time.Duration

// UnmarshalJSON reads a number of nanoseconds or a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := ParseDuration(s)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("duration: want a number of nanoseconds or a string such as \"720h\": %v", err)
	}
	*d = Duration(n)
	return nil
}

// ParseDuration is time.ParseDuration with one more unit, "d" for a day
// of 24 hours: "30d", "1d12h", "1.5d".
func ParseDuration(s string) (time.Duration, error) {
	if !strings.Contains(s, "d") {
		return time.ParseDuration(s)
	}
	var b strings.Builder
	start := 0 // where the current number begins
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9' || c == '.':
			continue
		case c == 'd':
			days, err := strconv.ParseFloat(s[start:i], 64)
			if err != nil || start == i {
				return 0, fmt.Errorf("invalid duration %q", s)
			}
			b.WriteString(strconv.FormatFloat(days*24, 'f', -1, 64))
			b.WriteString("h")
			start = i + 1
		default:
			// another unit, or the sign: copied as it is
			b.WriteString(s[start : i+1])
			start = i + 1
		}
	}
	b.WriteString(s[start:])
	return time.ParseDuration(b.String())
}

// Std is d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }
