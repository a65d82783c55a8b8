package caddymodule

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stripe/stripe-go/v76"

	"github.com/caddy-paywall/caddy-paywall/internal/stripeapi"
	"github.com/caddy-paywall/caddy-paywall/internal/stripestub"
	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

var (
	buildOnce sync.Once
	caddyBin  string
	buildErr  error
)

// caddyBinary builds ./cmd/caddy once per test run: the CLI is tested as
// operators run it, exit codes included.
func caddyBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "paywall-cli")
		if err != nil {
			buildErr = err
			return
		}
		caddyBin = filepath.Join(dir, "caddy")
		out, err := exec.Command("go", "build", "-o", caddyBin, "../cmd/caddy").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("building caddy: %v", buildErr)
	}
	return caddyBin
}

type cliEnv struct {
	t        *testing.T
	config   string
	stub     *stripestub.Stub
	stubURL  string
	redisURL string
	prefix   string
}

// newCLIEnv writes a Caddyfile whose paywall uses a real Redis and the
// Stripe stand-in.
func newCLIEnv(t *testing.T, redisURL string) *cliEnv {
	stub, stubURL := serveStripeStub(t,
		stripestub.Price{ID: "price_pro", ProductName: "Pro articles", UnitAmount: 900, Currency: "eur"},
		stripestub.Price{ID: "price_club", ProductName: "Club", UnitAmount: 500, Currency: "usd", Recurring: "month"})
	e := &cliEnv{t: t, stub: stub, stubURL: stubURL, redisURL: redisURL, prefix: testenv.UniquePrefix()}
	e.config = filepath.Join(t.TempDir(), "Caddyfile")
	caddyfile := fmt.Sprintf(`shop.example.com {
	paywall {
		stripe_secret_key     sk_test_cli
		stripe_webhook_secret whsec_cli
		stripe_api_url        %s
		redis                 %s
		key_prefix            %s
		session_secret        cli-session-secret-of-at-least-32-chars
		product pro {
			price price_pro
			paths /premium/*
		}
		product club {
			price price_club
			mode  subscription
			paths /club/*
		}
	}
	respond "hi"
}
`, stubURL, redisURL, e.prefix)
	if err := os.WriteFile(e.config, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// run runs `caddy paywall args...` and returns its output and exit code.
func (e *cliEnv) run(args ...string) (string, int) {
	e.t.Helper()
	full := append([]string{"paywall"}, args...)
	if len(args) > 0 && args[0] != "--help" {
		full = append(full, "--config", e.config, "--adapter", "caddyfile")
	}
	cmd := exec.Command(caddyBinary(e.t), full...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return out.String(), exit.ExitCode()
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return out.String(), 0
}

func (e *cliEnv) expect(code int, want string, args ...string) string {
	e.t.Helper()
	out, got := e.run(args...)
	if got != code || !strings.Contains(out, want) {
		e.t.Fatalf("caddy paywall %s: exit %d, want %d with %q in:\n%s", strings.Join(args, " "), got, code, want, out)
	}
	return out
}

func TestCLIGrantShowListRevoke(t *testing.T) {
	e := newCLIEnv(t, testenv.RedisURL(t))
	e.expect(0, "granted pro to alice", "grant", "--user", "alice", "--product", "pro")
	e.expect(0, "granted club to bob", "grant", "--user", "bob", "--product", "club", "--for", "24h")
	out := e.expect(0, "open", "show", "--user", "alice")
	if !strings.Contains(out, "admin") || !strings.Contains(out, "grant") {
		t.Fatalf("show lacks the source or the audit trail:\n%s", out)
	}
	out = e.expect(0, `"user": "alice"`, "list", "--json")
	if !strings.Contains(out, `"user": "bob"`) {
		t.Fatalf("list --json lacks bob:\n%s", out)
	}
	out = e.expect(0, "bob", "list", "--product", "club")
	if strings.Contains(out, "alice") {
		t.Fatalf("list --product club shows alice:\n%s", out)
	}
	e.expect(0, "revoked pro from alice", "revoke", "--user", "alice", "--product", "pro")
	e.expect(0, "revoked (admin)", "show", "--user", "alice")
	out = e.expect(0, `"action": "revoke"`, "show", "--user", "alice", "--json")
	if !strings.Contains(out, `"cause": "admin"`) {
		t.Fatalf("the audit trail does not name admin as the cause:\n%s", out)
	}
}

func TestCLIUsageAndFailures(t *testing.T) {
	e := newCLIEnv(t, testenv.RedisURL(t))
	e.expect(2, "--user is required", "grant", "--product", "pro")
	e.expect(2, "no product", "grant", "--user", "a", "--product", "nope")
	e.expect(2, "unknown flag", "grant", "--bogus")
	e.expect(2, "--since is required", "reconcile")
	e.expect(2, "unexpected argument", "show", "extra", "--user", "a")
	out, code := e.run("--help")
	if code != 0 || !strings.Contains(out, "reconcile") || !strings.Contains(out, "doctor") {
		t.Fatalf("help: exit %d\n%s", code, out)
	}
	down := newCLIEnv(t, fmt.Sprintf("redis://127.0.0.1:%d/0", testenv.FreePort(t)))
	down.expect(1, "connection refused", "show", "--user", "alice")
}

func TestCLITriggerReachesGateway(t *testing.T) {
	e := newCLIEnv(t, testenv.RedisURL(t))
	port := testenv.FreePort(t)
	site := fmt.Sprintf("http://127.0.0.1:%d", port)
	caddyfile := globalOptions + fmt.Sprintf(`
%s {
	paywall {
		stripe_secret_key     sk_test_cli
		stripe_webhook_secret whsec_cli
		stripe_api_url        %s
		redis                 %s
		key_prefix            %s
		session_secret        cli-session-secret-of-at-least-32-chars
		product pro {
			price price_pro
			paths /premium/*
		}
	}
	respond "hi"
}
`, site, e.stubURL, e.redisURL, e.prefix)
	startCaddy(t, caddyfile)
	testenv.WaitHTTP(t, site+"/")
	e.expect(0, "200", "trigger", "--event", "checkout.session.completed", "--user", "carol", "--product", "pro", "--url", site+"/paywall/webhook")
	e.expect(0, "open", "show", "--user", "carol")
	e.expect(2, "unknown event type", "trigger", "--event", "nope", "--user", "carol", "--product", "pro", "--url", site+"/paywall/webhook")
	// A 200 that is not the webhook's answer (the site's own page) fails.
	e.expect(1, "not as the paywall's webhook does", "trigger", "--event", "checkout.session.completed", "--user", "erin", "--product", "pro", "--url", site+"/")

	// Without --url, the URL comes from the site's real address: its
	// scheme, host and port.
	e.config = filepath.Join(t.TempDir(), "Caddyfile")
	if err := os.WriteFile(e.config, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	e.expect(0, "-> "+site+"/paywall/webhook: 200", "trigger", "--event", "checkout.session.completed", "--user", "frank", "--product", "pro")
	e.expect(0, "open", "show", "--user", "frank")
}

func TestSiteAddressURL(t *testing.T) {
	for _, c := range []struct {
		site siteAddress
		want string
	}{
		{siteAddress{hosts: []string{"shop.example.com"}, listen: ":443", tls: true}, "https://shop.example.com"},
		{siteAddress{hosts: []string{"shop.example.com"}, listen: ":8443", tls: true}, "https://shop.example.com:8443"},
		{siteAddress{hosts: []string{"127.0.0.1"}, listen: ":8080"}, "http://127.0.0.1:8080"},
		{siteAddress{hosts: []string{"localhost"}, listen: "tcp/127.0.0.1:80"}, "http://localhost"},
		{siteAddress{hosts: []string{"::1"}, listen: ":9000"}, "http://[::1]:9000"},
		{siteAddress{listen: ":80"}, ""},
	} {
		if got := c.site.url(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.site, got, c.want)
		}
	}
}

func TestCLISetupDoctorReconcile(t *testing.T) {
	e := newCLIEnv(t, testenv.RedisURL(t))
	out := e.expect(1, "no endpoint ends in /paywall/webhook", "doctor")
	if !strings.Contains(out, "OK     redis") || !strings.Contains(out, "product pro: price price_pro") {
		t.Fatalf("doctor did not check Redis and the prices:\n%s", out)
	}
	e.expect(0, "whsec_", "setup", "--url", "https://shop.example.com/paywall/webhook")
	e.expect(0, "API version "+stripe.APIVersion, "doctor")

	// A payment whose webhook never arrived (the stand-in has no webhook URL).
	cs, err := stripeapi.New("sk_test_cli", e.stubURL).CreateCheckoutSession(&stripe.CheckoutSessionParams{
		Mode: stripe.String("payment"), ClientReferenceID: stripe.String("dave"),
		LineItems:  []*stripe.CheckoutSessionLineItemParams{{Price: stripe.String("price_pro"), Quantity: stripe.Int64(1)}},
		SuccessURL: stripe.String("https://shop.example.com/s"), CancelURL: stripe.String("https://shop.example.com/c"),
		Metadata: map[string]string{"paywall_user": "dave", "paywall_product": "pro"},
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = e.stub.Pay(cs.ID) // the delivery fails: nobody listens
	e.expect(0, "granted pro to dave", "reconcile", "--since", "1h")
	out = e.expect(0, "1 paid sessions seen, 0 fulfilled now", "reconcile", "--since", "1h")
	if strings.Contains(out, "granted") {
		t.Fatalf("a second reconcile changed something:\n%s", out)
	}
	e.expect(0, "open", "show", "--user", "dave")
}

// What a person reads from the commands is plain text: usage mistakes are
// lines, not JSON log entries, and a user with nothing is said so.
func TestCLIPlainWords(t *testing.T) {
	e := newCLIEnv(t, testenv.RedisURL(t))
	for _, args := range [][]string{{"grant"}, {"grant", "--bogus"}, {"show", "extra-arg"}} {
		out, code := e.run(args...)
		if code != 2 || strings.Contains(out, `"level"`) || !strings.Contains(out, "caddy paywall") {
			t.Errorf("%v: exit %d, want 2 and plain lines:\n%s", args, code, out)
		}
	}
	e.expect(0, "has never bought or been granted anything", "show", "--user", "nobody-yet")
	e.expect(0, "granted pro to nina", "grant", "--user", "nina", "--product", "pro")
	e.expect(0, "revoked pro from nina", "revoke", "--user", "nina", "--product", "pro")
	e.expect(0, "revoked (admin)", "show", "--user", "nina")
	e.expect(0, "granted pro to eve", "grant", "--user", "eve\x1b[31m", "--product", "pro")
	if out := e.expect(0, `eve\x1b[31m`, "list"); strings.Contains(out, "\x1b") {
		t.Errorf("list printed a raw escape sequence:\n%q", out)
	}
}
