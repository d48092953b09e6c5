package manifests

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// The paths and user of the image built by the repository's Dockerfile.
const (
	LoadgenPath = "/usr/local/bin/loadgen"
	AcademyPath = "/usr/local/bin/academy"
	ImageUser   = 65532
)

// Parts that Render can write.
const (
	PartAcademy = "academy" // the academy, its databases and cache
	PartLoad    = "load"    // the coordinator and the workers
)

// Options choose what is rendered. Zero fields take the values of Defaults().
type Options struct {
	Namespace string
	Image     string
	Parts     []string // PartAcademy, PartLoad; none: both

	// The academy. MinReplicas and MaxReplicas bound the HorizontalPodAutoscaler (the guide's
	// 10 and 1000; smaller for a small cluster), which scales on CPU and memory utilisation
	// of the requests (CPUPercent, MemoryPercent).
	MinReplicas, MaxReplicas  int32
	CPUPercent, MemoryPercent int32
	AcademyCPU, AcademyMemory string // requests; the memory limit is twice the request
	Shards                    int    // PostgreSQL StatefulSets, one per shard
	DatabaseStorage           string // each shard's volume
	ShutdownTimeout           time.Duration
	AcademyArgs               []string // more flags of academy serve (--seed-users=3000, ...)

	// The secrets (the command generates them when not given).
	JWTSecret, AdminToken, DatabasePassword, LoadgenToken string

	// The load. Scenario is the scenario file's content (ScenarioName its file name) that
	// the coordinator runs with Workers workers; each worker's requests equal its limits.
	Scenario                []byte
	ScenarioName            string
	Workers                 int32
	WorkerCPU, WorkerMemory string
	// MaxLostWorkers is the coordinator's --max-lost-workers and the Job's
	// maxFailedIndexes; Retries is backoffLimitPerIndex (a worker that cannot reach the
	// coordinator yet exits 1 and is started again).
	MaxLostWorkers int32
	Retries        int32
	// JoinTimeout is the coordinator's --join-timeout: how long it waits for every worker
	// (pods are scheduled, images pulled, nodes added).
	JoinTimeout time.Duration
}

// Defaults returns the values that the zero fields of Options take.
func Defaults() Options {
	return Options{
		Namespace:       "loadlab",
		Image:           "ghcr.io/trendtactics/loadlab:latest",
		MinReplicas:     10,
		MaxReplicas:     1000,
		CPUPercent:      70,
		MemoryPercent:   80,
		AcademyCPU:      "500m",
		AcademyMemory:   "256Mi",
		Shards:          2,
		DatabaseStorage: "10Gi",
		ShutdownTimeout: 15 * time.Second,
		ScenarioName:    "scenario.yaml",
		Workers:         4,
		WorkerCPU:       "1",
		WorkerMemory:    "512Mi",
		Retries:         6,
		JoinTimeout:     10 * time.Minute,
	}
}

// withDefaults returns o with its zero fields set from Defaults(), or an error naming the first
// invalid field.
func (o Options) withDefaults() (Options, error) {
	d := Defaults()
	o.Namespace = cmp.Or(o.Namespace, d.Namespace)
	o.Image = cmp.Or(o.Image, d.Image)
	o.MinReplicas = cmp.Or(o.MinReplicas, d.MinReplicas)
	o.MaxReplicas = cmp.Or(o.MaxReplicas, d.MaxReplicas)
	o.CPUPercent = cmp.Or(o.CPUPercent, d.CPUPercent)
	o.MemoryPercent = cmp.Or(o.MemoryPercent, d.MemoryPercent)
	o.AcademyCPU = cmp.Or(o.AcademyCPU, d.AcademyCPU)
	o.AcademyMemory = cmp.Or(o.AcademyMemory, d.AcademyMemory)
	o.Shards = cmp.Or(o.Shards, d.Shards)
	o.DatabaseStorage = cmp.Or(o.DatabaseStorage, d.DatabaseStorage)
	o.ShutdownTimeout = cmp.Or(o.ShutdownTimeout, d.ShutdownTimeout)
	o.ScenarioName = cmp.Or(o.ScenarioName, d.ScenarioName)
	o.Workers = cmp.Or(o.Workers, d.Workers)
	o.WorkerCPU = cmp.Or(o.WorkerCPU, d.WorkerCPU)
	o.WorkerMemory = cmp.Or(o.WorkerMemory, d.WorkerMemory)
	o.Retries = cmp.Or(o.Retries, d.Retries)
	o.JoinTimeout = cmp.Or(o.JoinTimeout, d.JoinTimeout)
	if len(o.Parts) == 0 {
		o.Parts = []string{PartAcademy, PartLoad}
	}

	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for _, p := range o.Parts {
		if p != PartAcademy && p != PartLoad {
			bad("part %q: want %s or %s", p, PartAcademy, PartLoad)
		}
	}
	if msgs := validation.IsDNS1123Label(o.Namespace); len(msgs) > 0 {
		bad("namespace %q: %s", o.Namespace, strings.Join(msgs, "; "))
	}
	if o.MinReplicas < 1 || o.MaxReplicas < o.MinReplicas {
		bad("replicas: min %d, max %d: want 1 <= min <= max", o.MinReplicas, o.MaxReplicas)
	}
	if o.CPUPercent < 1 || o.MemoryPercent < 1 {
		bad("utilisation targets: CPU %d %%, memory %d %%: want positive percentages", o.CPUPercent, o.MemoryPercent)
	}
	if o.Shards < 1 || o.Shards > 64 {
		bad("shards %d: want 1 to 64", o.Shards)
	}
	if o.ShutdownTimeout < time.Second {
		bad("shutdown timeout %s: want at least 1s", o.ShutdownTimeout)
	}
	if o.Workers < 1 {
		bad("workers %d: want at least 1", o.Workers)
	}
	if o.MaxLostWorkers < 0 || o.MaxLostWorkers >= o.Workers {
		bad("max lost workers %d: want 0 to workers-1 (%d)", o.MaxLostWorkers, o.Workers-1)
	}
	if o.JoinTimeout < time.Second {
		bad("join timeout %s: want at least 1s", o.JoinTimeout)
	}
	if o.Retries < 0 {
		bad("retries %d: want 0 or more", o.Retries)
	}
	for _, q := range [][2]string{{"academy CPU", o.AcademyCPU}, {"academy memory", o.AcademyMemory},
		{"database storage", o.DatabaseStorage}, {"worker CPU", o.WorkerCPU}, {"worker memory", o.WorkerMemory}} {
		if _, err := resource.ParseQuantity(q[1]); err != nil {
			bad("%s %q: %v", q[0], q[1], err)
		}
	}
	if o.has(PartLoad) && len(o.Scenario) == 0 {
		bad("the load needs a scenario file")
	}
	return o, errors.Join(errs...)
}

func (o Options) has(part string) bool {
	for _, p := range o.Parts {
		if p == part {
			return true
		}
	}
	return false
}
