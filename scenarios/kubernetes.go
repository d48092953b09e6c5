package scenarios

import (
	"fmt"
	"math"
	"net/url"
	"strings"

	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Kubernetes is a cluster target (target.kubernetes): the load goes to URL, and the faults
// become Chaos Mesh objects (package chaos/mesh) in the cluster that Kubeconfig and Context
// (or the pod's own service account, InCluster) reach, against the pods that Targets name.
type Kubernetes struct {
	URL        string // the academy's URL as loadgen reaches it (also Target.URL)
	Namespace  string // where the chaos objects go and the pods are; default "default"
	Kubeconfig string // path of a kubeconfig file; "": $KUBECONFIG, then ~/.kube/config
	Context    string // kubeconfig context; "": its current context
	InCluster  bool   // use the service account of the pod loadgen runs in
	// Targets maps a logical fault target (edge, app, database, cache, or a route such as
	// /v1/courses) to the pods it means.
	Targets map[string]*KubeTarget
	Pos     Pos
}

// KubeTarget is the set of pods a logical fault target means on a cluster.
type KubeTarget struct {
	Selector  map[string]string // label selector of the pods; at least one label
	Namespace string            // default: Kubernetes.Namespace
	Container string            // container of the pods that process, stress and clock faults hit; "": all
	Port      int               // the HTTP port HTTPChaos intercepts; default DefaultKubePort
	Pos       Pos
}

// DefaultKubePort is the academy's HTTP port in the rendered manifests (loadgen k8s render).
const DefaultKubePort = 8080

// KubeTargetFor returns the pods a fault's target means, and the name it is mapped under:
// a route's own entry, else app's (an HTTP fault on a route is injected into the app's
// pods, scoped to the route's path); nil when the target is not mapped.
func (k *Kubernetes) KubeTargetFor(target string) (*KubeTarget, string) {
	if t := k.Targets[target]; t != nil {
		return t, target
	}
	if strings.HasPrefix(target, "/") && k.Targets["app"] != nil {
		return k.Targets["app"], "app"
	}
	return nil, ""
}

// KubePeer reports whether a network fault on target is injected between the app's pods
// and the target's (database, cache): the lab's proxy sits on that edge, so on a cluster
// the app's pods are selected and the target's pods are the NetworkChaos target.
func KubePeer(kind, target string) bool {
	return strings.HasPrefix(kind, "network.") && (target == "database" || target == "cache")
}

// kubernetes reads target.kubernetes.
func (l *loader) kubernetes(n *yaml.Node) *Kubernetes {
	const p = "target.kubernetes"
	k := &Kubernetes{Namespace: "default", Targets: map[string]*KubeTarget{}}
	f, ok := l.mapping(n, p, "url", "namespace", "kubeconfig", "context", "in-cluster", "targets")
	if !ok {
		return k
	}
	k.Pos = Pos{f.node.Line, f.node.Column}
	if n := l.require(f, "url"); n != nil {
		if v, ok := l.str(n, p+".url"); ok {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				l.errorf(n, p+".url", "want the academy's absolute http or https URL, got %q", v)
			}
			k.URL = strings.TrimRight(v, "/")
		}
	}
	if n := f.get("namespace"); n != nil {
		k.Namespace = l.kubeNamespace(n, p+".namespace")
	}
	if n := f.get("kubeconfig"); n != nil {
		k.Kubeconfig, _ = l.str(n, p+".kubeconfig")
	}
	if n := f.get("context"); n != nil {
		k.Context, _ = l.str(n, p+".context")
	}
	if n := f.get("in-cluster"); n != nil {
		k.InCluster, _ = l.boolean(n, p+".in-cluster")
		if k.InCluster && (f.has("kubeconfig") || f.has("context")) {
			l.errorf(n, p+".in-cluster", "in-cluster uses the pod's service account: give it or kubeconfig/context, not both")
		}
	}
	if n := l.require(f, "targets"); n != nil {
		pairs, _ := l.pairs(n, p+".targets")
		logical := []string{"edge", "app", "database", "cache"}
		for _, kv := range pairs {
			name := kv[0].Value
			tp := join(p+".targets", name)
			if !contains(logical, name) && !strings.HasPrefix(name, "/") {
				l.errorf(kv[0], tp, "unknown fault target %q, want edge, app, database, cache or a route like /v1/courses%s", name, didYouMean(name, logical))
				continue
			}
			if t := l.kubeTarget(kv[1], tp); t != nil {
				t.Pos = Pos{kv[0].Line, kv[0].Column}
				k.Targets[name] = t
			}
		}
	}
	return k
}

func (l *loader) kubeTarget(n *yaml.Node, path string) *KubeTarget {
	f, ok := l.mapping(n, path, "selector", "namespace", "container", "port")
	if !ok {
		return nil
	}
	t := &KubeTarget{Selector: map[string]string{}, Port: DefaultKubePort}
	if n := l.require(f, "selector"); n != nil {
		pairs, _ := l.pairs(n, join(path, "selector"))
		for _, kv := range pairs {
			sp := join(join(path, "selector"), kv[0].Value)
			if errs := validation.IsQualifiedName(kv[0].Value); len(errs) > 0 {
				l.errorf(kv[0], sp, "bad label key %q: %s", kv[0].Value, strings.Join(errs, "; "))
				continue
			}
			v, ok := l.str(kv[1], sp)
			if !ok {
				continue
			}
			if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
				l.errorf(kv[1], sp, "bad label value %q: %s", v, strings.Join(errs, "; "))
				continue
			}
			t.Selector[kv[0].Value] = v
		}
		if len(pairs) == 0 {
			l.errorf(n, join(path, "selector"), "a selector needs at least one label: an empty one would select every pod of the namespace")
		}
	}
	if n := f.get("namespace"); n != nil {
		t.Namespace = l.kubeNamespace(n, join(path, "namespace"))
	}
	if n := f.get("container"); n != nil {
		if v, ok := l.str(n, join(path, "container")); ok {
			if errs := validation.IsDNS1123Label(v); len(errs) > 0 {
				l.errorf(n, join(path, "container"), "bad container name %q: %s", v, strings.Join(errs, "; "))
			}
			t.Container = v
		}
	}
	if n := f.get("port"); n != nil {
		t.Port, _ = l.intIn(n, join(path, "port"), 1, 65535)
	}
	return t
}

func (l *loader) kubeNamespace(n *yaml.Node, path string) string {
	v, ok := l.str(n, path)
	if !ok {
		return ""
	}
	if errs := validation.IsDNS1123Label(v); len(errs) > 0 {
		l.errorf(n, path, "bad namespace %q: %s", v, strings.Join(errs, "; "))
	}
	return v
}

// kubeFault checks what a fault needs on a cluster target: a mapped target (and app's pods
// for a network fault between the app and the database or cache), a name that fits a
// label, and no parameter that Chaos Mesh cannot honour.
func (l *loader) kubeFault(ft *Fault, f fields, path string) {
	k := l.kube
	if k == nil {
		return
	}
	if len(ft.Name) > validation.LabelValueMaxLength {
		l.errorf(f.get("name"), join(path, "name"), "a fault on a cluster is labelled with its name, which must be at most %d characters, got %d", validation.LabelValueMaxLength, len(ft.Name))
	}
	if kind, ok := FaultKinds()[ft.Kind]; !ok || !kind.Kubernetes || ft.Target == "" {
		return // reported at kind: or target:
	}
	at := f.get("target")
	if t, _ := k.KubeTargetFor(ft.Target); t == nil {
		or := ""
		if strings.HasPrefix(ft.Target, "/") {
			or = " or app's (an HTTP fault on a route then hits the app's pods on that path)"
		}
		l.errorf(at, join(path, "target"), "target %s is not mapped to pods: add target.kubernetes.targets.%s: {selector: {...}}%s (line %d)", ft.Target, kubeKey(ft.Target), or, k.Pos.Line)
	}
	if KubePeer(ft.Kind, ft.Target) && k.Targets["app"] == nil {
		l.errorf(at, join(path, "target"), "%s on %s is injected on the app's side of the connection: add target.kubernetes.targets.app: {selector: {...}} (line %d)", ft.Kind, ft.Target, k.Pos.Line)
	}
	params := f.get("params")
	if params == nil {
		params = f.node
	}
	if ft.Kind == FaultProcessKill && ft.ParamDuration("restart-after") > 0 {
		l.errorf(params, join(path, "params.restart-after"), "restart-after has no Kubernetes form: the pod's controller restarts a killed pod at once; leave it out, or use process.pause (PodChaos pod-failure) for an outage of a set length")
	}
	if v, err := ParseFraction(ft.Value); ft.Mode == "percent" && err == nil && v*100 != math.Trunc(v*100) {
		l.errorf(f.get("value"), join(path, "value"), "Chaos Mesh takes a whole percentage of pods, got %s", ft.Value)
	}
	if strings.HasPrefix(ft.Kind, "http.") && ft.Params["percent"] != "100%" {
		l.errorf(params, join(path, "params.percent"), "percent has no Kubernetes form: HTTPChaos hits every matching request; leave it out or use 100%%")
	}
}

// kubeKey is how a target is written as a key of target.kubernetes.targets.
func kubeKey(target string) string {
	if strings.HasPrefix(target, "/") {
		return fmt.Sprintf("%q", target)
	}
	return target
}
