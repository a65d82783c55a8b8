package gateway

import (
	"net/http"
	"unicode/utf8"
)

// maxStripeUser is the longest user id a Checkout Session can carry:
// Stripe takes at most 200 characters in client_reference_id (and 500 in
// a metadata value, which the user id also goes into).
const maxStripeUser = 200

// refuseUncarriableUser answers, and reports true, when user is too long
// for Stripe to carry: a clear page (problem+json for machines) instead of
// a Stripe error shown as 502 after the visitor pressed Pay.
func (g *Gateway) refuseUncarriableUser(w http.ResponseWriter, r *http.Request, user string) bool {
	if utf8.RuneCountInString(user) <= maxStripeUser {
		return false
	}
	const title = "Your account cannot pay here"
	const detail = "Your user name is longer than the payment provider accepts (200 characters). Please contact the site."
	if IsMachine(r) {
		g.problem(w, r, http.StatusUnprocessableEntity, title, detail, map[string]any{"max_user_length": maxStripeUser})
		return true
	}
	g.errorPage(w, http.StatusUnprocessableEntity, title, detail, "")
	return true
}
