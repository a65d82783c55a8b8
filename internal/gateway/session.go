package gateway

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gorilla/sessions"
)

// The paywall's own cookie carries who is paying and where to go back to,
// across the trip to Stripe Checkout, for sites whose auth covers only the
// gated paths. It is signed and encrypted (gorilla/sessions), SameSite=Lax
// so it survives the redirect back from Stripe, and __Host- and Secure over
// TLS.
const (
	cookieName    = "paywall_session"
	cookieNameTLS = "__Host-paywall_session"
	// sessionMaxAge outlives a Checkout Session (created to expire in one
	// hour) with room for a slow return.
	sessionMaxAge = 24 * 60 * 60
	// maxNonces bounds the open pay pages one session remembers.
	maxNonces = 8
)

// SessionCookieNames are the names of the paywall's own cookie, which is
// never forwarded to the site.
func SessionCookieNames() []string { return []string{cookieName, cookieNameTLS} }

// rememberUser makes a paywall cookie the request carries name user,
// starting it afresh when it named someone else (another user signed in on
// this browser). Without such a cookie it does nothing, so a paid request
// costs no cookie work; the gate sets one on the way to the pay page.
func (g *Gateway) rememberUser(w http.ResponseWriter, r *http.Request, user string) {
	if _, err := r.Cookie(cookieNameFor(r)); err != nil {
		return
	}
	sess, d := g.sessions.load(r)
	if d.User == user {
		return
	}
	g.sessions.save(w, r, sess, sessionData{User: user})
}

// sessionData is what the cookie holds.
type sessionData struct {
	User     string `json:"u,omitempty"`
	ReturnTo string `json:"r,omitempty"`
	CSRF     string `json:"c,omitempty"`
	// Nonces are the open pay pages: nonce -> unix time issued. A checkout
	// POST must carry one; its idempotency key derives from it.
	Nonces map[string]int64 `json:"n,omitempty"`
}

type cookieSessions struct {
	store *sessions.CookieStore
}

// MinSessionSecret is the fewest characters session_secret may have.
const MinSessionSecret = 32

// CheckSessionSecret refuses a secret too short to sign and encrypt the
// session cookie. Its error never shows the secret.
func CheckSessionSecret(secret string) error {
	if len(secret) < MinSessionSecret {
		return fmt.Errorf("must be at least %d characters (got %d)", MinSessionSecret, len(secret))
	}
	return nil
}

func newSessions(secret string) (*cookieSessions, error) {
	if err := CheckSessionSecret(secret); err != nil {
		return nil, fmt.Errorf("session secret: %v", err)
	}
	// Separate keys for signing and encrypting, derived from one secret.
	hashKey := derive(secret, "paywall session signing")
	blockKey := derive(secret, "paywall session encryption")
	cs := sessions.NewCookieStore(hashKey, blockKey)
	cs.MaxAge(sessionMaxAge)
	return &cookieSessions{store: cs}, nil
}

func derive(secret, label string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(label))
	return m.Sum(nil)
}

func cookieNameFor(r *http.Request) string {
	if r.TLS != nil {
		return cookieNameTLS
	}
	return cookieName
}

// load reads the session; a missing, tampered or expired cookie gives an
// empty one.
func (s *cookieSessions) load(r *http.Request) (*sessions.Session, sessionData) {
	sess, _ := s.store.Get(r, cookieNameFor(r)) // on error: a new, empty session
	var d sessionData
	if raw, ok := sess.Values["d"].(string); ok {
		_ = json.Unmarshal([]byte(raw), &d)
	}
	return sess, d
}

// save writes d back as the cookie.
func (s *cookieSessions) save(w http.ResponseWriter, r *http.Request, sess *sessions.Session, d sessionData) {
	b, _ := json.Marshal(d)
	sess.Values["d"] = string(b)
	sess.Options = &sessions.Options{
		Path:     "/",
		MaxAge:   sessionMaxAge,
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteLaxMode,
	}
	_ = sess.Save(r, w)
}

// update loads, changes and saves the session in one step.
func (s *cookieSessions) update(w http.ResponseWriter, r *http.Request, change func(*sessionData)) sessionData {
	sess, d := s.load(r)
	change(&d)
	s.save(w, r, sess, d)
	return d
}

func randomToken() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
