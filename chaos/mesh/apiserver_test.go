package mesh_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/trendtactics/loadlab/chaos"
	"github.com/trendtactics/loadlab/chaos/mesh"
	"github.com/trendtactics/loadlab/internal/testutil/kubetest"
	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// The tests of this file and run_test.go share one real kube-apiserver and etcd, with the
// Chaos Mesh CRDs installed. There is no Chaos Mesh controller: they prove what is
// accepted, created, watched and deleted, and when; not what a pod does.
// Chaos Mesh's webhook code logs through controller-runtime's logger: discarded here, as
// loadgen does.
func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard())
	os.Exit(kubetest.Main(m))
}

const crdDir = "../../deploy/crds/chaos-mesh"

// cluster starts (or shares) the API server with the CRDs, and returns a client with a
// watch, its kubeconfig and a namespace of the test's own.
func cluster(t *testing.T) (client.WithWatch, string, string) {
	t.Helper()
	s := kubetest.Start(t)
	s.InstallCRDs(t, crdDir)
	c, err := client.NewWithWatch(s.Config, client.Options{Scheme: mesh.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c, s.Kubeconfig, s.Namespace(t)
}

// TestRenderedAccepted applies every object of every cluster scenario and its Workflow
// with server-side apply, dry-run first and then for real, and reads each back.
func TestRenderedAccepted(t *testing.T) {
	c, _, ns := cluster(t)
	ctx := context.Background()
	for i, file := range clusterScenarios(t) {
		spec := load(t, file)
		run := fmt.Sprintf("accepted-%d", i) // names of the same fault in two files differ
		objs, err := mesh.Objects(spec, run)
		if err != nil {
			t.Fatal(err)
		}
		wf, err := mesh.Workflow(spec, run)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range append(objs, wf) {
			o.SetNamespace(ns)
			m, err := mesh.Unstructured(o)
			if err != nil {
				t.Fatal(err)
			}
			u := &unstructured.Unstructured{Object: m}
			name := fmt.Sprintf("%s: %s %s", filepath.Base(file), u.GetKind(), u.GetName())
			// Apply writes the server's answer into its argument: a fresh one each time.
			ac := func() runtime.ApplyConfiguration {
				m, _ := mesh.Unstructured(o)
				return client.ApplyConfigurationFromUnstructured(&unstructured.Unstructured{Object: m})
			}
			if err := c.Apply(ctx, ac(), client.FieldOwner(mesh.FieldOwner), client.ForceOwnership, client.DryRunAll); err != nil {
				t.Errorf("%s: dry-run apply: %v", name, err)
				continue
			}
			if err := c.Get(ctx, client.ObjectKeyFromObject(o), o.DeepCopyObject().(client.Object)); !apierrors.IsNotFound(err) {
				t.Errorf("%s: a dry run stored the object (%v)", name, err)
			}
			if err := c.Apply(ctx, ac(), client.FieldOwner(mesh.FieldOwner), client.ForceOwnership); err != nil {
				t.Errorf("%s: apply: %v", name, err)
				continue
			}
			back := &unstructured.Unstructured{}
			back.SetGroupVersionKind(u.GroupVersionKind())
			if err := c.Get(ctx, client.ObjectKeyFromObject(o), back); err != nil {
				t.Errorf("%s: read back: %v", name, err)
				continue
			}
			// What was stored holds what was rendered: the schema pruned no field (and
			// filled in its defaults).
			if !subset(m["spec"], back.Object["spec"]) {
				t.Errorf("%s: stored spec\n%v\nlacks some of the rendered\n%v", name, back.Object["spec"], m["spec"])
			}
		}
	}
}

// TestMalformedRefused: an object the CRD's schema refuses is refused by the server, and
// the server's message reaches the run: the injector's error, and the timeline's
// fault.error event, which the result and the summary show.
func TestMalformedRefused(t *testing.T) {
	c, _, ns := cluster(t)
	spec := load(t, "../../scenarios/kubernetes/slow-db.yaml")
	objs, err := mesh.Objects(spec, "malformed")
	if err != nil {
		t.Fatal(err)
	}
	bad := objs[0].(*v1alpha1.NetworkChaos)
	bad.Namespace = ns
	bad.Spec.Mode = "bogus"
	err = mesh.NewInjector(c, bad).Inject(context.Background())
	const msg = `spec.mode: Unsupported value: "bogus"`
	if err == nil || !strings.Contains(err.Error(), msg) || !apierrors.IsInvalid(errors.Unwrap(err)) {
		t.Fatalf("inject: %v, want the server's %s", err, msg)
	}
	f := spec.Faults[0]
	f.At = 0
	tl, err := chaos.NewTimeline([]*scenarios.Fault{f}, resolverFunc(func(*scenarios.Fault) (chaos.Injector, error) {
		return mesh.NewInjector(c, bad), nil
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tl.Run(context.Background(), time.Now()); err == nil || !strings.Contains(err.Error(), msg) {
		t.Errorf("timeline: %v", err)
	}
	ev := tl.Events()
	if len(ev) == 0 || ev[0].Kind != result.EventFaultError || !strings.Contains(ev[0].Detail, msg) {
		t.Errorf("events %+v, want a fault.error with the server's message", ev)
	}
	assertNoChaos(t, c, ns)
}

type resolverFunc func(*scenarios.Fault) (chaos.Injector, error)

func (r resolverFunc) Resolve(f *scenarios.Fault) (chaos.Injector, error) { return r(f) }

// TestTimelineCreatesAndDeletes runs a fault timeline of two faults through the
// Resolver while a watch records when their objects appear and disappear: each appears
// no earlier than its offset and disappears no earlier than its end; after Run nothing
// is left. A third run is cancelled in its fault's window (as an abortOnFail threshold
// or a signal does): the object is deleted before Run returns, long before its end.
func TestTimelineCreatesAndDeletes(t *testing.T) {
	c, kubeconfig, ns := cluster(t)
	spec := loadCluster(t, ns, "http://127.0.0.1:9", kubeconfig, `
  - {name: slow-db, kind: network.delay, target: database, at: 1s, duration: 1s, params: {latency: 50ms}}
  - {name: kill, kind: process.kill, target: app, at: 1500ms, duration: 1500ms}`, "5s")
	r, err := mesh.NewResolver(c, spec, "timeline")
	if err != nil {
		t.Fatal(err)
	}
	tl, err := chaos.NewTimeline(spec.Faults, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := watchChaos(t, c, ns)
	start := time.Now()
	if err := tl.Run(context.Background(), start); err != nil {
		t.Fatal(err)
	}
	seen := rec.stopAfter(t, 2*len(spec.Faults))
	for _, f := range spec.Faults {
		name := mesh.ObjectName(f.Name, "timeline")
		added, deleted := seen.at(name, watch.Added), seen.at(name, watch.Deleted)
		t.Logf("%s: created at %s (offset %s), deleted at %s (end %s)", name, added.Sub(start).Round(time.Millisecond), f.At,
			deleted.Sub(start).Round(time.Millisecond), f.End())
		switch {
		case added.IsZero() || deleted.IsZero():
			t.Errorf("%s: watch saw created %v, deleted %v", name, added, deleted)
		case added.Sub(start) < f.At:
			t.Errorf("%s: created %s after the start, before its offset %s", name, added.Sub(start), f.At)
		case deleted.Sub(start) < f.End():
			t.Errorf("%s: deleted %s after the start, before its end %s", name, deleted.Sub(start), f.End())
		}
	}
	assertNoChaos(t, c, ns)

	// Cancelled in the window: deleted at once, not at the end.
	long := loadCluster(t, ns, "http://127.0.0.1:9", kubeconfig, `
  - {name: long, kind: network.down, target: edge, at: 500ms, duration: 1m}`, "2m")
	r, _ = mesh.NewResolver(c, long, "cancelled")
	tl, err = chaos.NewTimeline(long.Faults, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec = watchChaos(t, c, ns)
	ctx, cancel := context.WithCancel(context.Background())
	start = time.Now()
	done := make(chan error, 1)
	go func() { done <- tl.Run(ctx, start) }() // ends when cancelled below
	rec.waitFor(t, mesh.ObjectName("long", "cancelled"), watch.Added)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Gone when Run returned: the server has no object left. (The watch sees the deletion
	// when its event arrives, which may be after Run returned: its time is an upper bound.)
	assertNoChaos(t, c, ns)
	seen = rec.stopAfter(t, 2)
	if d := seen.at(mesh.ObjectName("long", "cancelled"), watch.Deleted); d.IsZero() || d.Sub(start) >= long.Faults[0].End() {
		t.Errorf("deleted %v after the start, want it seen deleted before the fault's end %s", d.Sub(start), long.Faults[0].End())
	}
}

// TestCleanup deletes by label: the objects of one run, leaving another run's, then every
// run's; objects that loadlab did not create stay.
func TestCleanup(t *testing.T) {
	c, _, ns := cluster(t)
	ctx := context.Background()
	spec := load(t, "../../scenarios/testdata/cluster.good.yaml")
	for _, run := range []string{"crashed", "other"} {
		objs, err := mesh.Objects(spec, run)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			o.SetNamespace(ns)
			if err := c.Create(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
	}
	foreign := &v1alpha1.PodChaos{ObjectMeta: metav1.ObjectMeta{Name: "someone-elses", Namespace: ns},
		Spec: v1alpha1.PodChaosSpec{Action: v1alpha1.PodKillAction, ContainerSelector: v1alpha1.ContainerSelector{
			PodSelector: v1alpha1.PodSelector{Mode: v1alpha1.OneMode}}}}
	if err := c.Create(ctx, foreign); err != nil {
		t.Fatal(err)
	}
	deleted, err := mesh.Cleanup(ctx, c, ns, "crashed")
	if err != nil {
		t.Fatal(err)
	}
	if len(deleted) != len(spec.Faults) {
		t.Errorf("deleted %d objects, want %d: %v", len(deleted), len(spec.Faults), deleted)
	}
	if n := countChaos(t, c, ns, "crashed"); n != 0 {
		t.Errorf("%d objects of the cleaned run left", n)
	}
	if n := countChaos(t, c, ns, "other"); n != len(spec.Faults) {
		t.Errorf("%d objects of the other run left, want %d", n, len(spec.Faults))
	}
	if _, err := mesh.Cleanup(ctx, c, "", ""); err != nil {
		t.Fatal(err)
	}
	if n := countChaos(t, c, ns, ""); n != 0 {
		t.Errorf("%d objects left after cleaning up every run", n)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(foreign), foreign); err != nil {
		t.Errorf("an object loadlab did not create was touched: %v", err)
	}
}

// ---- helpers ----

// subset reports whether every value of want is in got (maps by key, lists item by item).
func subset(want, got any) bool {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range w {
			if !subset(v, g[k]) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !subset(w[i], g[i]) {
				return false
			}
		}
		return true
	}
	return fmt.Sprint(want) == fmt.Sprint(got)
}

// loadCluster loads a scenario against the test's namespace with the given faults and
// load duration.
func loadCluster(t *testing.T, ns, url, kubeconfig, faults, duration string) *scenarios.Spec {
	t.Helper()
	spec, err := scenarios.LoadBytes("cluster.yaml", []byte(clusterYAML(ns, url, kubeconfig, faults, duration, "")), ".")
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

func clusterYAML(ns, url, kubeconfig, faults, duration, thresholds string) string {
	return fmt.Sprintf(`version: 1
name: cluster-test
target:
  kubernetes:
    url: %s
    namespace: %s
    kubeconfig: %s
    targets:
      edge: {selector: {app.kubernetes.io/name: academy}}
      app: {selector: {app.kubernetes.io/name: academy}}
      database: {selector: {app.kubernetes.io/name: postgres}}
workload:
  - {name: home, request: {url: /}}
load: {executor: constant-arrival-rate, rate: 20, duration: %s}
faults:%s
%s`, url, ns, kubeconfig, duration, faults, thresholds)
}

// chaosLists are the kinds the tests watch and count.
func chaosLists() []client.ObjectList {
	return []client.ObjectList{&v1alpha1.NetworkChaosList{}, &v1alpha1.PodChaosList{}, &v1alpha1.HTTPChaosList{},
		&v1alpha1.StressChaosList{}, &v1alpha1.TimeChaosList{}, &v1alpha1.DNSChaosList{}}
}

func countChaos(t *testing.T, c client.Client, ns, run string) int {
	t.Helper()
	sel := client.MatchingLabels{mesh.LabelManagedBy: mesh.ManagedBy}
	if run != "" {
		sel[mesh.LabelRun] = run
	}
	n := 0
	for _, l := range chaosLists() {
		if err := c.List(context.Background(), l, client.InNamespace(ns), sel); err != nil {
			t.Fatal(err)
		}
		n += meta.LenList(l)
	}
	return n
}

func assertNoChaos(t *testing.T, c client.Client, ns string) {
	t.Helper()
	if n := countChaos(t, c, ns, ""); n != 0 {
		t.Errorf("%d chaos objects left in %s", n, ns)
	}
}

// seenEvent is one change a watch saw, with when the test saw it.
type seenEvent struct {
	name string
	typ  watch.EventType
	at   time.Time
}

type seenEvents []seenEvent

// at returns when the first event of typ for name ("": any) was seen (zero: never).
func (s seenEvents) at(name string, typ watch.EventType) time.Time {
	for _, e := range s {
		if (name == "" || e.name == name) && e.typ == typ {
			return e.at
		}
	}
	return time.Time{}
}

// recorder watches every chaos kind of a namespace.
type recorder struct {
	mu      sync.Mutex
	events  seenEvents
	watches []watch.Interface
	wg      sync.WaitGroup
	once    sync.Once
}

// watchChaos watches every chaos kind of ns from now on. A RetryWatcher starts from the
// resource version of a list and resumes after errors: a CRD installed a moment ago has a
// watch cache that may refuse a first watch ("Too large resource version").
func watchChaos(t *testing.T, c client.WithWatch, ns string) *recorder {
	t.Helper()
	r := &recorder{}
	sel := client.MatchingLabels{mesh.LabelManagedBy: mesh.ManagedBy}
	for _, l := range chaosLists() {
		if err := c.List(context.Background(), l, client.InNamespace(ns), sel); err != nil {
			t.Fatal(err)
		}
		lw := &cache.ListWatch{WatchFunc: func(o metav1.ListOptions) (watch.Interface, error) {
			return c.Watch(context.Background(), l.DeepCopyObject().(client.ObjectList), client.InNamespace(ns), sel, &client.ListOptions{Raw: &o})
		}}
		lm, _ := meta.ListAccessor(l)
		w, err := watchtools.NewRetryWatcherWithContext(context.Background(), lm.GetResourceVersion(), lw)
		if err != nil {
			t.Fatal(err)
		}
		r.watches = append(r.watches, w)
		r.wg.Add(1)
		go func() { // ends when stop stops the watch
			defer r.wg.Done()
			for ev := range w.ResultChan() {
				o, ok := ev.Object.(client.Object)
				if !ok || (ev.Type != watch.Added && ev.Type != watch.Deleted) {
					continue
				}
				r.mu.Lock()
				r.events = append(r.events, seenEvent{o.GetName(), ev.Type, time.Now()})
				r.mu.Unlock()
			}
		}()
	}
	t.Cleanup(r.stop)
	return r
}

func (r *recorder) snapshot() seenEvents {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append(seenEvents(nil), r.events...)
}

// waitFor waits (up to a minute) until the watch has seen typ for name ("": any).
func (r *recorder) waitFor(t *testing.T, name string, typ watch.EventType) time.Time {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if at := r.snapshot().at(name, typ); !at.IsZero() {
			return at
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the watch never saw %s %s; it saw %+v", typ, name, r.snapshot())
	return time.Time{}
}

// stopAfter waits (up to 10 s) for n events, stops the watches and returns what they saw.
func (r *recorder) stopAfter(t *testing.T, n int) seenEvents {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(r.snapshot()) < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	r.stop()
	return r.snapshot()
}

func (r *recorder) stop() {
	r.once.Do(func() {
		for _, w := range r.watches {
			w.Stop()
		}
		r.wg.Wait()
	})
}
