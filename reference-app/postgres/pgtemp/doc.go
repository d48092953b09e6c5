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
// it and removes the directory. A directory whose owner was killed before
// it could call Stop is removed by the next Start (SweepStale).
package pgtemp
