package testenv

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// programUse is one place a test file starts or looks up a program.
type programUse struct {
	where   string // file:line
	call    string // exec.Command, testenv.Binary, ...
	program string // the literal name; "" when it is computed
}

// programArg is the argument that names the program, per call.
var programArg = map[string]int{
	"exec.Command": 0, "exec.CommandContext": 1, "exec.LookPath": 0,
	"testenv.Binary": 1, "Binary": 1,
}

// programsStarted finds every exec.Command, exec.CommandContext,
// exec.LookPath and testenv.Binary call in the Go test files under root
// (and in this package, whose helpers start servers for them).
func programsStarted(root string) ([]programUse, error) {
	var uses []programUse
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		inTestenv := filepath.Base(filepath.Dir(path)) == "testenv"
		if !strings.HasSuffix(path, "_test.go") && !(inTestenv && strings.HasSuffix(path, ".go")) {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			name := ""
			switch fn := call.Fun.(type) {
			case *ast.SelectorExpr:
				if x, ok := fn.X.(*ast.Ident); ok {
					name = x.Name + "." + fn.Sel.Name
				}
			case *ast.Ident:
				if f.Name.Name == "testenv" {
					name = fn.Name
				}
			}
			i, ok := programArg[name]
			if !ok || len(call.Args) <= i {
				return true
			}
			u := programUse{where: fset.Position(call.Pos()).String(), call: name}
			if lit, ok := call.Args[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				u.program, _ = strconv.Unquote(lit.Value)
			}
			uses = append(uses, u)
			return true
		})
		return nil
	})
	return uses, err
}

// checkUses returns what is wrong with uses against the list: a literal
// program not listed, or exec.LookPath outside this package (a test finds
// programs through Binary, which checks the list).
func checkUses(uses []programUse, list map[string]Program) []string {
	var bad []string
	for _, u := range uses {
		if u.call == "exec.LookPath" && !strings.Contains(filepath.ToSlash(u.where), "/testenv/") {
			bad = append(bad, u.where+": exec.LookPath: use testenv.Binary, which checks "+ProgramsFile)
			continue
		}
		if _, ok := list[u.program]; u.program != "" && !ok {
			bad = append(bad, u.where+": "+u.call+" starts "+strconv.Quote(u.program)+", which is not in "+ProgramsFile)
		}
	}
	return bad
}

// TestProgramsListed: every program the repository's tests start by name
// is in .ci/programs, so the test command installs it.
func TestProgramsListed(t *testing.T) {
	list, err := Programs()
	if err != nil {
		t.Fatal(err)
	}
	uses, err := programsStarted(repoRoot())
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	for _, u := range uses {
		if u.program != "" {
			named[u.program] = true
		}
	}
	// The scan sees the helpers this package is known to use.
	for _, want := range []string{"redis-server", "redis-cli", "stripe-mock", "redis-sentinel", "chromium", "go"} {
		if !named[want] {
			t.Errorf("the scan did not find %q started anywhere (found %v): the scanner is broken", want, named)
		}
	}
	for _, b := range checkUses(uses, list) {
		t.Error(b)
	}
	t.Logf("%d program starts scanned; programs named: %v", len(uses), named)
}

// TestProgramsScanFindsUnlisted: the scan reports a program the list
// lacks and a bare exec.LookPath.
func TestProgramsScanFindsUnlisted(t *testing.T) {
	dir := t.TempDir()
	src := `package x

import ("os/exec"; "testing"; "example/internal/testenv")

func TestX(t *testing.T) {
	_ = exec.Command("redis-server", "--port", "1")
	_ = exec.Command("memcached")
	_, _ = exec.LookPath("redis-cli")
	_ = testenv.Binary(t, "node")
	_ = exec.Command(testenv.Binary(t, "redis-cli"))
}
`
	if err := os.WriteFile(filepath.Join(dir, "x_test.go"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	uses, err := programsStarted(dir)
	if err != nil {
		t.Fatal(err)
	}
	list, err := ParsePrograms("redis-server apt redis-server\nredis-cli apt redis-tools\n")
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Join(checkUses(uses, byName(list)), "\n")
	for _, want := range []string{`starts "memcached"`, "exec.LookPath: use testenv.Binary", `starts "node"`} {
		if !strings.Contains(bad, want) {
			t.Errorf("scan report lacks %q:\n%s", want, bad)
		}
	}
	if strings.Contains(bad, `"redis-server"`) || strings.Count(bad, "\n") != 2 {
		t.Errorf("scan report has more than the three problems:\n%s", bad)
	}
}

// TestBinaryRefusesUnlisted: asking for a program not on the list fails
// the test, even when the program is installed.
func TestBinaryRefusesUnlisted(t *testing.T) {
	ft := &fatalRecorder{TB: t}
	unlisted := "sh" // on every machine, and not on the list (a variable: the scan skips it)
	done := make(chan struct{})
	go func() {
		defer close(done)
		Binary(ft, unlisted)
	}()
	<-done
	if !strings.Contains(ft.msg, `"sh", which is not in .ci/programs`) {
		t.Fatalf("Binary(sh) did not fail the test as unlisted; message %q", ft.msg)
	}
	if got := Binary(t, "redis-server"); !fileExists(got) {
		t.Fatalf("Binary(redis-server) = %q", got)
	}
}

func TestParsePrograms(t *testing.T) {
	for _, bad := range []string{"redis-server", "x apt", "x go example.com/m", "x brew y", "x toolchain extra", "x apt a b"} {
		if _, err := ParsePrograms(bad); err == nil {
			t.Errorf("ParsePrograms(%q) accepted it", bad)
		}
	}
	got, err := ParsePrograms("# c\n\n/usr/bin/python3  apt python3-django\ngo toolchain\nm go example.com/m@v1\n")
	if err != nil || len(got) != 3 || got[0] != (Program{"/usr/bin/python3", "apt", "python3-django"}) || got[2].Source != "example.com/m@v1" {
		t.Fatalf("ParsePrograms: %+v %v", got, err)
	}
}

// fatalRecorder records a Fatalf and ends the goroutine as testing does.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}
func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
