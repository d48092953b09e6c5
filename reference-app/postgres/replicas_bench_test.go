package postgres_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/reference-app/academy"
	"github.com/trendtactics/loadlab/reference-app/postgres"
	"github.com/trendtactics/loadlab/reference-app/postgres/pgtemp"
)

// BenchmarkCatalogReadsReplicas measures uncached catalog reads (a page of courses matching
// a search: ILIKE over 500 courses, counted) by 8 concurrent readers for one second at a
// time, with the reads on the primary alone and spread over two streaming replicas, the
// two set-ups taken in turn (three rounds each) in one run. It reports each set-up's reads/s
// and p99, and their ratios (2 replicas / 0 replicas): figures, not assertions. On one
// machine the replicas share its cores with the primary, so the ratio shows what the routing
// costs or gains there, not the capacity that replicas on their own machines add.
func BenchmarkCatalogReadsReplicas(b *testing.B) {
	ctx := context.Background()
	primary := cluster.NewDatabase(b)
	var replicas []string
	for _, name := range []string{"bench-1", "bench-2"} {
		s, err := cluster.StartStandby(ctx, name, pgtemp.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Stop() })
		replicas = append(replicas, s.URL(databaseName(b, primary)))
	}
	plain, err := postgres.Open(ctx, []string{primary}, postgres.Options{MaxConns: 8, QueueWait: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer plain.Close()
	svc, err := academy.NewService(plain, nil, academy.Options{Secret: []byte("0123456789abcdef0123")})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.Seed(ctx, academy.Principal{Role: academy.RoleAdmin}, academy.SeedSpec{Users: 10, Courses: 500, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	spread, err := postgres.Open(ctx, []string{primary}, postgres.Options{MaxConns: 8, QueueWait: -1,
		ReplicaURLs: [][]string{replicas}})
	if err != nil {
		b.Fatal(err)
	}
	defer spread.Close()
	filter := academy.CourseFilter{Query: "go", Limit: 20}
	// Both replicas have the seed (each serves a read that finds the courses).
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		before := spread.ReplicaReads()
		p1, err1 := spread.ListCourses(ctx, filter)
		p2, err2 := spread.ListCourses(ctx, filter)
		if err1 == nil && err2 == nil && p1.Total > 0 && p2.Total > 0 && spread.ReplicaReads() == before+2 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the replicas never served the seeded catalog")
		}
	}
	measure := func(db *postgres.DB) (n int, lat []time.Duration) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		end := time.Now().Add(time.Second)
		for range 8 {
			wg.Go(func() {
				var mine []time.Duration
				for time.Now().Before(end) {
					start := time.Now()
					if _, err := db.ListCourses(ctx, filter); err != nil {
						b.Error(err)
						return
					}
					mine = append(mine, time.Since(start))
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
		}
		wg.Wait()
		return len(lat), lat
	}
	b.ResetTimer()
	for range b.N {
		var n0, n2 int
		var l0, l2 []time.Duration
		for range 3 {
			n, l := measure(plain)
			n0, l0 = n0+n, append(l0, l...)
			n, l = measure(spread)
			n2, l2 = n2+n, append(l2, l...)
		}
		p99 := func(l []time.Duration) float64 {
			slices.Sort(l)
			return float64(l[len(l)*99/100].Microseconds()) / 1000
		}
		b.ReportMetric(float64(n0)/3, "reads/s-0-replicas")
		b.ReportMetric(float64(n2)/3, "reads/s-2-replicas")
		b.ReportMetric(p99(l0), "p99-ms-0-replicas")
		b.ReportMetric(p99(l2), "p99-ms-2-replicas")
		b.ReportMetric(float64(n2)/float64(n0), "throughput-ratio")
		b.ReportMetric(p99(l2)/p99(l0), "p99-ratio")
	}
}
