package kubetest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Version is the kube-apiserver version that scripts/kube-apiserver.sh builds by default and
// that Start looks for in the cache.
const Version = "1.34.4"

// startTimeout bounds the start of etcd and of the API server (a loaded machine is slow).
const startTimeout = 90 * time.Second

// Server is a running etcd and kube-apiserver.
type Server struct {
	// Config reaches the API server as a member of system:masters (a bearer token; the
	// server's self-signed certificate is trusted).
	Config *rest.Config
	// Kubeconfig is the path of a kubeconfig file with the same credentials (context
	// "kubetest"), for programs the test runs.
	Kubeconfig string
	// URL is the API server's address, https://127.0.0.1:PORT.
	URL string

	dir       string
	etcd, api *proc
	n         atomic.Int64
}

// proc is a child process; done is closed when it has exited.
type proc struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

var shared struct {
	main bool // Main runs the tests: Start shares one server
	once sync.Once
	s    *Server
	err  error
}

// Main is the body of a TestMain whose tests share one server: it runs the tests, then stops
// the server if a test started it, and returns the exit code for os.Exit.
func Main(m *testing.M) int {
	shared.main = true
	code := m.Run()
	if shared.s != nil {
		shared.s.Stop()
	}
	return code
}

// ErrNotInstalled is wrapped by the error of a start without the binaries.
var ErrNotInstalled = errors.New("kubetest: binaries not installed")

// Start returns the package's server (with Main) or starts one for the test (without). The
// test is skipped when the binaries are missing, or fails if KUBETEST_REQUIRED is set.
func Start(t testing.TB) *Server {
	t.Helper()
	var s *Server
	var err error
	if shared.main {
		shared.once.Do(func() { shared.s, shared.err = start() })
		s, err = shared.s, shared.err
	} else {
		s, err = start()
		if s != nil {
			t.Cleanup(s.Stop)
		}
	}
	check(t, err)
	return s
}

// check skips the test when the binaries are missing (unless KUBETEST_REQUIRED is set), and
// fails it on any other error.
func check(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, ErrNotInstalled) && os.Getenv("KUBETEST_REQUIRED") == "" {
		t.Skip(err)
	} else if err != nil {
		t.Fatal(err)
	}
}

// Binaries returns the paths of kube-apiserver and etcd (see the package comment for where
// they are looked for); the error wraps ErrNotInstalled.
func Binaries() (apiserver, etcd string, err error) {
	apiserver, err = findAPIServer()
	if err != nil {
		return "", "", err
	}
	etcd, err = find("ETCD", "", "etcd", "apt-get install etcd-server")
	return apiserver, etcd, err
}

// CacheDir is where scripts/kube-apiserver.sh keeps the binaries it builds.
func CacheDir() string {
	if d := os.Getenv("KUBE_APISERVER_CACHE"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		d = os.TempDir()
	}
	return filepath.Join(d, "loadlab")
}

func findAPIServer() (string, error) {
	return find("KUBE_APISERVER", filepath.Join(CacheDir(), "kube-apiserver-"+Version), "kube-apiserver", "scripts/kube-apiserver.sh builds it (about 4 minutes)")
}

// find returns the binary named by the environment variable env, else cached (if not ""
// and present), else name on PATH.
func find(env, cached, name, hint string) (string, error) {
	if p := os.Getenv(env); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%w: $%s: %v", ErrNotInstalled, env, err)
		}
		return p, nil
	}
	if cached != "" {
		if _, err := os.Stat(cached); err == nil {
			return cached, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		where := "$" + env
		if cached != "" {
			where += ", " + cached
		}
		return "", fmt.Errorf("%w: %s is not in %s or on PATH (%s)", ErrNotInstalled, name, where, hint)
	}
	return p, nil
}

// startAttempts bounds the starts of start: a port chosen free can be taken by another
// process (the tests of other packages run beside these) before etcd or the API server
// binds it; such a start is tried again on new ports.
const startAttempts = 5

// pickPorts chooses the ports of a start (freePorts; a test takes one of them first).
var pickPorts = freePorts

// start starts etcd and the API server and waits until the server is ready, on new ports
// when a child found its port taken.
func start() (*Server, error) {
	var err error
	for range startAttempts {
		var s *Server
		if s, err = startOnce(); err == nil || !strings.Contains(err.Error(), "address already in use") {
			return s, err
		}
	}
	return nil, err
}

// startOnce starts etcd and the API server on free ports and waits until the server is ready.
func startOnce() (_ *Server, err error) {
	apiserver, etcd, err := Binaries()
	if err != nil {
		return nil, err
	}
	sweep()
	dir, err := os.MkdirTemp("", "kubetest-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir}
	if err := os.WriteFile(filepath.Join(dir, "owner"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	ports, err := pickPorts(3)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()

	client := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	peer := "http://127.0.0.1:" + strconv.Itoa(ports[1])
	s.etcd, err = s.run(etcd, "etcd",
		"--name=kubetest", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+client, "--advertise-client-urls="+client,
		"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer,
		"--initial-cluster=kubetest="+peer, "--log-level=warn")
	if err != nil {
		return nil, err
	}
	if err := s.wait(ctx, s.etcd, "etcd", func() error {
		return get(ctx, http.DefaultClient, client+"/health", "")
	}); err != nil {
		return nil, err
	}

	token := rand.Text()
	if err := os.WriteFile(filepath.Join(dir, "tokens.csv"), []byte(token+",admin,admin,system:masters\n"), 0o600); err != nil {
		return nil, err
	}
	if err := writeKeyPair(filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub")); err != nil {
		return nil, err
	}
	s.URL = "https://127.0.0.1:" + strconv.Itoa(ports[2])
	certs := filepath.Join(dir, "certs")
	s.api, err = s.run(apiserver, "kube-apiserver",
		"--etcd-servers="+client, "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(ports[2]), "--cert-dir="+certs,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+filepath.Join(dir, "sa.pub"),
		"--service-account-signing-key-file="+filepath.Join(dir, "sa.key"),
		"--token-auth-file="+filepath.Join(dir, "tokens.csv"),
		"--authorization-mode=RBAC", "--service-cluster-ip-range=10.0.0.0/24",
		"--allow-privileged=true", "--v=0")
	if err != nil {
		return nil, err
	}
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if err := s.wait(ctx, s.api, "kube-apiserver", func() error {
		return get(ctx, insecure, s.URL+"/readyz", token)
	}); err != nil {
		return nil, err
	}

	// The server's certificate file holds its certificate and the self-signed CA that signed it.
	ca, err := os.ReadFile(filepath.Join(certs, "apiserver.crt"))
	if err != nil {
		return nil, err
	}
	s.Config = &rest.Config{Host: s.URL, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: ca}, QPS: 200, Burst: 400}
	s.Kubeconfig = filepath.Join(dir, "kubeconfig")
	kc := clientcmdapi.NewConfig()
	kc.Clusters["kubetest"] = &clientcmdapi.Cluster{Server: s.URL, CertificateAuthorityData: ca}
	kc.AuthInfos["kubetest"] = &clientcmdapi.AuthInfo{Token: token}
	kc.Contexts["kubetest"] = &clientcmdapi.Context{Cluster: "kubetest", AuthInfo: "kubetest", Namespace: "default"}
	kc.CurrentContext = "kubetest"
	if err := clientcmd.WriteToFile(*kc, s.Kubeconfig); err != nil {
		return nil, err
	}
	return s, nil
}

// sweep removes the data directories of servers whose test binary died without stopping
// them (killed, or timed out): its processes died with it, its directory did not.
func sweep() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "kubetest-*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "owner"))
		if err != nil {
			continue // being created, or not ours
		}
		pid, err := strconv.Atoi(string(b))
		if err == nil && pid > 0 && errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			_ = os.RemoveAll(d)
		}
	}
}

// run starts a child with its output in DIR/name.log, killed if the test binary dies.
func (s *Server) run(bin, name string, args ...string) (*proc, error) {
	p := &proc{log: filepath.Join(s.dir, name+".log"), done: make(chan struct{})}
	f, err := os.Create(p.log)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("kubetest: %s: %w", name, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	return p, nil
}

// wait polls ready until it succeeds, the child exits or ctx ends; its error holds the end
// of the child's log.
func (s *Server) wait(ctx context.Context, p *proc, name string, ready func() error) error {
	for {
		err := ready()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kubetest: %s not ready within %s (%v); its log ends:\n%s", name, startTimeout, err, tail(p.log))
		case <-p.done:
			return fmt.Errorf("kubetest: %s exited (%v); its log ends:\n%s", name, p.cmd.ProcessState, tail(p.log))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop stops the API server and etcd and removes their data.
func (s *Server) Stop() {
	for _, p := range []*proc{s.api, s.etcd} {
		if p == nil {
			continue
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	s.api, s.etcd = nil, nil
	_ = os.RemoveAll(s.dir)
}

// Namespace creates a namespace of its own for the test (kt-1, kt-2, ...) and returns its
// name. It is not deleted: without a controller manager a deleted namespace never finishes
// terminating, and the server's data go when it stops.
func (s *Server) Namespace(t testing.TB) string {
	t.Helper()
	c, err := kubernetes.NewForConfig(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	name := "kt-" + strconv.FormatInt(s.n.Add(1), 10)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := c.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return name
}

func get(ctx context.Context, c *http.Client, url, token string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// freePorts returns n distinct free loopback ports (held open together while chosen).
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// writeKeyPair writes an RSA key (PKCS#1 PEM) and its public key (PKIX PEM), with which the
// API server signs and checks service-account tokens.
func writeKeyPair(keyFile, pubFile string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644)
}

// tail returns the last lines of a log file.
func tail(file string) string {
	b, _ := os.ReadFile(file)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}
