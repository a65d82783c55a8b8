package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
	"github.com/caddy-paywall/caddy-paywall/internal/store"
)

type userPage struct {
	view
	User     string
	Found    bool // the user has grants or a trail
	Grants   []grantRow
	Live     []string
	Trail    []store.AuditEntry
	Products []catalog.Product
	Done     string // what the last form did
	DoneOp   string // grant or revoke
	Error    string
	For      string
}

type grantRow struct {
	store.Grant
	Open    bool
	Expires time.Time
	Updated time.Time
}

// user finds a user by exact id and shows their grants, the grant and
// revoke forms and their audit trail.
func (c *Console) user(w http.ResponseWriter, r *http.Request, v view) {
	q := r.URL.Query()
	p := userPage{view: v, User: q.Get("user"), Products: c.products()}
	switch p.DoneOp = q.Get("done"); p.DoneOp {
	case "grant":
		p.Done = "Granted " + c.productName(q.Get("product")) + "."
	case "revoke":
		p.Done = "Revoked " + c.productName(q.Get("product")) + "."
	}
	c.showUser(w, r, p, http.StatusOK)
}

// products are the configured products, each named as the pages name it.
func (c *Console) products() []catalog.Product {
	out := make([]catalog.Product, len(c.cfg.Products))
	for i, p := range c.cfg.Products {
		out[i] = catalog.Product{ID: p.ID, Name: c.productName(p.ID)}
	}
	return out
}

func (c *Console) showUser(w http.ResponseWriter, r *http.Request, p userPage, status int) {
	p.Title, p.Nav = "Users", "user"
	if p.User != "" {
		p.Title = "User " + shown(p.User)
		ctx, cancel := readCtx(r)
		defer cancel()
		ents, err := c.cfg.Store.Entitlements(ctx, p.User)
		if err == nil {
			p.Trail, err = c.cfg.Store.UserAudit(ctx, p.User, 0, userTrail)
		}
		if err != nil {
			c.storeFailed(&p.view, "reading a user", err)
			c.render(w, http.StatusServiceUnavailable, "user", p)
			return
		}
		now := c.now()
		for _, g := range ents.Grants {
			row := grantRow{Grant: g, Open: g.LiveAt(now), Updated: time.Unix(g.Updated, 0)}
			if g.Expires > 0 {
				row.Expires = time.Unix(g.Expires, 0)
			}
			p.Grants = append(p.Grants, row)
		}
		for _, id := range ents.LiveProducts(now) {
			p.Live = append(p.Live, c.productName(id))
		}
		p.Found = len(p.Grants) > 0 || len(p.Trail) > 0
	}
	c.render(w, status, "user", p)
}

// change grants or revokes from the user page's forms, with the CLI's
// store calls and the cause console:<admin>, then shows the user again.
func (c *Console) change(w http.ResponseWriter, r *http.Request, v view, op string) {
	user, err := store.DecodeUser(r.PostForm.Get("user"))
	product, forText := r.PostForm.Get("product"), strings.TrimSpace(r.PostForm.Get("for"))
	p := userPage{view: v, User: user, Products: c.products(), For: forText}
	if err != nil || user == "" {
		p.Error = "Give the user id."
		c.showUser(w, r, p, http.StatusBadRequest)
		return
	}
	if !c.knows(product) {
		p.Error = fmt.Sprintf("There is no product %q in this paywall.", shown(product))
		c.showUser(w, r, p, http.StatusBadRequest)
		return
	}
	var forDur time.Duration
	if op == "grant" && forText != "" {
		d, err := parseFor(forText)
		if err != nil {
			p.Error = fmt.Sprintf("For: %v.", err)
			c.showUser(w, r, p, http.StatusBadRequest)
			return
		}
		forDur = d
	}
	ctx, cancel := readCtx(r)
	defer cancel()
	cause := "console:" + v.Admin
	var res store.Result
	if op == "grant" {
		res, err = c.cfg.Store.AdminGrant(ctx, cause, user, product, forDur, c.now())
	} else {
		res, err = c.cfg.Store.AdminRevoke(ctx, cause, user, product, c.now())
	}
	switch {
	case errors.Is(err, store.ErrInvalid):
		p.Error = "Refused: " + shown(strings.TrimPrefix(err.Error(), "store: "))
		c.showUser(w, r, p, http.StatusBadRequest)
		return
	case err != nil:
		c.log.Error("console: "+op, zap.String("product", product), zap.Error(err))
		p.Error = "Nothing was changed: the store could not be reached."
		p.Unavailable = true
		c.render(w, http.StatusServiceUnavailable, "user", p)
		return
	}
	c.log.Info("console: "+op, zap.String("user", user), zap.String("product", product),
		zap.String("cause", cause), zap.Int("changed", res.Changed))
	q := url.Values{"user": {user}, "done": {op}, "product": {product}}
	http.Redirect(w, r, c.root+"/users?"+q.Encode(), http.StatusSeeOther)
}

// parseFor reads a grant's length: a Go duration ("720h") or whole days
// ("30d").
func parseFor(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > 36500 {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a duration such as 720h or 30d", s)
	}
	return d, nil
}
