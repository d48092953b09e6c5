// Package remote injects faults from another process: the faults' Injectors live in a
// child process, and the parent drives them over JSON-RPC (net/rpc/jsonrpc) on the child's
// stdin and stdout.
//
// loadgen uses it to keep the Kubernetes client libraries out of the binary that sends the
// load: on a target.kubernetes, loadgen starts `loadgen-kube chaos serve`, whose Serve
// resolves the faults with chaos/mesh, and the fault timeline (package chaos) calls the
// Injectors of Start's Client as it would call local ones.
//
// The child follows its parent's life: Serve returns when its input ends, which happens
// when the parent closes it (Client.Close) or dies, even by SIGKILL; before it returns it
// rolls back every fault that was injected and not rolled back. The parent's own rollback
// (the timeline's, on every way out of a run) comes first; the child's is the net for a
// parent that could not do it.
package remote
