package proxy_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/trendtactics/loadlab/chaos/proxy"
)

func Example() {
	// An upstream: a server that says hello.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, "hello")
			_ = c.Close()
		}
	}()

	p, err := proxy.New("db", "127.0.0.1:0", []string{ln.Addr().String()},
		proxy.WithRegisterer(prometheus.NewRegistry()), proxy.WithSeed(42))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := p.Start(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()

	name, _ := p.AddToxic(proxy.ToxicSpec{Kind: proxy.KindLatency, Latency: 20 * time.Millisecond, Jitter: 5 * time.Millisecond})
	fmt.Printf("%s: %+v\n", name, p.Toxics()[0].Direction)

	c, _ := net.Dial("tcp", p.Addr())
	start := time.Now()
	b, _ := io.ReadAll(c)
	_ = c.Close()
	fmt.Println(string(b), time.Since(start) >= 15*time.Millisecond)

	_ = p.RemoveToxic(name)
	fmt.Println(len(p.Toxics()))
	// Output:
	// latency-1: downstream
	// hello true
	// 0
}
