// Package pgtemp starts a throwaway PostgreSQL cluster for tests and for a
// zero-configuration `academy serve`.
//
// Start finds initdb and postgres (in PATH or /usr/lib/postgresql/*/bin),
// initialises a cluster in a fresh temporary directory, starts it on a free
// loopback port with durability turned off for speed (fsync=off), waits until
// it accepts connections and creates the requested databases. When the
// process runs as root the cluster runs as the unprivileged `postgres` user,
// since PostgreSQL refuses to run as root. The postgres child carries
// Pdeathsig=SIGKILL so it never outlives its parent, and Cluster.Stop stops
// it and removes the directory with whatever a killed server leaves (Remove:
// its System V shared memory segment; dynamic shared memory is kept in files
// under the directory). A directory whose owners were killed before they
// could call Stop is removed by the next Start (SweepStale), with every
// process still working in it, stopped or not, and its shared memory. A
// cluster restarted in its directory after a kill clears the lock files of
// its dead postmaster, without waiting for it to be reaped.
package pgtemp
