// Package manifests renders what a Kubernetes cluster needs to run loadlab, from the
// Kubernetes API types (k8s.io/api): the academy (Deployment, Service, HorizontalPodAutoscaler,
// PodDisruptionBudget, ConfigMap, Secret, ServiceMonitor; PostgreSQL per shard and Redis as
// StatefulSets for a staging cluster without managed ones) and the load (the coordinator as a
// Job and a Service, the workers as an Indexed Job; their ServiceAccount and the Role that lets
// the coordinator create and delete Chaos Mesh objects). `loadgen k8s render` prints them;
// docs/kubernetes.md says how to use them and what was proven against a real API server.
//
// One image holds both programs (the repository's Dockerfile): /usr/local/bin/loadgen and
// /usr/local/bin/academy, run as the unprivileged user 65532.
package manifests
