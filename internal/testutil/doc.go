// Package testutil holds the helpers that the tests of several packages share, written once:
//
//   - Golden compares rendered output with a file in testdata/ and rewrites it with
//     `go test -update` (the one -update flag, registered here);
//   - StartRedis starts a throwaway redis-server on a loopback port;
//   - PostgreSQL clusters are started by its subpackage pgtest (kept apart so that the
//     tests that need no database do not depend on the database packages);
//   - a real Kubernetes API server (etcd and kube-apiserver) by its subpackage kubetest;
//   - Sum and Value read a series of a Prometheus registry by its labels, what
//     github.com/prometheus/client_golang/prometheus/testutil lacks (it reads a single
//     collector, or compares whole families); use that package where it fits;
//   - StartLine starts a child process and reads the first line it writes;
//   - Get sends a GET and reads the whole answer;
//   - Buffer is a bytes.Buffer safe for a child process's output read by the test;
//   - ProcState, Running, SharedMemory and PostmasterLock read from /proc what the tests
//     of "nothing is left behind" look for: a process's state, a shared memory segment,
//     a PostgreSQL server's pid and segment.
//
// It is imported by tests only (it imports testing).
package testutil
