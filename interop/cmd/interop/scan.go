package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Check is one line of the scanner table.
type Check struct {
	Scanner, Name string
	OK            bool
	Detail        string
}

// scanEpoll runs testssl.sh and sslscan against one epoll_server with its
// default configuration and turns their findings into checks.
func scanEpoll(vars map[string]string, logDir string, testsslTimeout time.Duration) []Check {
	os.MkdirAll(logDir, 0o755)
	port := freePort()
	vars = copyVars(vars)
	vars["port"] = strconv.Itoa(port)
	srv, err := start(&Proc{Argv: args("{bin}/epoll_server", "--port", "{port}", "--cert", "{certs}/server.pem",
		"--key", "{certs}/server.key", "--timeout", strconv.Itoa(int(testsslTimeout/time.Second)+60))}, vars)
	if err != nil {
		return []Check{{Scanner: "epoll_server", Name: "start", Detail: err.Error()}}
	}
	defer func() {
		srv.stop()
		os.WriteFile(filepath.Join(logDir, "epoll_server.log"), []byte(srv.output()), 0o644)
	}()
	for deadline := time.Now().Add(10 * time.Second); !listening(port); {
		if time.Now().After(deadline) {
			return []Check{{Scanner: "epoll_server", Name: "listen", Detail: "never listened"}}
		}
		time.Sleep(25 * time.Millisecond)
	}
	target := "127.0.0.1:" + strconv.Itoa(port)

	checks := sslscan(target, logDir)
	checks = append(checks, testssl(target, logDir, testsslTimeout)...)
	// The server must have survived both scanners.
	select {
	case <-srv.done:
		checks = append(checks, Check{Scanner: "epoll_server", Name: "survives both scans", Detail: "exited during the scans"})
	default:
		checks = append(checks, Check{Scanner: "epoll_server", Name: "survives both scans", OK: true, Detail: "still serving"})
	}
	return checks
}

func sslscan(target, logDir string) []Check {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "sslscan", "--no-colour", target).CombinedOutput()
	os.WriteFile(filepath.Join(logDir, "sslscan.log"), out, 0o644)
	s := string(out)
	if err != nil {
		return []Check{{Scanner: "sslscan", Name: "run", Detail: err.Error()}}
	}
	has := func(re string) bool { return regexp.MustCompile(re).MatchString(s) }
	var cs []Check
	add := func(name string, ok bool, detail string) {
		cs = append(cs, Check{Scanner: "sslscan", Name: name, OK: ok, Detail: detail})
	}
	for _, v := range []string{"SSLv2", "SSLv3", `TLSv1\.0`, `TLSv1\.1`} {
		add(strings.ReplaceAll(v, `\`, "")+" disabled", has(`(?m)^`+v+`\s+disabled`), "")
	}
	add("TLSv1.2 and TLSv1.3 enabled", has(`(?m)^TLSv1\.2\s+enabled`) && has(`(?m)^TLSv1\.3\s+enabled`), "")
	add("no renegotiation", has(`Session renegotiation not supported`), "")
	add("not vulnerable to heartbleed", !has(`(?m)^TLSv\S+ vulnerable to heartbleed`) && has(`not vulnerable to heartbleed`), "")
	weak := regexp.MustCompile(`(?m)^(Preferred|Accepted)\s+\S+\s+(\d+) bits\s+(\S+)`)
	var bad []string
	n := 0
	for _, m := range weak.FindAllStringSubmatch(s, -1) {
		n++
		bits, _ := strconv.Atoi(m[2])
		if bits < 128 || regexp.MustCompile(`NULL|RC4|DES|EXP|anon|MD5|ADH|AECDH`).MatchString(m[3]) {
			bad = append(bad, m[3])
		}
	}
	add("no weak cipher (<128 bit, NULL, RC4, 3DES, export, anon)", n > 0 && len(bad) == 0,
		fmt.Sprintf("%d suites accepted%s", n, listIf(bad)))
	return cs
}

func listIf(l []string) string {
	if len(l) == 0 {
		return ""
	}
	return "; weak: " + strings.Join(l, ", ")
}

// testssl runs testssl.sh with protocols (-p), cipher categories (-s) and
// vulnerabilities (-U), bounded by timeout, and reads its JSON findings.
func testssl(target, logDir string, timeout time.Duration) []Check {
	bin := "testssl"
	if _, err := exec.LookPath(bin); err != nil {
		bin = "testssl.sh"
	}
	jsonPath := filepath.Join(logDir, "testssl.json")
	os.Remove(jsonPath)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--quiet", "--color", "0", "--warnings", "off", "--nodns", "none",
		"--connect-timeout", "5", "--openssl-timeout", "5", "-p", "-s", "-U", "--jsonfile", jsonPath, target)
	cmd.WaitDelay = 5 * time.Second
	began := time.Now()
	out, err := cmd.CombinedOutput()
	os.WriteFile(filepath.Join(logDir, "testssl.log"), out, 0o644)
	took := time.Since(began).Round(time.Second)
	if ctx.Err() != nil {
		return []Check{{Scanner: "testssl.sh", Name: "run", Detail: fmt.Sprintf("timed out after %v", timeout)}}
	}
	var findings []struct{ ID, Severity, Finding string }
	b, rerr := os.ReadFile(jsonPath)
	if rerr == nil {
		rerr = json.Unmarshal(b, &findings)
	}
	if rerr != nil {
		return []Check{{Scanner: "testssl.sh", Name: "run", Detail: fmt.Sprintf("no JSON findings (%v, exit %v)", rerr, err)}}
	}
	byID := map[string]string{}
	sev := map[string]int{}
	var high []string
	for _, f := range findings {
		byID[f.ID] = f.Finding
		sev[f.Severity]++
		if f.Severity == "HIGH" || f.Severity == "CRITICAL" {
			high = append(high, f.ID+": "+f.Finding)
		}
	}
	var cs []Check
	add := func(name string, ok bool, detail string) {
		cs = append(cs, Check{Scanner: "testssl.sh", Name: name, OK: ok, Detail: detail})
	}
	add("ran -p -s -U", len(findings) >= 20, fmt.Sprintf("%d findings in %v", len(findings), took))
	add("no finding rated HIGH or CRITICAL", len(high) == 0,
		fmt.Sprintf("severities: OK %d, INFO %d, LOW %d, MEDIUM %d, HIGH %d, CRITICAL %d%s",
			sev["OK"], sev["INFO"], sev["LOW"], sev["MEDIUM"], sev["HIGH"], sev["CRITICAL"], listIf(high)))
	for _, id := range []string{"SSLv2", "SSLv3", "TLS1", "TLS1_1"} {
		add(id+" not offered", strings.HasPrefix(byID[id], "not offered"), byID[id])
	}
	for _, id := range []string{"TLS1_2", "TLS1_3"} {
		add(id+" offered", strings.HasPrefix(byID[id], "offered"), byID[id])
	}
	add("client-initiated renegotiation refused", strings.HasPrefix(byID["secure_client_renego"], "not vulnerable"),
		byID["secure_client_renego"])
	var low []string
	for _, f := range findings {
		if f.Severity == "LOW" || f.Severity == "MEDIUM" {
			low = append(low, fmt.Sprintf("%s (%s): %s", f.ID, f.Severity, f.Finding))
		}
	}
	if len(low) > 0 {
		cs = append(cs, Check{Scanner: "testssl.sh", Name: "note: LOW/MEDIUM findings", OK: true, Detail: strings.Join(low, "; ")})
	}
	return cs
}
