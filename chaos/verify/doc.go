// Package verify checks the academy's data after a run, as Jepsen's set checker does.
//
// The engine records every write of the run (loadgen.WriteLog: the requests marked
// `write: enrollment`, each with its Idempotency-Key, the user — the "sub" claim of its bearer
// token — its URL path and its outcome ok, failed or unknown). After the faults have healed
// and the service answers /readyz again (WaitReady), Check reads the state back from the
// database (the lab's, or --verify-database) and compares:
//
//   - enrollments-durable, per (user, course) pair taken from the writes (the course is the
//     slug in /v1/courses/{course}/enrollments):
//     lost = writes acknowledged (2xx) whose pair has no seat claim;
//     unexpected = seat claims of the run's users (created since the run started) for a pair
//     never attempted, or whose every attempt failed definitely (4xx);
//     recovered = pairs whose attempts were all unknown (time-out, reset, 5xx) and that are present;
//     duplicated = more than one claim or enrollment row for a pair, or one idempotency key on
//     more than one claim. Only lost, unexpected and duplicated fail the check.
//   - seats-never-oversold, over every course: seats_taken ≤ capacity and
//     seats_taken = the number of seat claims (the counter never drifts from the ledger).
//   - progress-monotonic: the academy keeps no history of progress, so what can truly be
//     checked is the final state: percent within 0..100, completed_at set exactly when percent
//     is 100 (completion is never undone and never set early), completed_at ≤ updated_at.
//
// The truth lives in the catalog shard's seat_claims (course_id, user_id, idempotency_key) and
// courses (capacity, seats_taken), and in the user shard's enrollments and lesson_progress; the
// lab runs one shard, so one database URL holds all of them.
package verify
