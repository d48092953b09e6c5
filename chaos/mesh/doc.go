// Package mesh injects a scenario's faults into a Kubernetes cluster through Chaos Mesh.
//
// A scenario with target.kubernetes maps each logical fault target (edge, app, database,
// cache, a route) to a label selector of pods (scenarios.Kubernetes). Object renders each
// fault as a typed Chaos Mesh v1alpha1 object:
//
//	network.delay, .bandwidth, .loss, .corrupt  NetworkChaos delay, bandwidth, loss, corrupt
//	network.down                                NetworkChaos partition
//	process.kill                                PodChaos pod-kill
//	process.pause                               PodChaos pod-failure
//	http.abort, http.delay, http.status         HTTPChaos abort, delay (request), replace code (response)
//	stress.cpu, stress.memory                   StressChaos cpu, memory stressors
//	clock.skew                                  TimeChaos timeOffset
//	dns.error                                   DNSChaos error
//
// A network fault on the database or the cache is injected where the lab's proxy sits:
// between the app's pods (the selector) and the target's pods (the NetworkChaos target).
// process.pause is a pod-failure, not a container-kill: a pod-failure keeps the pod and
// stops it serving for the fault's duration, as SIGSTOP does in the lab; a container-kill
// is a kill that the kubelet undoes at once. Scenario mode/value scope the pods: one,
// all, fixed (a count), percent (fixed-percent).
//
// Every object carries spec.duration (so the faults of a harness that died still expire),
// the labels app.kubernetes.io/managed-by=loadlab, loadlab.dev/run=<run ID> and
// loadlab.dev/fault=<fault name>, and passes Chaos Mesh's own admission checks before it
// is sent. Resolver implements chaos.Resolver: the fault timeline (package chaos) creates
// each object at its offset and deletes it at its end, on abort, on a signal and on
// error, through a controller-runtime client. Cleanup deletes what a run left behind, by
// label (Chaos Mesh has no switch that stops every chaos at once). Workflow renders the
// whole timeline as one Chaos Mesh Workflow for the Chaos Dashboard.
package mesh
