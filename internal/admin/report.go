package admin

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/caddy-paywall/caddy-paywall/internal/store"
)

// GrantView is one grant as the commands print it.
type GrantView struct {
	User    string `json:"user"`
	Product string `json:"product"`
	Live    bool   `json:"live"`
	Source  string `json:"source"`
	Status  string `json:"status,omitempty"`
	Expires string `json:"expires,omitempty"`
	Cause   string `json:"cause"`
	Revoked string `json:"revoked_by,omitempty"`
}

// Views turns a user's grants into printable rows.
func Views(e store.Entitlements, now time.Time) []GrantView {
	out := make([]GrantView, 0, len(e.Grants))
	for _, g := range e.Grants {
		v := GrantView{User: e.User, Product: g.Product, Live: g.LiveAt(now), Source: g.Source,
			Status: g.Status, Cause: g.Cause, Revoked: g.RevokedBy}
		if g.Expires != 0 {
			v.Expires = FormatTime(time.Unix(g.Expires, 0))
		}
		out = append(out, v)
	}
	return out
}

// PrintGrants writes rows as a table.
func PrintGrants(w io.Writer, rows []GrantView) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tPRODUCT\tACCESS\tSOURCE\tEXPIRES\tLAST CHANGE")
	for _, r := range rows {
		access := "open"
		if !r.Live {
			access = "closed"
			if r.Revoked != "" {
				access = "revoked (" + r.Revoked + ")"
			} else if r.Expires != "" {
				access = "expired"
			}
		}
		if r.Status != "" {
			access += " [" + r.Status + "]"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", Printable(r.User), Printable(r.Product), Printable(access),
			Printable(r.Source), orDash(r.Expires), Printable(r.Cause))
	}
	_ = tw.Flush()
}

// PrintAudit writes audit entries as a table, newest first.
func PrintAudit(w io.Writer, entries []store.AuditEntry) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACTION\tPRODUCT\tSOURCE\tCAUSE\tDETAIL")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", FormatTime(e.Time), Printable(e.Action), Printable(e.Product),
			Printable(e.Source), Printable(e.Cause), orDash(Printable(e.Detail)))
	}
	_ = tw.Flush()
}

// PrintJSON writes v as indented JSON.
func PrintJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// FormatTime is how every command writes a time: UTC, to the second,
// RFC 3339 ("2026-11-30T04:14:20Z").
func FormatTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}

// AuditView is an audit entry as the commands print it, its time written
// like every other.
type AuditView struct {
	store.AuditEntry
	Time string `json:"time"`
}

// AuditViews turns audit entries into printable rows.
func AuditViews(entries []store.AuditEntry) []AuditView {
	out := make([]AuditView, len(entries))
	for i, e := range entries {
		out[i] = AuditView{AuditEntry: e, Time: FormatTime(e.Time)}
	}
	return out
}

// Printable makes text from Redis safe for a terminal: control characters
// (which could move the cursor, rewrite earlier lines or break the table)
// and invalid UTF-8 are written as Go escapes, the rest as it is.
func Printable(s string) string {
	clean := utf8.ValidString(s)
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
