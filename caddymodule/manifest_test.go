package caddymodule

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

// The repository root, seen from this package's directory (where go test
// runs its tests).
const repoRoot = ".."

// manifest is xcaddy.json, the plugin's build manifest. No tool reads it;
// these tests check it against the code so that it cannot go stale. A key
// added to the file must be added here, and checked.
type manifest struct {
	ModuleID  string `json:"module_id"`
	GoModule  string `json:"go_module"`
	Package   string `json:"package"`
	Directive string `json:"directive"`
	Order     struct {
		After  string `json:"after"`
		Before string `json:"before"`
	} `json:"order"`
	MinCaddy             string `json:"min_caddy"`
	MinGo                string `json:"min_go"`
	XcaddyBuild          string `json:"xcaddy_build"`
	XcaddyBuildPublished string `json:"xcaddy_build_published"`
	CaddyfileExample     string `json:"caddyfile_example"`
}

func readManifest(t *testing.T) manifest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "xcaddy.json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m manifest
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("xcaddy.json: %v", err)
	}
	return m
}

// goMod is what the manifest repeats from go.mod.
type goMod struct {
	module    string
	goVersion string
	require   map[string]string // module path → version
}

func readGoMod(t *testing.T) goMod {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gm := goMod{require: make(map[string]string)}
	inRequire := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "//")
		fields := strings.Fields(line)
		switch {
		case len(fields) == 0:
		case inRequire && fields[0] == ")":
			inRequire = false
		case inRequire && len(fields) == 2:
			gm.require[fields[0]] = fields[1]
		case fields[0] == "require" && len(fields) == 2 && fields[1] == "(":
			inRequire = true
		case fields[0] == "require" && len(fields) == 3:
			gm.require[fields[1]] = fields[2]
		case fields[0] == "module" && len(fields) == 2:
			gm.module = fields[1]
			if unquoted, err := strconv.Unquote(fields[1]); err == nil {
				gm.module = unquoted
			}
		case fields[0] == "go" && len(fields) == 2:
			gm.goVersion = fields[1]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if gm.module == "" || gm.goVersion == "" {
		t.Fatalf("go.mod: no module or go line")
	}
	return gm
}

func TestManifestModule(t *testing.T) {
	m := readManifest(t)
	id := Paywall{}.CaddyModule().ID
	if m.ModuleID != string(id) {
		t.Errorf("module_id %q, the code registers %q", m.ModuleID, id)
	}
	if _, err := caddy.GetModule(m.ModuleID); err != nil {
		t.Errorf("module_id %q: %v", m.ModuleID, err)
	}
	if pkg := reflect.TypeFor[Paywall]().PkgPath(); m.Package != pkg {
		t.Errorf("package %q, the module lives in %q", m.Package, pkg)
	}
}

func TestManifestGoMod(t *testing.T) {
	m, gm := readManifest(t), readGoMod(t)
	if m.GoModule != gm.module {
		t.Errorf("go_module %q, go.mod says %q", m.GoModule, gm.module)
	}
	if m.Package != m.GoModule && !strings.HasPrefix(m.Package, m.GoModule+"/") {
		t.Errorf("package %q is not in go_module %q", m.Package, m.GoModule)
	}
	// go.mod's "go 1.26.0" is the minimum Go; the manifest names its
	// release, 1.26.
	if parts := strings.Split(gm.goVersion, "."); m.MinGo != strings.Join(parts[:min(2, len(parts))], ".") {
		t.Errorf("min_go %q, go.mod says go %s", m.MinGo, gm.goVersion)
	}
	const caddyModule = "github.com/caddyserver/caddy/v2"
	if v := gm.require[caddyModule]; m.MinCaddy != v {
		t.Errorf("min_caddy %q, go.mod requires %s %s", m.MinCaddy, caddyModule, v)
	}
}

func TestManifestDirective(t *testing.T) {
	m := readManifest(t)
	// An unregistered directive fails to adapt ("unrecognized directive").
	handlers := adaptHandlers(t, ":8080\n\n"+m.Directive+` {
	stripe_secret_key sk_test_123
	stripe_webhook_secret whsec_123
	session_secret 0123456789abcdef0123456789abcdef
}
`)
	name := caddy.ModuleID(m.ModuleID).Name()
	if len(handlers) != 1 || handlers[0]["handler"] != name {
		t.Errorf("directive %q adapts to %v, want one %q handler", m.Directive, handlers, name)
	}
}

func TestManifestOrder(t *testing.T) {
	m := readManifest(t)
	// Written in the reverse of the order they run in, with no global
	// `order` line: the registered order must sort them.
	handlers := adaptHandlers(t, `:8080

reverse_proxy 127.0.0.1:8000
request_header X-Demo 1
`+m.Directive+` {
	stripe_secret_key sk_test_123
	stripe_webhook_secret whsec_123
	session_secret 0123456789abcdef0123456789abcdef
}
forward_auth 127.0.0.1:9091 {
	uri /whoami
}
basic_auth {
	alice $2a$14$QcUbH2HWWKeCgEDmOWWCtOuKKGNjxkFtRcM2VY/SCxxa9yArYl2ZC
}
`)
	// Name each handler after the directive that made it.
	var got []string
	for _, h := range handlers {
		switch name := h["handler"]; {
		case name == "authentication":
			got = append(got, "basic_auth")
		case name == "reverse_proxy" && h["rewrite"] != nil:
			got = append(got, "forward_auth")
		case name == "headers":
			got = append(got, "request_header")
		case name == caddy.ModuleID(m.ModuleID).Name():
			got = append(got, m.Directive)
		default:
			got = append(got, fmt.Sprint(name))
		}
	}
	// After every authentication directive, before handlers that respond;
	// request_header is the standard directive that follows forward_auth.
	want := []string{"basic_auth", "forward_auth", m.Directive, "request_header", "reverse_proxy"}
	if !slices.Equal(got, want) {
		t.Errorf("handlers run in the order %v, want %v", got, want)
	}
	i := slices.Index(got, m.Directive)
	if m.Order.After != "" && (i < 1 || got[i-1] != m.Order.After) {
		t.Errorf("order.after %q, but %v", m.Order.After, got)
	}
	if m.Order.Before != "" && (i < 0 || i+1 >= len(got) || got[i+1] != m.Order.Before) {
		t.Errorf("order.before %q, but %v", m.Order.Before, got)
	}
	if (m.Order.After == "") == (m.Order.Before == "") {
		t.Errorf("order: want one of after and before, got %+v", m.Order)
	}
}

func TestManifestXcaddy(t *testing.T) {
	m := readManifest(t)
	for _, tc := range []struct {
		key, line string
		local     bool // builds this checkout: replaces the module with "."
	}{
		{"xcaddy_build", m.XcaddyBuild, true},
		{"xcaddy_build_published", m.XcaddyBuildPublished, false},
	} {
		t.Run(tc.key, func(t *testing.T) {
			fields := strings.Fields(tc.line)
			if len(fields) < 2 || fields[0] != "xcaddy" || fields[1] != "build" {
				t.Fatalf("%s %q: not an `xcaddy build` line", tc.key, tc.line)
			}
			var plugins []string
			replaces := make(map[string]string)
			for i := 2; i < len(fields); i++ {
				flag := fields[i]
				if flag != "--with" && flag != "--replace" || i+1 == len(fields) {
					t.Fatalf("%s: unexpected %q", tc.key, flag)
				}
				i++
				// module[@version][=replacement], as xcaddy reads it
				mod, repl, hasRepl := strings.Cut(fields[i], "=")
				mod, _, _ = strings.Cut(mod, "@")
				if hasRepl {
					replaces[mod] = repl
				}
				if flag == "--with" {
					plugins = append(plugins, mod)
				}
			}
			if len(plugins) != 1 {
				t.Fatalf("%s: want one --with, got %v", tc.key, plugins)
			}
			// xcaddy imports the --with path in its main.go: it must be a
			// package that registers the module.
			checkRegisters(t, tc.key, plugins[0], m.GoModule)
			if repl, ok := replaces[m.GoModule]; tc.local && (!ok || repl != ".") {
				t.Errorf("%s: does not build this checkout: want %s replaced with \".\", got %v", tc.key, m.GoModule, replaces)
			}
			if !tc.local && len(replaces) > 0 {
				t.Errorf("%s: a published build replaces nothing, got %v", tc.key, replaces)
			}
		})
	}
}

// checkRegisters fails unless pkg, a package of goModule, is the one that
// registers the paywall or imports it.
func checkRegisters(t *testing.T, key, pkg, goModule string) {
	t.Helper()
	registering := reflect.TypeFor[Paywall]().PkgPath()
	if pkg == registering {
		return
	}
	rel, ok := strings.CutPrefix(pkg, goModule)
	if !ok || (rel != "" && !strings.HasPrefix(rel, "/")) {
		t.Errorf("%s: %s is not a package of %s", key, pkg, goModule)
		return
	}
	files, _ := filepath.Glob(filepath.Join(repoRoot, filepath.FromSlash(rel), "*.go"))
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); path == registering {
				return
			}
		}
	}
	t.Errorf("%s: package %s neither is nor imports %s, so the build would not have the paywall", key, pkg, registering)
}

func TestManifestCaddyfileExample(t *testing.T) {
	m := readManifest(t)
	data, err := os.ReadFile(filepath.Join(repoRoot, m.CaddyfileExample))
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt(data, nil)
	if err != nil {
		t.Fatalf("%s: %v", m.CaddyfileExample, err)
	}
	// Every paywall handler in it passes Validate.
	var found int
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if v["handler"] == caddy.ModuleID(m.ModuleID).Name() {
				found++
				raw, _ := json.Marshal(v)
				var p Paywall
				if err := json.Unmarshal(raw, &p); err != nil {
					t.Errorf("%s: %v", m.CaddyfileExample, err)
				} else if err := p.Validate(); err != nil {
					t.Errorf("%s: %v", m.CaddyfileExample, err)
				}
			}
			for _, child := range v {
				walk(child)
			}
		case []any:
			for _, child := range v {
				walk(child)
			}
		}
	}
	var cfg any
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	walk(cfg)
	if found == 0 {
		t.Errorf("%s has no %s block", m.CaddyfileExample, m.Directive)
	}
}

// adaptHandlers adapts a one-site Caddyfile and returns the handlers of its
// top-level routes, in the order they run.
func adaptHandlers(t *testing.T, caddyfileText string) []map[string]any {
	t.Helper()
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfileText), nil)
	if err != nil {
		t.Fatalf("adapting: %v", err)
	}
	var cfg struct {
		Apps struct {
			HTTP struct {
				Servers map[string]struct {
					Routes []struct {
						Handle []map[string]any `json:"handle"`
					} `json:"routes"`
				} `json:"servers"`
			} `json:"http"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Apps.HTTP.Servers) != 1 {
		t.Fatalf("want one server, got %s", out)
	}
	var handlers []map[string]any
	for _, srv := range cfg.Apps.HTTP.Servers {
		for _, r := range srv.Routes {
			handlers = append(handlers, r.Handle...)
		}
	}
	return handlers
}
