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
// a search: ILIKE over 500 courses, counted) by 2, 4, 8, 12 and 16 concurrent readers for
// one second each, on the primary alone and spread over two streaming replicas, the two
// set-ups in turn at each level, in one run. The bound is the p99 of the primary alone with
// 8 readers; each set-up's figure is the most reads/s it served with a p99 within that bound,
// and throughput-ratio-same-p99 is 2 replicas' over 0 replicas'. It also reports both at 8
// readers (reads/s, p99, their ratio): figures, not assertions. On one machine the replicas
// share its cores with the primary, so the ratio shows what the routing costs or gains there,
// not the capacity that replicas on their own machines add.
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
	// measure runs c readers for a second and returns their reads/s and p99.
	measure := func(db *postgres.DB, c int) (float64, time.Duration) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		var lat []time.Duration
		end := time.Now().Add(time.Second)
		for range c {
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
		slices.Sort(lat)
		return float64(len(lat)), lat[len(lat)*99/100]
	}
	levels := []int{2, 4, 8, 12, 16}
	const reference = 8 // the concurrency whose p99 on the primary alone is the bound
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ResetTimer()
	for range b.N {
		type point struct {
			rate float64
			p99  time.Duration
		}
		var zero, two []point
		for _, c := range levels { // the set-ups in turn at each level
			r, p := measure(plain, c)
			zero = append(zero, point{r, p})
			r, p = measure(spread, c)
			two = append(two, point{r, p})
		}
		ref := slices.Index(levels, reference)
		bound := zero[ref].p99
		best := func(ps []point) float64 { // the most reads/s with a p99 within the bound
			top := 0.0
			for _, p := range ps {
				if p.p99 <= bound {
					top = max(top, p.rate)
				}
			}
			return top
		}
		b.ReportMetric(zero[ref].rate, "reads/s-0-replicas")
		b.ReportMetric(two[ref].rate, "reads/s-2-replicas")
		b.ReportMetric(ms(zero[ref].p99), "p99-ms-0-replicas")
		b.ReportMetric(ms(two[ref].p99), "p99-ms-2-replicas")
		b.ReportMetric(two[ref].rate/zero[ref].rate, "throughput-ratio-same-concurrency")
		b.ReportMetric(best(two)/best(zero), "throughput-ratio-same-p99")
	}
}
