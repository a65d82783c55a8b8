package store

import (
	"context"
	"time"
)

// AdminGrant opens product for user by hand: `caddy paywall grant` (cause
// "admin") and the console (cause "console:<admin>"). forDur > 0 makes it
// end forDur after now; otherwise it never ends.
func (s *Store) AdminGrant(ctx context.Context, cause, user, product string, forDur time.Duration, now time.Time) (Result, error) {
	req := GrantRequest{Meta: Meta{Cause: cause, Created: now.Unix(), Now: now},
		User: user, Product: product, Source: SourceAdmin}
	if forDur > 0 {
		req.Expires = now.Add(forDur).Unix()
	}
	return s.Grant(ctx, req)
}

// AdminRevoke closes every grant of product for user by hand (see
// AdminGrant); only a new payment opens it again.
func (s *Store) AdminRevoke(ctx context.Context, cause, user, product string, now time.Time) (Result, error) {
	return s.Revoke(ctx, RevokeRequest{Meta: Meta{Cause: cause, Created: now.Unix(), Now: now},
		Source: SourceAdmin, User: user, Product: product})
}
