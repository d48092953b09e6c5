// Package chaos runs a scenario's faults on a schedule and always takes them back.
//
// A fault (scenarios.Fault) becomes an Injector: something that can start the fault and
// roll it back. Where the Injector comes from depends on the target: the local lab
// (chaos/lab) turns network faults into proxy toxics, process faults into signals to its
// children and HTTP faults into calls to the academy's admin API; Kubernetes (chaos/mesh,
// later) turns them into Chaos Mesh objects.
//
// A Timeline starts each fault at its offset from the run start and rolls it back after its
// duration. Every start and end is an Event. Whatever way a run ends (the schedule is done,
// the context is cancelled by Ctrl-C or an abortOnFail threshold, an injector fails), Run
// rolls back every fault it started before it returns; Rollback may be called again at any
// time and is idempotent, for a second Ctrl-C or a deferred cleanup.
package chaos
