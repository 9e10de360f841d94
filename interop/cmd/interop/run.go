package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Step is one move of a scripted stdin (an expect-like dialogue).
type Step struct {
	Write   string        // write these bytes to stdin
	WaitFor string        // wait until the output matches this regexp
	Sleep   time.Duration // pause
}

// Proc is one process of a case.
type Proc struct {
	Argv   []string
	Script []Step
	// Expect: regexps the combined output must match; Reject: must not.
	Expect []string
	Reject []string
	// Exit codes that count as success (default 0). A process killed by a
	// signal it did not get from us is always a failure (a crash).
	Exit []int
	// Daemon: runs until the clients are done, then is stopped (SIGTERM).
	Daemon bool
	// KeepStdin: leave stdin open after the script (a daemon reading it).
	KeepStdin bool
}

// Case is one cell of the matrix: a server and the clients run against it.
type Case struct {
	Row, Col string
	Server   *Proc
	Clients  []*Proc
}

func (c *Case) id() string {
	clean := regexp.MustCompile(`[^A-Za-z0-9]+`)
	return strings.Trim(clean.ReplaceAllString(c.Row+"_"+c.Col, "-"), "-")
}

// Result of one case.
type Result struct {
	Case   *Case
	OK     bool
	Why    string
	Took   time.Duration
	LogDir string
}

// running is a started process with its output captured.
type running struct {
	p      *Proc
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	mu     sync.Mutex
	out    bytes.Buffer
	done   chan struct{}
	err    error
	killed bool
}

func (r *running) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.Write(b)
}

func (r *running) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.String()
}

func start(p *Proc, vars map[string]string) (*running, error) {
	argv := make([]string, len(p.Argv))
	for i, a := range p.Argv {
		argv[i] = expand(a, vars)
	}
	r := &running{p: p, done: make(chan struct{})}
	r.cmd = exec.Command(argv[0], argv[1:]...)
	r.cmd.Stdout = r
	r.cmd.Stderr = r
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	in, err := r.cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	r.stdin = in
	fmt.Fprintf(r, "$ %s\n", strings.Join(argv, " "))
	if err := r.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		r.err = r.cmd.Wait()
		close(r.done)
	}()
	return r, nil
}

func expand(s string, vars map[string]string) string {
	for k, v := range vars {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return s
}

// script plays p.Script against r; it returns an error when a WaitFor
// times out or the process ends first.
func (r *running) script(ctx context.Context, vars map[string]string) error {
	for _, st := range r.p.Script {
		switch {
		case st.Write != "":
			if _, err := io.WriteString(r.stdin, expand(st.Write, vars)); err != nil {
				return fmt.Errorf("write %q: %w", st.Write, err)
			}
		case st.WaitFor != "":
			re := regexp.MustCompile(st.WaitFor)
			for !re.MatchString(r.output()) {
				select {
				case <-ctx.Done():
					return fmt.Errorf("timed out waiting for %q", st.WaitFor)
				case <-r.done:
					if re.MatchString(r.output()) {
						return nil
					}
					return fmt.Errorf("exited before %q appeared", st.WaitFor)
				case <-time.After(20 * time.Millisecond):
				}
			}
		case st.Sleep > 0:
			time.Sleep(st.Sleep)
		}
	}
	if !r.p.KeepStdin {
		r.stdin.Close()
	}
	return nil
}

// stop ends a process group: SIGTERM, then SIGKILL after a grace period.
func (r *running) stop() {
	select {
	case <-r.done:
		return
	default:
	}
	r.killed = true
	syscall.Kill(-r.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(2 * time.Second):
		syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		<-r.done
	}
}

func (r *running) wait(ctx context.Context) error {
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		r.stop()
		return errors.New("did not exit in time (killed)")
	}
}

// verdict checks exit status and output expectations.
func (r *running) verdict(name string) error {
	out := r.output()
	if !r.killed || !r.p.Daemon {
		code := 0
		if r.err != nil {
			var ee *exec.ExitError
			if !errors.As(r.err, &ee) {
				return fmt.Errorf("%s: %v", name, r.err)
			}
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				return fmt.Errorf("%s: killed by signal %v (crash?)", name, ws.Signal())
			}
			code = ee.ExitCode()
		}
		allowed := r.p.Exit
		if len(allowed) == 0 {
			allowed = []int{0}
		}
		okCode := false
		for _, a := range allowed {
			okCode = okCode || a == code
		}
		if !okCode {
			return fmt.Errorf("%s: exit status %d (want %v)", name, code, allowed)
		}
	}
	for _, e := range r.p.Expect {
		if !regexp.MustCompile(e).MatchString(out) {
			return fmt.Errorf("%s: output lacks %q", name, e)
		}
	}
	for _, e := range r.p.Reject {
		if m := regexp.MustCompile(e).FindString(out); m != "" {
			return fmt.Errorf("%s: output has %q", name, m)
		}
	}
	return nil
}

// listening reports whether something listens on 127.0.0.1:port (read from
// /proc, so probing makes no connection a one-shot server would count).
func listening(port int) bool {
	want := fmt.Sprintf(":%04X ", port)
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			fields := strings.Fields(line)
			if len(fields) > 3 && strings.HasSuffix(fields[1]+" ", want) && fields[3] == "0A" {
				return true
			}
		}
	}
	return false
}

func runCase(c *Case, vars map[string]string, logRoot string, timeout time.Duration) (res Result) {
	begin := time.Now()
	res = Result{Case: c, LogDir: filepath.Join(logRoot, c.id())}
	os.MkdirAll(res.LogDir, 0o755)
	vars = copyVars(vars)
	vars["tmp"] = res.LogDir
	port := freePort()
	vars["port"] = strconv.Itoa(port)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	var procs []*running
	var names []string
	defer func() {
		for i, r := range procs {
			r.stop()
			os.WriteFile(filepath.Join(res.LogDir, names[i]+".log"), []byte(r.output()), 0o644)
		}
		res.Took = time.Since(begin)
	}()
	fail := func(format string, a ...any) Result {
		res.Why = fmt.Sprintf(format, a...)
		return res
	}

	srv, err := start(c.Server, vars)
	if err != nil {
		return fail("server: %v", err)
	}
	procs, names = append(procs, srv), append(names, "server")
	for !listening(port) {
		select {
		case <-srv.done:
			srv.verdict("server")
			return fail("server exited before listening")
		case <-ctx.Done():
			return fail("server never listened on %d", port)
		case <-time.After(25 * time.Millisecond):
		}
	}
	go srv.script(ctx, vars)

	for i, cp := range c.Clients {
		name := "client"
		if len(c.Clients) > 1 {
			name = fmt.Sprintf("client%d", i+1)
		}
		cl, err := start(cp, vars)
		if err != nil {
			return fail("%s: %v", name, err)
		}
		procs, names = append(procs, cl), append(names, name)
		if err := cl.script(ctx, vars); err != nil {
			cl.stop()
			return fail("%s: %v", name, err)
		}
		if err := cl.wait(ctx); err != nil {
			return fail("%s: %v", name, err)
		}
		if err := cl.verdict(name); err != nil {
			return fail("%v", err)
		}
	}
	if c.Server.Daemon {
		// Let it log the end of the last connection, then stop it.
		time.Sleep(100 * time.Millisecond)
		srv.stop()
	} else if err := srv.wait(ctx); err != nil {
		return fail("server: %v", err)
	}
	if err := srv.verdict("server"); err != nil {
		return fail("%v", err)
	}
	res.OK = true
	return res
}

func copyVars(v map[string]string) map[string]string {
	out := make(map[string]string, len(v)+2)
	for k, x := range v {
		out[k] = x
	}
	return out
}
