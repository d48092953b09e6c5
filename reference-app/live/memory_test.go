package live_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/reference-app/live"
)

// TestMain lets the test binary double as the client process of
// BenchmarkIdleConnMemory, so that the clients' memory is not counted as
// the hub's.
func TestMain(m *testing.M) {
	if os.Getenv("LIVE_HOLD_CLIENTS") == "1" {
		os.Exit(holdClients(os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

// raiseNoFile lifts the soft limit on open files to the hard limit and
// returns it.
func raiseNoFile() (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	rl.Cur = rl.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	return rl.Cur, nil
}

// holdClients reads "url" lines from in, dials each as a WebSocket client
// that reads and discards (so it answers pings), writes "ready" to out once
// all are connected and holds them until in reaches EOF.
func holdClients(in io.Reader, out io.Writer) int {
	if _, err := raiseNoFile(); err != nil {
		fmt.Fprintln(out, "error:", err)
		return 1
	}
	sc := bufio.NewScanner(in)
	var urls []string
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break
		}
		urls = append(urls, line)
	}
	d := &websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 512, WriteBufferSize: 512}
	work := make(chan string)
	errs := make(chan error, len(urls))
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() { // ends when work is closed
			defer wg.Done()
			for u := range work {
				c, _, err := d.Dial(u, nil)
				if err != nil {
					errs <- err
					continue
				}
				go func() { // ends when the process exits or the server closes
					for {
						if _, _, err := c.ReadMessage(); err != nil {
							return
						}
					}
				}()
			}
		}()
	}
	for _, u := range urls {
		work <- u
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		fmt.Fprintln(out, "error:", err)
		return 1
	}
	fmt.Fprintln(out, "ready")
	io.Copy(io.Discard, in) // hold until the parent closes stdin
	return 0
}

func memory() (goBytes, rss uint64) {
	runtime.GC()
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	statm, _ := os.ReadFile("/proc/self/statm")
	if f := strings.Fields(string(statm)); len(f) > 1 {
		pages, _ := strconv.ParseUint(f[1], 10, 64)
		rss = pages * uint64(os.Getpagesize())
	}
	return ms.HeapAlloc + ms.StackInuse, rss
}

// BenchmarkIdleConnMemory measures the hub's memory per idle connection with
// LIVE_IDLE_CONNS (default 1000) connections held open by a child process,
// in rooms of 100:
//
//	LIVE_IDLE_CONNS=10000 go test -run '^$' -bench IdleConnMemory -benchtime 1x ./reference-app/live/
//
// It reports Go heap plus goroutine stacks per connection (go-B/conn), the
// process RSS growth per connection (rss-B/conn, without kernel socket
// buffers) and goroutines per connection.
func BenchmarkIdleConnMemory(b *testing.B) {
	n := 1000
	if s := os.Getenv("LIVE_IDLE_CONNS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n <= 0 {
			b.Fatalf("LIVE_IDLE_CONNS=%q: want a positive number", s)
		}
	}
	limit, err := raiseNoFile()
	if err != nil {
		b.Fatal(err)
	}
	if limit < uint64(n)+200 {
		b.Skipf("open-file limit %d is too low for %d connections", limit, n)
	}
	const roomSize = 100

	reg := prometheus.NewRegistry()
	hub := live.NewHub(live.Options{}, reg)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hub.ServeWS(w, r, strings.TrimPrefix(r.URL.Path, "/"))
	}))
	defer srv.Close()
	base := "ws" + strings.TrimPrefix(srv.URL, "http") + "/"
	var urls strings.Builder
	for i := range n {
		session := fmt.Sprintf("room-%d", i/roomSize)
		ticket, _, err := hub.Issue(session, fmt.Sprintf("user-%d", i), 0)
		if err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(&urls, "%s%s?ticket=%s\n", base, session, ticket)
	}
	urls.WriteString("\n")

	goBefore, rssBefore := memory()
	goroutinesBefore := runtime.NumGoroutine()

	child := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	child.Env = append(os.Environ(), "LIVE_HOLD_CLIENTS=1")
	child.Stderr = os.Stderr
	stdin, err := child.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := child.Start(); err != nil {
		b.Fatal(err)
	}
	defer child.Wait()
	defer stdin.Close()
	start := time.Now()
	if _, err := io.WriteString(stdin, urls.String()); err != nil {
		b.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		b.Fatalf("client process: %q %v", line, err)
	}
	connected := func() int {
		total := 0
		for r := 0; r*roomSize < n; r++ {
			total += hub.Members(fmt.Sprintf("room-%d", r))
		}
		return total
	}
	for deadline := time.Now().Add(time.Minute); connected() < n; {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d connections joined; slow disconnects %v, rejected %v, open %v", connected(), n,
				testutil.Sum(b, reg, "academy_ws_slow_client_disconnects_total", nil), testutil.Sum(b, reg, "academy_ws_rejected_total", nil), testutil.Sum(b, reg, "academy_ws_connections", nil))
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.Logf("%d connections in %v", n, time.Since(start))
	// Let the presence broadcasts of the joins drain, so the connections are idle.
	time.Sleep(2 * time.Second)
	goAfter, rssAfter := memory()
	goroutines := runtime.NumGoroutine() - goroutinesBefore

	perGo := float64(int64(goAfter)-int64(goBefore)) / float64(n)
	perRSS := float64(int64(rssAfter)-int64(rssBefore)) / float64(n)
	b.ReportMetric(perGo, "go-B/conn")
	b.ReportMetric(perRSS, "rss-B/conn")
	b.ReportMetric(float64(goroutines)/float64(n), "goroutines/conn")
	b.Logf("%d idle connections: Go heap+stacks %.0f B/conn, RSS %.0f B/conn, %d goroutines",
		n, perGo, perRSS, goroutines)

	stdin.Close()
	if err := hub.Shutdown(b.Context()); err != nil {
		b.Error(err)
	}
}
