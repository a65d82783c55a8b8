package admin

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

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
			v.Expires = time.Unix(g.Expires, 0).UTC().Format(time.RFC3339)
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.User, r.Product, access, r.Source, orDash(r.Expires), r.Cause)
	}
	_ = tw.Flush()
}

// PrintAudit writes audit entries as a table, newest first.
func PrintAudit(w io.Writer, entries []store.AuditEntry) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACTION\tPRODUCT\tSOURCE\tCAUSE\tDETAIL")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.UTC().Format(time.RFC3339), e.Action, e.Product, e.Source, e.Cause, orDash(e.Detail))
	}
	_ = tw.Flush()
}

// PrintJSON writes v as indented JSON.
func PrintJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
