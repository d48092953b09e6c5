package manifests

import (
	"fmt"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

const (
	academyPort = 8080
	// preStopSleep lets the endpoints controller and the proxies drop a terminating pod
	// before the academy stops accepting connections.
	preStopSleep = 5
	// graceMargin is what the termination grace adds to the pre-stop sleep and the drain.
	graceMargin = 10
)

// academy renders the academy and its dependencies.
func academy(o Options) []runtime.Object {
	labels := componentLabels("academy", "api")
	objs := []runtime.Object{
		&corev1.ConfigMap{
			TypeMeta:   typeMeta("v1", "ConfigMap"),
			ObjectMeta: o.meta("academy", labels),
			Data:       map[string]string{"ACADEMY_REDIS_URL": "redis://redis:6379/0"},
		},
		&corev1.Secret{
			TypeMeta:   typeMeta("v1", "Secret"),
			ObjectMeta: o.meta("academy", labels),
			Type:       corev1.SecretTypeOpaque,
			StringData: o.academySecret(),
		},
		o.academyDeployment(labels),
		&corev1.Service{
			TypeMeta:   typeMeta("v1", "Service"),
			ObjectMeta: o.meta("academy", labels),
			Spec: corev1.ServiceSpec{
				Selector: labels,
				Ports:    []corev1.ServicePort{{Name: "http", Port: academyPort, TargetPort: intstr.FromString("http")}},
			},
		},
		&autoscalingv2.HorizontalPodAutoscaler{
			TypeMeta:   typeMeta("autoscaling/v2", "HorizontalPodAutoscaler"),
			ObjectMeta: o.meta("academy", labels),
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "academy"},
				MinReplicas:    ptr.To(o.MinReplicas),
				MaxReplicas:    o.MaxReplicas,
				Metrics: []autoscalingv2.MetricSpec{
					utilisation(corev1.ResourceCPU, o.CPUPercent),
					utilisation(corev1.ResourceMemory, o.MemoryPercent),
				},
			},
		},
		&policyv1.PodDisruptionBudget{
			TypeMeta:   typeMeta("policy/v1", "PodDisruptionBudget"),
			ObjectMeta: o.meta("academy", labels),
			Spec: policyv1.PodDisruptionBudgetSpec{
				MaxUnavailable: ptr.To(intstr.FromString("10%")),
				Selector:       &metav1.LabelSelector{MatchLabels: labels},
			},
		},
		o.serviceMonitor(labels),
	}
	for i := range o.Shards {
		objs = append(objs, o.postgres(i)...)
	}
	return append(objs, o.redis()...)
}

// academySecret holds the academy's credentials and one database URL per shard (shard 0
// first, comma-separated as ACADEMY_DATABASE_URL reads them), and the databases' password.
func (o Options) academySecret() map[string]string {
	urls := make([]string, o.Shards)
	for i := range urls {
		urls[i] = fmt.Sprintf("postgres://academy:%s@%s:5432/academy?sslmode=disable", o.DatabasePassword, shardName(i))
	}
	return map[string]string{
		"ACADEMY_JWT_SECRET":   o.JWTSecret,
		"ACADEMY_ADMIN_TOKEN":  o.AdminToken,
		"ACADEMY_DATABASE_URL": strings.Join(urls, ","),
		"POSTGRES_PASSWORD":    o.DatabasePassword,
	}
}

func (o Options) academyDeployment(labels map[string]string) *appsv1.Deployment {
	probe := func(path string, period, failures int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("http")}},
			PeriodSeconds:    period,
			TimeoutSeconds:   2,
			FailureThreshold: failures,
		}
	}
	drain := int64(o.ShutdownTimeout.Seconds() + 0.999)
	env := []corev1.EnvFromSource{
		{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "academy"}}},
		{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "academy"}}},
	}
	return &appsv1.Deployment{
		TypeMeta:   typeMeta("apps/v1", "Deployment"),
		ObjectMeta: o.meta("academy", labels),
		Spec: appsv1.DeploymentSpec{
			// No replicas: the HorizontalPodAutoscaler owns them (a field here would reset
			// them at every apply); it scales the Deployment's 1 up to its minimum.
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Strategy: appsv1.DeploymentStrategy{
				Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxUnavailable: ptr.To(intstr.FromInt32(0)),
					MaxSurge:       ptr.To(intstr.FromString("25%")),
				},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels: labels,
					Annotations: map[string]string{
						"prometheus.io/scrape": "true",
						"prometheus.io/port":   strconv.Itoa(academyPort),
						"prometheus.io/path":   "/metrics",
					},
				},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: ptr.To(preStopSleep + drain + graceMargin),
					SecurityContext:               podSecurity(),
					TopologySpreadConstraints:     spread(labels),
					Containers: []corev1.Container{{
						Name:    "academy",
						Image:   o.Image,
						Command: []string{AcademyPath},
						Args: append([]string{"serve", "--addr=0.0.0.0:" + strconv.Itoa(academyPort),
							"--shutdown-timeout=" + o.ShutdownTimeout.String()}, o.AcademyArgs...),
						EnvFrom:        env,
						Ports:          []corev1.ContainerPort{{Name: "http", ContainerPort: academyPort}},
						ReadinessProbe: probe("/readyz", 5, 2),
						LivenessProbe:  probe("/healthz", 10, 3),
						// Up to 10 minutes for the migrations and the seed of an empty database
						// (bcrypt of every seeded student's password); the other replicas wait.
						StartupProbe:    probe("/healthz", 5, 120),
						Lifecycle:       &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: preStopSleep}}},
						Resources:       resources(o.AcademyCPU, o.AcademyMemory, "", double(o.AcademyMemory)),
						SecurityContext: containerSecurity(),
						VolumeMounts:    []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}},
					}},
					Volumes: []corev1.Volume{emptyDir("tmp")},
				},
			},
		},
	}
}

func utilisation(name corev1.ResourceName, percent int32) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{
		Type: autoscalingv2.ResourceMetricSourceType,
		Resource: &autoscalingv2.ResourceMetricSource{
			Name:   name,
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(percent)},
		},
	}
}

// serviceMonitor is the prometheus-operator's ServiceMonitor of the academy (unstructured:
// the operator's Go module is not worth its weight for one object).
func (o Options) serviceMonitor(labels map[string]string) *unstructured.Unstructured {
	sel := map[string]any{}
	for k, v := range labels {
		sel[k] = v
	}
	lab := map[string]any{}
	for k, v := range o.meta("academy", labels).Labels {
		lab[k] = v
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "monitoring.coreos.com/v1",
		"kind":       "ServiceMonitor",
		"metadata":   map[string]any{"name": "academy", "namespace": o.Namespace, "labels": lab},
		"spec": map[string]any{
			"selector":  map[string]any{"matchLabels": sel},
			"endpoints": []any{map[string]any{"port": "http", "path": "/metrics", "interval": "15s"}},
		},
	}}
}

func shardName(i int) string { return "postgres-" + strconv.Itoa(i) }

// postgres renders shard i's database: a StatefulSet of one PostgreSQL on a volume of its
// own, and its headless Service.
func (o Options) postgres(i int) []runtime.Object {
	name := shardName(i)
	labels := componentLabels("postgres", "database")
	labels["app.kubernetes.io/instance"] = name
	secret := func(key string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "academy"}, Key: key}}
	}
	ready := &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"pg_isready", "-U", "academy", "-d", "academy"}}},
		PeriodSeconds: 5,
	}
	pod := corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{FSGroup: ptr.To[int64](999)},
		Containers: []corev1.Container{{
			Name:  "postgres",
			Image: "postgres:17",
			Env: []corev1.EnvVar{
				{Name: "POSTGRES_USER", Value: "academy"},
				{Name: "POSTGRES_DB", Value: "academy"},
				{Name: "POSTGRES_PASSWORD", ValueFrom: secret("POSTGRES_PASSWORD")},
				{Name: "PGDATA", Value: "/var/lib/postgresql/data/pgdata"},
			},
			Ports:          []corev1.ContainerPort{{Name: "postgres", ContainerPort: 5432}},
			ReadinessProbe: ready,
			Resources:      resources("500m", "1Gi", "", "2Gi"),
			VolumeMounts:   []corev1.VolumeMount{{Name: "data", MountPath: "/var/lib/postgresql/data"}},
		}},
	}
	claim := corev1.PersistentVolumeClaim{
		TypeMeta:   typeMeta("v1", "PersistentVolumeClaim"),
		ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(o.DatabaseStorage)}},
		},
	}
	return o.single(name, labels, 5432, pod, claim)
}

// redis renders the cache: a StatefulSet of one Redis without persistence (the academy
// reads through to PostgreSQL on a miss), and its headless Service.
func (o Options) redis() []runtime.Object {
	labels := componentLabels("redis", "cache")
	pod := corev1.PodSpec{
		Containers: []corev1.Container{{
			Name:  "redis",
			Image: "redis:7",
			Args:  []string{"--save", "", "--appendonly", "no", "--maxmemory", "400mb", "--maxmemory-policy", "allkeys-lru"},
			Ports: []corev1.ContainerPort{{Name: "redis", ContainerPort: 6379}},
			ReadinessProbe: &corev1.Probe{
				ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("redis")}},
				PeriodSeconds: 5,
			},
			Resources: resources("250m", "512Mi", "", "512Mi"),
		}},
	}
	return o.single("redis", labels, 6379, pod)
}

// single renders a StatefulSet of one pod, with its volume claims, and the headless Service
// that names the pod in the cluster's DNS.
func (o Options) single(name string, labels map[string]string, port int32, pod corev1.PodSpec, claims ...corev1.PersistentVolumeClaim) []runtime.Object {
	return []runtime.Object{
		&corev1.Service{
			TypeMeta:   typeMeta("v1", "Service"),
			ObjectMeta: o.meta(name, labels),
			Spec: corev1.ServiceSpec{
				ClusterIP: corev1.ClusterIPNone,
				Selector:  labels,
				Ports:     []corev1.ServicePort{{Name: name, Port: port, TargetPort: intstr.FromInt32(port)}},
			},
		},
		&appsv1.StatefulSet{
			TypeMeta:   typeMeta("apps/v1", "StatefulSet"),
			ObjectMeta: o.meta(name, labels),
			Spec: appsv1.StatefulSetSpec{
				ServiceName:          name,
				Replicas:             ptr.To[int32](1),
				UpdateStrategy:       appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType},
				Selector:             &metav1.LabelSelector{MatchLabels: labels},
				Template:             corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: pod},
				VolumeClaimTemplates: claims,
			},
		},
	}
}

// double returns twice a quantity (the memory limit of a request).
func double(q string) string {
	v := resource.MustParse(q)
	v.Add(v)
	return v.String()
}
