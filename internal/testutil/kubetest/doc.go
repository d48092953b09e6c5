// Package kubetest runs a real Kubernetes API server for tests: etcd and kube-apiserver as
// child processes on free loopback ports, with their data in a temporary directory, killed if
// the test binary dies (parent-death signal) and stopped when the tests end. There is no
// controller manager, scheduler or kubelet: objects are validated, stored, watched and deleted,
// but no pod runs and no controller acts on them.
//
// One server per test package: call Main from TestMain and every Start returns the same
// server, started on the first call and stopped after the last test. Without Main, Start starts
// a server for the one test (about 2 s) and stops it when the test ends.
//
//	func TestMain(m *testing.M) { os.Exit(kubetest.Main(m)) }
//
//	func TestX(t *testing.T) {
//		s := kubetest.Start(t)
//		s.InstallCRDs(t, "../../deploy/crds/chaos-mesh")
//		c, _ := kubernetes.NewForConfig(s.Config) // or controller-runtime's client.New
//		ns := s.Namespace(t)
//		...
//	}
//
// The binaries: $KUBE_APISERVER, else the cache that scripts/kube-apiserver.sh fills
// ($KUBE_APISERVER_CACHE, else ${XDG_CACHE_HOME:-$HOME/.cache}/loadlab, file
// kube-apiserver-<Version>), else kube-apiserver on PATH; $ETCD, else etcd on PATH (Debian:
// apt-get install etcd-server). When one is missing the test is skipped, saying so, unless
// KUBETEST_REQUIRED is set (as .ci/run does): then it fails.
package kubetest
