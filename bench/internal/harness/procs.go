// Package harness holds what the bench's parts share: the processes it
// starts (and stops by PID, also on failure and ^C), free loopback ports,
// polling a URL, the CPU time of a process, medians.
package harness

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Procs is the set of processes one bench run started, with the temporary
// directory that holds their logs and configs.
type Procs struct {
	Dir string

	mu     sync.Mutex
	cmds   map[int]*exec.Cmd
	closed bool
}

// NewProcs makes the temporary directory and stops every process of the
// returned set when the bench gets SIGINT or SIGTERM.
func NewProcs() (*Procs, error) {
	dir, err := os.MkdirTemp("", "paywall-bench.")
	if err != nil {
		return nil, err
	}
	p := &Procs{Dir: dir, cmds: map[int]*exec.Cmd{}}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		fmt.Fprintf(os.Stderr, "\nbench: %v: stopping every process it started\n", s)
		p.Close()
		os.Exit(130)
	}()
	return p, nil
}

// Path is name inside the temporary directory.
func (p *Procs) Path(name string) string { return filepath.Join(p.Dir, name) }

// Spec describes one process to start.
type Spec struct {
	Name string   // names its log: <Dir>/<Name>.log
	CPUs string   // if set, the process runs under `taskset -c CPUs`
	Env  []string // added to the bench's environment
	Args []string // the program and its arguments
	Dir  string   // its working directory ("": the bench's)
}

// Start starts a process in its own process group (so ^C reaches only the
// bench, which stops it) with its output in its log.
func (p *Procs) Start(s Spec) (*exec.Cmd, error) {
	cmd, err := p.command(s)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, fmt.Errorf("%s: the bench is stopping", s.Name)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", s.Name, err)
	}
	p.cmds[cmd.Process.Pid] = cmd
	return cmd, nil
}

// Run runs a process to its end; on failure the error holds its log's end.
func (p *Procs) Run(s Spec) error {
	cmd, err := p.Start(s)
	if err != nil {
		return err
	}
	err = cmd.Wait()
	p.forget(cmd)
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", s.Name, err, p.Tail(s.Name))
	}
	return nil
}

// Output runs a process to its end and returns its output (stdout and
// stderr); it is stopped with the others on ^C.
func (p *Procs) Output(s Spec) (string, error) {
	cmd, err := p.Start(s)
	if err != nil {
		return "", err
	}
	err = cmd.Wait()
	p.forget(cmd)
	out, _ := os.ReadFile(p.Path(s.Name + ".log"))
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", s.Name, strings.Join(s.Args, " "), err, out)
	}
	return string(out), nil
}

func (p *Procs) command(s Spec) (*exec.Cmd, error) {
	args := s.Args
	if s.CPUs != "" {
		// taskset execs the program: the PID stays the program's.
		args = append([]string{"taskset", "-c", s.CPUs}, args...)
	}
	log, err := os.Create(p.Path(s.Name + ".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr, cmd.Dir = log, log, s.Dir
	cmd.Env = append(append(os.Environ(),
		"XDG_DATA_HOME="+p.Path("xdg-data"), "XDG_CONFIG_HOME="+p.Path("xdg-config")), s.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd, nil
}

// Stop stops one process by its PID: SIGTERM, SIGKILL after 5 seconds.
func (p *Procs) Stop(cmd *exec.Cmd) {
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
	p.forget(cmd)
}

// Alive tells whether a process started by Start still runs.
func (p *Procs) Alive(cmd *exec.Cmd) bool {
	return cmd.ProcessState == nil && cmd.Process.Signal(syscall.Signal(0)) == nil
}

func (p *Procs) forget(cmd *exec.Cmd) {
	p.mu.Lock()
	delete(p.cmds, cmd.Process.Pid)
	p.mu.Unlock()
}

// Close stops every process still running, each by its PID, and removes
// the temporary directory. It is safe to call more than once.
func (p *Procs) Close() {
	p.mu.Lock()
	p.closed = true
	cmds := make([]*exec.Cmd, 0, len(p.cmds))
	for _, c := range p.cmds {
		cmds = append(cmds, c)
	}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range cmds {
		wg.Add(1)
		go func() { defer wg.Done(); p.Stop(c) }()
	}
	wg.Wait()
	_ = os.RemoveAll(p.Dir)
}

// Tail is the end of a process's log, for error messages.
func (p *Procs) Tail(name string) string {
	b, _ := os.ReadFile(p.Path(name + ".log"))
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return "--- " + name + ".log (last lines) ---\n" + strings.Join(lines, "\n")
}
