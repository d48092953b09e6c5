package cluster

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// NewServer returns the HTTP server of a coordinator's channel: HTTP/2 only, over TLS
// when tlsConf is set, else HTTP/2 without TLS (prior knowledge, for loopback and trusted
// networks). Serve it with Serve or ServeTLS("", "") on a listener.
func NewServer(h http.Handler, tlsConf *tls.Config) *http.Server {
	var p http.Protocols
	if tlsConf != nil {
		p.SetHTTP2(true)
	} else {
		p.SetUnencryptedHTTP2(true)
	}
	return &http.Server{Handler: h, Protocols: &p, TLSConfig: tlsConf, ReadHeaderTimeout: 10 * time.Second}
}

// NewToken returns a random token for a run whose workers this process starts.
func NewToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail
	return hex.EncodeToString(b)
}

// Processes are worker processes this process started: the local form of a distributed
// run (`loadgen run --workers N`). Safe for concurrent use.
type Processes struct {
	cmds   []*exec.Cmd
	exited []chan struct{}
}

// StartProcesses starts cmds; when one fails to start, the started ones are killed.
func StartProcesses(cmds []*exec.Cmd) (*Processes, error) {
	p := &Processes{}
	for i, c := range cmds {
		if err := c.Start(); err != nil {
			p.Kill()
			p.Wait(0)
			return nil, fmt.Errorf("start worker %d: %w", i, err)
		}
		ch := make(chan struct{})
		p.cmds, p.exited = append(p.cmds, c), append(p.exited, ch)
		go func() { // ends when the process has exited
			_ = c.Wait()
			close(ch)
		}()
	}
	return p, nil
}

// Signal sends sig to worker i.
func (p *Processes) Signal(i int, sig os.Signal) error { return p.cmds[i].Process.Signal(sig) }

// Kill kills every worker process at once.
func (p *Processes) Kill() {
	for _, c := range p.cmds {
		_ = c.Process.Signal(syscall.SIGKILL)
	}
}

// Wait waits up to grace for every worker to exit (they do once their coordinator has
// finished with them, or lost it), then kills those left and waits for them.
func (p *Processes) Wait(grace time.Duration) {
	t := time.NewTimer(grace)
	defer t.Stop()
	for _, ch := range p.exited {
		select {
		case <-ch:
		case <-t.C:
			p.Kill()
			<-ch
		}
	}
}

// Exited reports whether worker i has exited.
func (p *Processes) Exited(i int) bool {
	select {
	case <-p.exited[i]:
		return true
	default:
		return false
	}
}

// ListenLocal listens on a free loopback port for the local form.
func ListenLocal() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
