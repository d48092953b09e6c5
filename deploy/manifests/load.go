package manifests

import (
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

const (
	coordinatorPort = 7070
	scenarioDir     = "/etc/loadlab"
	resultsDir      = "/results"
)

// The workers' exit codes (loadgen worker): 1 the coordinator was lost or not reached,
// 2 refused by the coordinator or a usage error.
const (
	exitLost    = 1
	exitRefused = 2
)

// load renders the coordinator and the workers.
func load(o Options) []runtime.Object {
	coord := componentLabels("loadgen", "coordinator")
	workers := componentLabels("loadgen", "worker")
	base := componentLabels("loadgen", "")
	tokenEnv := []corev1.EnvVar{{Name: "LOADGEN_TOKEN", ValueFrom: &corev1.EnvVarSource{
		SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "loadgen"}, Key: "LOADGEN_TOKEN"}}}}
	return []runtime.Object{
		&corev1.Secret{
			TypeMeta:   typeMeta("v1", "Secret"),
			ObjectMeta: o.meta("loadgen", base),
			Type:       corev1.SecretTypeOpaque,
			StringData: map[string]string{"LOADGEN_TOKEN": o.LoadgenToken},
		},
		&corev1.ConfigMap{
			TypeMeta:   typeMeta("v1", "ConfigMap"),
			ObjectMeta: o.meta("loadgen-scenario", base),
			Data:       map[string]string{o.ScenarioName: string(o.Scenario)},
		},
		&corev1.ServiceAccount{
			TypeMeta:   typeMeta("v1", "ServiceAccount"),
			ObjectMeta: o.meta("loadgen", base),
		},
		&rbacv1.Role{
			TypeMeta:   typeMeta("rbac.authorization.k8s.io/v1", "Role"),
			ObjectMeta: o.meta("loadgen-chaos", base),
			Rules: []rbacv1.PolicyRule{
				// The scenario's faults on a Kubernetes target, and `loadgen chaos cleanup`.
				{APIGroups: []string{"chaos-mesh.org"}, Resources: []string{"networkchaos", "podchaos", "httpchaos",
					"stresschaos", "timechaos", "dnschaos", "iochaos", "workflows", "schedules"},
					Verbs: []string{"get", "list", "watch", "create", "patch", "delete", "deletecollection"}},
				{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}},
			},
		},
		&rbacv1.RoleBinding{
			TypeMeta:   typeMeta("rbac.authorization.k8s.io/v1", "RoleBinding"),
			ObjectMeta: o.meta("loadgen-chaos", base),
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "loadgen-chaos"},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "loadgen", Namespace: o.Namespace}},
		},
		&corev1.Service{
			TypeMeta:   typeMeta("v1", "Service"),
			ObjectMeta: o.meta("loadgen-coordinator", coord),
			Spec: corev1.ServiceSpec{
				Selector: coord,
				Ports:    []corev1.ServicePort{{Name: "cluster", Port: coordinatorPort, TargetPort: intstr.FromString("cluster")}},
			},
		},
		&batchv1.Job{
			TypeMeta:   typeMeta("batch/v1", "Job"),
			ObjectMeta: o.meta("loadgen-coordinator", coord),
			Spec: batchv1.JobSpec{
				// A load test is not repeated behind the user's back.
				BackoffLimit: ptr.To[int32](0),
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: coord},
					Spec: corev1.PodSpec{
						ServiceAccountName: "loadgen",
						RestartPolicy:      corev1.RestartPolicyNever,
						SecurityContext:    podSecurity(),
						Containers: []corev1.Container{{
							Name:    "coordinator",
							Image:   o.Image,
							Command: []string{LoadgenPath},
							Args: []string{"coordinator", scenarioDir + "/" + o.ScenarioName,
								"--listen=0.0.0.0:" + strconv.Itoa(coordinatorPort),
								"--workers=" + strconv.Itoa(int(o.Workers)),
								"--max-lost-workers=" + strconv.Itoa(int(o.MaxLostWorkers)),
								"--join-timeout=" + o.JoinTimeout.String(),
								"--out=" + resultsDir, "--report=json,md"},
							Env:             tokenEnv,
							Ports:           []corev1.ContainerPort{{Name: "cluster", ContainerPort: coordinatorPort}},
							Resources:       resources("500m", "512Mi", "", "1Gi"),
							SecurityContext: containerSecurity(),
							VolumeMounts: []corev1.VolumeMount{
								{Name: "scenario", MountPath: scenarioDir, ReadOnly: true},
								{Name: "results", MountPath: resultsDir},
								{Name: "tmp", MountPath: "/tmp"},
							},
						}},
						Volumes: []corev1.Volume{
							{Name: "scenario", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
								LocalObjectReference: corev1.LocalObjectReference{Name: "loadgen-scenario"}}}},
							emptyDir("results"),
							emptyDir("tmp"),
						},
					},
				},
			},
		},
		&batchv1.Job{
			TypeMeta:   typeMeta("batch/v1", "Job"),
			ObjectMeta: o.meta("loadgen-workers", workers),
			Spec: batchv1.JobSpec{
				CompletionMode:       ptr.To(batchv1.IndexedCompletion),
				Completions:          ptr.To(o.Workers),
				Parallelism:          ptr.To(o.Workers),
				BackoffLimitPerIndex: ptr.To(o.Retries),
				MaxFailedIndexes:     ptr.To(o.MaxLostWorkers),
				PodReplacementPolicy: ptr.To(batchv1.Failed),
				PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
					// Refused (another scenario, version or token): starting it again cannot help.
					{Action: batchv1.PodFailurePolicyActionFailIndex, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
						ContainerName: ptr.To("worker"), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{exitRefused}}},
					// The coordinator not reached yet (or lost): start the index again, with the
					// Job's back-off, up to backoffLimitPerIndex times.
					{Action: batchv1.PodFailurePolicyActionCount, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
						ContainerName: ptr.To("worker"), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{exitLost}}},
					// Evicted, preempted or drained: not the worker's failure.
					{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{
						{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}},
				}},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: workers},
					Spec: corev1.PodSpec{
						RestartPolicy:                corev1.RestartPolicyNever,
						AutomountServiceAccountToken: ptr.To(false),
						SecurityContext:              podSecurity(),
						TopologySpreadConstraints:    spread(workers),
						Containers: []corev1.Container{{
							Name:    "worker",
							Image:   o.Image,
							Command: []string{LoadgenPath},
							// The index is $JOB_COMPLETION_INDEX, which Kubernetes sets in each
							// pod of an Indexed Job; loadgen worker reads it.
							Args:            []string{"worker", "--coordinator=loadgen-coordinator:" + strconv.Itoa(coordinatorPort)},
							Env:             tokenEnv,
							Resources:       resources(o.WorkerCPU, o.WorkerMemory, o.WorkerCPU, o.WorkerMemory),
							SecurityContext: containerSecurity(),
							// The root file system is read-only: /tmp is the pod's.
							VolumeMounts: []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}},
						}},
						Volumes: []corev1.Volume{emptyDir("tmp")},
					},
				},
			},
		},
	}
}
