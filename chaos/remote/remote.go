package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/rpc"
	"net/rpc/jsonrpc"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/trendtactics/loadlab/chaos"
	"github.com/trendtactics/loadlab/scenarios"
)

// OpenArgs is what the child needs to resolve a scenario's faults: the scenario's name and
// its cluster target. The faults themselves come one by one (Resolve).
type OpenArgs struct {
	Name       string
	Kubernetes *scenarios.Kubernetes
}

// OpenReply is what the child tells about the faults it will inject: the run ID its
// objects are labelled with, and the label's key.
type OpenReply struct {
	Run   string
	Label string
}

// CallArgs names an Injector of the child (its index, from Resolve) and how long the call
// may take there (0: no limit).
type CallArgs struct {
	ID      int
	Timeout time.Duration
}

// Opener makes the child's Resolver for a scenario (chaos/mesh's, in loadgen-kube).
type Opener func(a OpenArgs) (chaos.Resolver, OpenReply, error)

// service is what the child serves. Its methods are called by net/rpc, concurrently.
type service struct {
	open Opener

	mu       sync.Mutex
	resolver chaos.Resolver
	inj      []chaos.Injector
	live     map[int]bool // injected (or being injected) and not rolled back
}

// Open makes the Resolver; once per connection.
func (s *service) Open(a OpenArgs, reply *OpenReply) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.resolver != nil {
		return errors.New("the faults are open already")
	}
	if a.Kubernetes == nil {
		return fmt.Errorf("scenario %s has no kubernetes target", a.Name)
	}
	r, rep, err := s.open(a)
	if err != nil {
		return err
	}
	s.resolver, *reply = r, rep
	return nil
}

// Resolve resolves a fault and returns its Injector's index.
func (s *service) Resolve(f scenarios.Fault, id *int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.resolver == nil {
		return errors.New("the faults are not open")
	}
	inj, err := s.resolver.Resolve(&f)
	if err != nil {
		return err
	}
	s.inj = append(s.inj, inj)
	*id = len(s.inj) - 1
	return nil
}

func (s *service) injector(id int) (chaos.Injector, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id < 0 || id >= len(s.inj) {
		return nil, fmt.Errorf("no injector %d", id)
	}
	return s.inj[id], nil
}

func callContext(timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout > 0 {
		return context.WithTimeout(context.Background(), timeout)
	}
	return context.WithCancel(context.Background())
}

// Inject injects a fault. It counts as live from before the call: an object created by
// a call whose answer was lost is still rolled back at the end.
func (s *service) Inject(a CallArgs, _ *struct{}) error {
	inj, err := s.injector(a.ID)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.live[a.ID] = true
	s.mu.Unlock()
	ctx, cancel := callContext(a.Timeout)
	defer cancel()
	return inj.Inject(ctx)
}

// Rollback rolls a fault back.
func (s *service) Rollback(a CallArgs, _ *struct{}) error {
	inj, err := s.injector(a.ID)
	if err != nil {
		return err
	}
	ctx, cancel := callContext(a.Timeout)
	defer cancel()
	if err := inj.Rollback(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.live, a.ID)
	s.mu.Unlock()
	return nil
}

// pipeConn is a connection made of a reader and a writer; Close closes the writer, if it
// can be closed, and leaves the reader to end by itself.
type pipeConn struct {
	io.Reader
	io.Writer
}

func (c pipeConn) Close() error {
	if wc, ok := c.Writer.(io.Closer); ok {
		return wc.Close()
	}
	return nil
}

// Serve answers the parent's calls read from r, writing the answers to w, until r ends.
// Then it rolls back every fault still live, newest first, each within rollbackTimeout
// (errors go to log: there is nobody else to tell), and returns.
func Serve(r io.Reader, w io.Writer, open Opener, rollbackTimeout time.Duration, log io.Writer) error {
	s := &service{open: open, live: map[int]bool{}}
	srv := rpc.NewServer()
	if err := srv.RegisterName("Faults", s); err != nil {
		return err
	}
	// ServeCodec returns once r has ended and every call has been answered.
	srv.ServeCodec(jsonrpc.NewServerCodec(pipeConn{r, w}))
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := len(s.inj) - 1; id >= 0; id-- {
		if !s.live[id] {
			continue
		}
		ctx, cancel := callContext(rollbackTimeout)
		if err := s.inj[id].Rollback(ctx); err != nil {
			fmt.Fprintf(log, "roll back after the parent has gone: %v\n", err)
		}
		cancel()
	}
	return nil
}

// Client is the parent's end of a child that serves the faults of one scenario: a
// chaos.Resolver whose Injectors call the child. Safe for concurrent use.
type Client struct {
	rpc   *rpc.Client
	cmd   *exec.Cmd
	stdin *os.File // the parent's end of the child's stdin
	out   *os.File // the parent's end of the child's stdout
	once  sync.Once
	err   error
}

var _ chaos.Resolver = (*Client)(nil)

// Start starts cmd (a program that calls Serve on its stdin and stdout; cmd.Stdin and
// cmd.Stdout must be nil, cmd.Stderr is the caller's) and opens the faults of spec in it.
// On error the child is stopped again.
func Start(ctx context.Context, cmd *exec.Cmd, spec *scenarios.Spec) (*Client, OpenReply, error) {
	var reply OpenReply
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, reply, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, reply, err
	}
	cmd.Stdin, cmd.Stdout = inR, outW
	err = cmd.Start()
	inR.Close() // the child's ends: the child holds them now
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, reply, err
	}
	c := &Client{cmd: cmd, stdin: inW, out: outR}
	// The client's reading goroutine ends when the child's stdout ends (the child exits).
	c.rpc = rpc.NewClientWithCodec(jsonrpc.NewClientCodec(pipeConn{outR, inW}))
	if err := c.call(ctx, "Faults.Open", OpenArgs{Name: spec.Name, Kubernetes: spec.Target.Kubernetes}, &reply); err != nil {
		_ = c.Close()
		return nil, reply, err
	}
	return c, reply, nil
}

// call calls the child; an error the child returned comes back with its message.
// When ctx ends first, call returns at once and the child finishes the call by itself.
func (c *Client) call(ctx context.Context, method string, args, reply any) error {
	call := c.rpc.Go(method, args, reply, make(chan *rpc.Call, 1))
	select {
	case <-call.Done:
		var se rpc.ServerError
		if errors.As(call.Error, &se) {
			return errors.New(string(se))
		}
		if call.Error != nil {
			return fmt.Errorf("%s: %w (did %s exit?)", method, call.Error, c.cmd.Path)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Resolve resolves f in the child.
func (c *Client) Resolve(f *scenarios.Fault) (chaos.Injector, error) {
	var id int
	if err := c.call(context.Background(), "Faults.Resolve", f, &id); err != nil {
		return nil, err
	}
	return &injector{c: c, id: id}, nil
}

// Close ends the connection: the child rolls back what is still injected and exits.
// Close waits for it and returns its error (an exit status), the same on every call.
func (c *Client) Close() error {
	c.once.Do(func() {
		c.stdin.Close()
		c.err = c.cmd.Wait()
		c.out.Close()
	})
	return c.err
}

// injector is an Injector of the child.
type injector struct {
	c  *Client
	id int
}

func (in *injector) args(ctx context.Context) CallArgs {
	a := CallArgs{ID: in.id}
	if d, ok := ctx.Deadline(); ok {
		a.Timeout = max(time.Until(d), time.Millisecond)
	}
	return a
}

func (in *injector) Inject(ctx context.Context) error {
	return in.c.call(ctx, "Faults.Inject", in.args(ctx), &struct{}{})
}

func (in *injector) Rollback(ctx context.Context) error {
	return in.c.call(ctx, "Faults.Rollback", in.args(ctx), &struct{}{})
}
