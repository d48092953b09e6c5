// Command loadgen-kube is loadgen's Kubernetes side: what of loadgen links the Kubernetes
// client libraries (client-go, controller-runtime, the Kubernetes and Chaos Mesh API types),
// kept out of loadgen, the program that sends the load, so that loadgen stays small and
// lean in memory (the README's benchmarks: `loadgen version` peaks at about 19 MB of RSS
// instead of 36 MB with them linked, a run at 5000/s at about 37 MB instead of 53 MB).
//
// Users run loadgen: its commands k8s and chaos run loadgen-kube with the same arguments,
// and loadgen run on a target.kubernetes starts `loadgen-kube chaos serve` for its faults.
// loadgen looks for loadgen-kube beside its own executable, then on $PATH; `make build`
// puts both in bin/, `make install` both in $GOBIN, and the image (Dockerfile) both in
// /usr/local/bin. The commands (see `loadgen-kube --help`, and loadgen's doc):
//
//	loadgen-kube k8s render|apply [flags]        the academy's and the load's Kubernetes manifests
//	loadgen-kube chaos render FILE [flags]       a cluster scenario's faults as Chaos Mesh objects
//	loadgen-kube chaos cleanup (--run ID | --all) delete the Chaos Mesh objects a run left behind
//	loadgen-kube chaos serve [--rollback-timeout D]   (for loadgen run) inject a run's faults:
//	                                             JSON-RPC on stdin and stdout (package chaos/remote)
//
// chaos serve creates and deletes each Chaos Mesh object when its parent's fault timeline
// says so. It ignores SIGINT, SIGTERM and SIGHUP (loadgen gets them too and rolls back
// first); when its stdin ends, because loadgen is done or died (even by SIGKILL), it deletes
// every object still in place and exits. Only when both are killed is `loadgen chaos
// cleanup --run ID` needed (and the objects still expire after their duration).
//
// Exit codes: 0 done, 1 internal error (I/O, the cluster refused), 2 usage error or invalid
// scenario. loadgen passes them on.
package main
