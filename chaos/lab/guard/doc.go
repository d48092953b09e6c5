// Package guard is the lab's guardian: a small process, started by the lab before any
// other child, that outlives the harness by design and ends what the harness could not.
//
// The harness holds the write end of a pipe whose read end is the guardian's stdin. Over
// it the lab tells the guardian the process groups it started (`watch PGID`), the ones
// that have ended (`forget PGID`) and the directories it made (`dir PATH`). When the
// pipe reaches EOF, because the lab stopped or because the harness died, however it died
// (SIGKILL included: the kernel closes the pipe), the guardian sends SIGCONT then SIGKILL
// to every watched group and to the groups their members' descendants made for
// themselves, then removes every directory with the remover it was given (the academy
// passes one that also ends a PostgreSQL still running there and frees its shared
// memory), and exits.
//
// A parent-death signal is not enough on its own: it is not delivered to a process's
// children, and a stopped process (a paused fault) can't act on it; nothing else sends
// SIGCONT to a stopped process group in a session of its own. The guardian is what does.
package guard
