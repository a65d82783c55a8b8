package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"text/template"
	"time"

	"github.com/caddy-paywall/caddy-paywall/bench/internal/harness"
)

// env is what the parts share: the binaries, Redis and the upstream.
type env struct {
	cfg    config
	procs  *harness.Procs
	caddy  string // this repository's Caddy binary
	redis  *harness.Redis
	vars   vars
	fronts map[string]*front // by Caddyfile snippet
}

// vars fill the Caddyfile templates ({{.Upstream}} and so on).
type vars struct {
	Port     int
	Upstream string // host:port of the upstream Caddy
	Redis    string // the Redis URL of database DB
	DB       int
	Stripe   string // a closed port: nothing measured may call Stripe
	Secret   string // the webhook signing secret
	Admin    string // the admin endpoint: "off" or host:port
}

// front is one front-end Caddy process.
type front struct {
	name string
	port int
	cmd  *exec.Cmd
}

func (f *front) url(path string) string { return fmt.Sprintf("http://127.0.0.1:%d%s", f.port, path) }

const caddyfileTemplate = `{
	admin {{.Admin}}
	auto_https off
	persist_config off
}
http://127.0.0.1:{{.Port}} {
%s
	reverse_proxy {{.Upstream}}
}
`

// newEnv builds Caddy and starts Redis and the upstream.
func newEnv(cfg config, procs *harness.Procs) (*env, error) {
	root, err := harness.RepoRoot()
	if err != nil {
		return nil, err
	}
	e := &env{cfg: cfg, procs: procs, caddy: procs.Path("caddy"), fronts: map[string]*front{}}
	fmt.Printf("== building %s/cmd/caddy\n", root)
	if err := procs.Run(harness.Spec{Name: "build", Dir: root, Args: []string{"go", "build", "-o", e.caddy, "./cmd/caddy"}}); err != nil {
		return nil, err
	}
	if e.redis, err = procs.StartRedis("redis", cfg.loadCPU, false); err != nil {
		return nil, err
	}
	stripe, err := harness.FreePort()
	if err != nil {
		return nil, err
	}
	e.vars = vars{Redis: e.redis.URL(0), Stripe: fmt.Sprintf("http://127.0.0.1:%d", stripe),
		Secret: "whsec_bench_0123456789", Admin: "off"}
	up, err := e.startCaddy("upstream", cfg.loadCPU, nil, `	respond "ok" 200`, e.vars)
	if err != nil {
		return nil, err
	}
	e.vars.Upstream = fmt.Sprintf("127.0.0.1:%d", up.port)
	return e, nil
}

// caddyfile fills the template with the snippet and v.
func caddyfile(snippet string, v vars) (string, error) {
	text := caddyfileTemplate
	if !strings.Contains(snippet, "respond") {
		text = fmt.Sprintf(text, snippet)
	} else { // the upstream answers by itself
		text = strings.Replace(fmt.Sprintf(text, snippet), "\treverse_proxy {{.Upstream}}\n", "", 1)
	}
	t, err := template.New("").Option("missingkey=error").Parse(text)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	err = t.Execute(&b, v)
	return b.String(), err
}

// writeCaddyfile writes the snippet's Caddyfile for a free port.
func (e *env) writeCaddyfile(name, snippet string, v vars) (path string, port int, err error) {
	if v.Port, err = harness.FreePort(); err != nil {
		return "", 0, err
	}
	text, err := caddyfile(snippet, v)
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w", name, err)
	}
	path = e.procs.Path(name + ".caddyfile")
	return path, v.Port, os.WriteFile(path, []byte(text), 0o644)
}

// startCaddy starts a Caddy serving the snippet and waits until it
// answers 200 on its root, or on /paywall/healthz for a paywall.
func (e *env) startCaddy(name, cpus string, extraEnv []string, snippet string, v vars) (*front, error) {
	path, port, err := e.writeCaddyfile(name, snippet, v)
	if err != nil {
		return nil, err
	}
	cmd, err := e.procs.Start(harness.Spec{Name: name, CPUs: cpus, Env: extraEnv,
		Args: []string{e.caddy, "run", "--config", path, "--adapter", "caddyfile"}})
	if err != nil {
		return nil, err
	}
	f := &front{name: name, port: port, cmd: cmd}
	readyPath := "/"
	if strings.Contains(snippet, "paywall") {
		readyPath = "/paywall/healthz"
	}
	if err := harness.WaitStatus(f.url(readyPath), http.StatusOK, time.Minute); err != nil {
		return nil, fmt.Errorf("%s: %w\n%s", name, err, e.procs.Tail(name))
	}
	return f, nil
}

// startFront starts a front end under test, pinned with GOMAXPROCS=1;
// fronts with the same snippet share a process, except bare ("") ones.
func (e *env) startFront(name, snippet string) (*front, error) {
	if f, ok := e.fronts[snippet]; ok && snippet != "" {
		return f, nil
	}
	f, err := e.startCaddy(name, e.cfg.frontCPU, []string{"GOMAXPROCS=1"}, snippet, e.vars)
	if err != nil {
		return nil, err
	}
	if snippet != "" {
		e.fronts[snippet] = f
	}
	return f, nil
}

// grant grants a user a product with `caddy paywall grant` on the
// gateway's Caddyfile with v.
func (e *env) grant(user, product string, v vars) error {
	path, _, err := e.writeCaddyfile("grant", gatewaySnippet, v)
	if err != nil {
		return err
	}
	return e.procs.Run(harness.Spec{Name: "grant", Args: []string{e.caddy, "paywall", "grant",
		"--config", path, "--adapter", "caddyfile", "--user", user, "--product", product}})
}
