package testenv

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// ProgramsFile is the one list of the programs tests start, relative to
// the repository root. .ci/test.sh installs what it lists; Binary refuses
// anything else, so the two cannot drift.
const ProgramsFile = ".ci/programs"

// Program is one line of the list: a program and how it is installed.
type Program struct {
	Name   string // as tests ask for it: a name on PATH, or an absolute path
	Via    string // "apt", "go" or "toolchain"
	Source string // the Debian package or the Go module@version; "" for toolchain
}

// Install is the command that installs the program, for error messages.
func (p Program) Install() string {
	switch p.Via {
	case "apt":
		return "apt-get install " + p.Source
	case "go":
		return fmt.Sprintf("GOBIN=%s go install %s", filepath.Join(repoRoot(), ".bin"), p.Source)
	}
	return "install the Go toolchain"
}

// ParsePrograms reads the list's format: "name via [source]" per line,
// blank lines and # comments ignored.
func ParsePrograms(text string) ([]Program, error) {
	var out []Program
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		p := Program{Name: f[0]}
		if len(f) > 1 {
			p.Via = f[1]
		}
		if len(f) > 2 {
			p.Source = f[2]
		}
		switch {
		case (p.Via == "apt" || p.Via == "go") && len(f) == 3:
		case p.Via == "toolchain" && len(f) == 2:
		default:
			return nil, fmt.Errorf("line %d: %q: want \"<program> apt <package>\", \"<program> go <module>@<version>\" or \"<program> toolchain\"", n, line)
		}
		if p.Via == "go" && !strings.Contains(p.Source, "@") {
			return nil, fmt.Errorf("line %d: %q: the module needs an @version", n, line)
		}
		out = append(out, p)
	}
	return out, sc.Err()
}

func byName(list []Program) map[string]Program {
	m := map[string]Program{}
	for _, p := range list {
		m[p.Name] = p
	}
	return m
}

var (
	programsOnce sync.Once
	programs     map[string]Program
	programsErr  error
)

// Programs returns the list, read once from the repository.
func Programs() (map[string]Program, error) {
	programsOnce.Do(func() {
		b, err := os.ReadFile(filepath.Join(repoRoot(), ProgramsFile))
		if err != nil {
			programsErr = err
			return
		}
		list, err := ParsePrograms(string(b))
		if err != nil {
			programsErr = fmt.Errorf("%s: %v", ProgramsFile, err)
			return
		}
		programs = byName(list)
	})
	return programs, programsErr
}

// Binary finds a program a test starts: an absolute path as is, a name on
// PATH or in the repository's .bin/. A program missing from the list in
// .ci/programs fails the test (the test command would not install it on
// a fresh machine), and so does a listed one that is not installed, with
// the command that installs it: these tests are never skipped. Further
// arguments are ignored (callers once passed an install hint; the list
// gives it now).
func Binary(t testing.TB, name string, _ ...string) string {
	t.Helper()
	list, err := Programs()
	if err != nil {
		t.Fatalf("reading the list of test programs: %v", err)
	}
	p, ok := list[name]
	if !ok {
		t.Fatalf("a test starts %q, which is not in %s: add a line for it there (with the package that provides it) so the test command installs it on a fresh machine", name, ProgramsFile)
	}
	if filepath.IsAbs(name) {
		if fileExists(name) {
			return name
		}
	} else {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
		if path := filepath.Join(repoRoot(), ".bin", name); fileExists(path) {
			return path
		}
	}
	t.Fatalf("%s not found (on PATH or in .bin/): run the README's test command (bash .ci/test.sh), or %s", name, p.Install())
	return ""
}
