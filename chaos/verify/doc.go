// Package verify checks the academy's data after a run, as Jepsen's set checker does.
//
// The engine records every write of the run (result.WriteLog: the requests marked
// `write: enrollment`, each with its Idempotency-Key, the user — the "sub" claim of its bearer
// token — its URL path and its outcome ok, failed or unknown). After the faults have healed
// and the service answers /readyz again (WaitReady), Check reads the state back from the
// database (the lab's, or --verify-database) and compares:
//
//   - enrollments-durable, per (user, course) pair taken from the writes (the course is the
//     slug or id in /v1/courses/{course}/enrollments), over the rows of the run's users:
//     lost = writes acknowledged (2xx) whose pair has no seat claim;
//     unexpected = pairs with a seat claim made during the run (not before its start, less a
//     second of clock slack) that no write explains: never attempted, or every attempt
//     failed definitely (4xx); a claim made before the run is never the run's doing;
//     recovered = pairs whose attempts had no 2xx and at least one unknown outcome
//     (time-out, reset, 5xx), and that are present;
//     duplicated = more than one claim or enrollment row for a pair, or one idempotency key
//     of a user on more than one claim. Only lost, unexpected and duplicated fail the check.
//     When the write log dropped writes (Input.Unrecorded), an unrecorded write may explain
//     any claim: none is counted unexpected, and Detail says how many were not judged.
//   - seats-never-oversold, over every course: seats_taken ≤ capacity and
//     seats_taken = the number of seat claims (the counter never drifts from the ledger).
//   - progress-monotonic: the academy keeps no history of progress, so what can truly be
//     checked is the final state: percent within 0..100, completed_at set exactly when percent
//     is 100 (completion is never undone and never set early), completed_at ≤ updated_at.
//   - reads-see-own-writes, over the read-backs (requests marked `read: enrollment`, GET
//     /v1/courses/{course}/enrollment, recorded in the same log with Read set): a read sent
//     after its author's enrollment in that course was acknowledged (the 2xx answer had come,
//     Write.Done) is judged; 200 saw the write, 404 is stale (fails, like a lost write), other
//     answers are not judged; no judged read at all fails too (nothing was proved). A pure
//     function of the log, OwnReads: no database needed.
//
// The classification is a pure function, Enrollments, of the recorded writes and the rows
// read back (State: plain Go values); Check only reads the rows and calls it, so every
// outcome is tested without a database, and the SQL against a real PostgreSQL.
//
// The truth lives in the catalog shard's seat_claims (course_id, user_id, idempotency_key) and
// courses (capacity, seats_taken), and in the user shard's enrollments and lesson_progress; the
// lab runs one shard, so one database URL holds all of them.
package verify
