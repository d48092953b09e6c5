package academy

import (
	"context"
	"time"
)

// hashQueue bounds the bcrypt work of requests (registration and login):
// at most cap(slots) hashes run at once, and a request waits at most wait
// for a slot. A nil slots is no bound.
type hashQueue struct {
	slots chan struct{}
	wait  time.Duration // < 0: as long as the request's context allows
}

func newHashQueue(concurrency int, wait time.Duration) hashQueue {
	if concurrency < 0 {
		return hashQueue{}
	}
	return hashQueue{slots: make(chan struct{}, concurrency), wait: wait}
}

// run runs fn in a slot. It fails with an *OverloadError when no slot was
// free within the wait budget, and with an overloaded error wrapping the
// context's error when ctx ended first; fn does not run then.
func (q hashQueue) run(ctx context.Context, fn func()) error {
	if q.slots == nil {
		fn()
		return nil
	}
	select {
	case q.slots <- struct{}{}:
	default:
		var expired <-chan time.Time
		if q.wait >= 0 {
			t := time.NewTimer(q.wait)
			defer t.Stop()
			expired = t.C
		}
		select {
		case q.slots <- struct{}{}:
		case <-expired:
			return &OverloadError{Queue: QueueHash, Wait: q.wait}
		case <-ctx.Done():
			return &Error{Kind: KindUnavailable, Code: ErrOverloaded.Code, Message: "request ended while waiting for a password hashing slot", Err: ctx.Err()}
		}
	}
	defer func() { <-q.slots }()
	fn()
	return nil
}
