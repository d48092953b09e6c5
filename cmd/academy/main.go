package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, hurry, stop := signals()
	code := run(withHurry(ctx, hurry), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// signals returns a context cancelled by the first SIGINT or SIGTERM and a channel closed by
// a second SIGINT (a second Ctrl-C: hurry). Every later signal is handled too, and changes
// nothing more: the default action, death before the clean-up, is never restored. A
// parent-death SIGTERM can come twice a few milliseconds apart, and `academy postgres`
// must still stop its server and remove its directory. The relay goroutine ends at stop.
func signals() (context.Context, <-chan struct{}, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	hurry := make(chan struct{})
	c := make(chan os.Signal, 8)
	signal.Notify(c, os.Interrupt, syscall.SIGTERM)
	quit := make(chan struct{})
	go func() {
		first, hurried := true, false
		for {
			select {
			case sig := <-c:
				switch {
				case first:
					first = false
					cancel()
				case sig == os.Interrupt && !hurried:
					hurried = true
					close(hurry)
				}
			case <-quit:
				return
			}
		}
	}()
	return ctx, hurry, func() { signal.Stop(c); close(quit); cancel() }
}

type hurryKey struct{}

// withHurry attaches to ctx the channel that a second Ctrl-C closes.
func withHurry(ctx context.Context, hurry <-chan struct{}) context.Context {
	return context.WithValue(ctx, hurryKey{}, hurry)
}

// hurried returns the channel that a second Ctrl-C closes (nil, never closed, in tests
// that call run directly).
func hurried(ctx context.Context) <-chan struct{} {
	h, _ := ctx.Value(hurryKey{}).(<-chan struct{})
	return h
}
