package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// startTarget starts the minimal net/http server in a child process of this binary (behind
// pin, the taskset prefix that pins it, if any), so that its CPU is never counted against a
// generator and it does not share their scheduler. The returned func stops it.
func startTarget(pin []string, stderr io.Writer) (string, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	f, err := ln.(*net.TCPListener).File()
	ln.Close()
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	argv := append(append([]string{}, pin...), self)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "LOADBENCH_TARGET=1")
	cmd.ExtraFiles = []*os.File{f}
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	return ln.Addr().String(), func() { cmd.Process.Kill(); cmd.Wait() }, nil
}

// serveTarget is the target child: it serves the inherited listener (fd 3) with a minimal
// handler and nothing else, until it is killed.
func serveTarget() int {
	ln, err := net.FileListener(os.NewFile(3, "listener"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "target:", err)
		return 1
	}
	body := []byte("ok\n")
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	return 0
}

// machine describes this machine: CPU model, cores, memory, kernel.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if kb, ok := procField(b, "MemTotal"); ok {
			mem = fmt.Sprintf(", %.0f GiB", float64(kb)/(1<<20))
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return fmt.Sprintf("%s, %d cores%s, Linux %s, %s", model, runtime.NumCPU(), mem, strings.TrimSpace(string(kernel)), runtime.Version())
}

// loadavg is the 1, 5 and 15 minute load averages from /proc/loadavg.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// procStatus reads the resident set (KiB) and the thread count of a process from /proc.
func procStatus(pid int) (rssKB, threads int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	rssKB, ok := procField(b, "VmRSS")
	if !ok {
		return 0, 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
	}
	threads, _ = procField(b, "Threads")
	return rssKB, threads, nil
}

var procFieldRE = regexp.MustCompile(`^(\w+):\s+(\d+)`)

// procField returns the number of a "Name:  123 kB" line of a /proc file.
func procField(b []byte, name string) (int64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if m := procFieldRE.FindSubmatch(sc.Bytes()); m != nil && string(m[1]) == name {
			n, err := strconv.ParseInt(string(m[2]), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
