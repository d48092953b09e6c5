package scenarios

import (
	"math/rand/v2"
	"time"
)

// Spec is a loaded, validated scenario file (schema version 1).
// LoadFile and LoadBytes return a Spec only when the whole file is valid.
// A Spec is not modified after loading and is safe for concurrent use.
type Spec struct {
	Version     int    `yaml:"version"`
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Target      Target `yaml:"target"`
	Defaults    Defaults
	// Data holds the named data pools templates pick from ({{ user.email }}).
	Data       map[string]*Pool
	Workload   []*Item
	Load       Load
	Thresholds []*Threshold // in file order
	Faults     []*Fault
	// Windows are named spans measured like a fault's window, without a fault (windows:).
	Windows []*Window `json:",omitempty"`
	Verify  []string
	// Probe is the uptime probe run beside the load (nil: none).
	Probe *Probe `json:",omitempty"`
	// Capacity, when set, is measured before the load (see Capacity and WithCapacity).
	Capacity *Capacity `json:",omitempty"`
	// Transport chooses the engine's HTTP client: TransportAuto ("" reads as auto),
	// TransportNetHTTP or TransportFast (see transport.go).
	Transport string `json:",omitempty"`
	// TransportPos is where transport: is written (zero when not in the file).
	TransportPos Pos `json:"-"`

	// Path is the file the spec was loaded from ("" for LoadBytes without a name).
	Path string
}

// Target says where the traffic goes: a URL, a local lab the harness starts, or a
// Kubernetes cluster (URL is then Kubernetes.URL; see kubernetes.go).
type Target struct {
	URL        string
	Lab        *Lab
	Kubernetes *Kubernetes `json:",omitempty"`
	// TLS says how an https target's certificate is verified (target.tls; nil: the system's
	// CAs; a lab with tls: true is trusted through its own CA, not this; see tls.go).
	TLS *TargetTLS `json:",omitempty"`
}

// Lab describes the local lab (run by the lab issue; validated here).
type Lab struct {
	Replicas int    // academy replicas, default 1
	Cache    string // redis | memory | none; default memory
	Seed     LabSeed
	// BcryptCost hashes passwords set at registration (default 4, the cheapest: a lab is
	// about the service, not bcrypt; raise it to make sign-ups cost what they do in production).
	BcryptCost int
	// DBMaxConns is each replica's connection pool size (0: the academy's default, 20).
	DBMaxConns int
	// AcademyArgs are extra flags of `academy serve` for every replica, for experiments
	// ("what if it did not shed": --db-queue-wait -1s). The academy checks them at start.
	AcademyArgs []string
	// DBReplicas is the number of read replicas (PostgreSQL hot standbys fed by streaming
	// replication) of each database shard (db-replicas:, default 0).
	DBReplicas int
	// TLS serves the replicas over HTTPS (TLS 1.3) with a certificate of a throwaway CA the
	// lab generates, which the engine then trusts (tls: true).
	TLS bool `json:",omitempty"`
}

// LabSeed is the deterministic data set the lab seeds before the load.
type LabSeed struct {
	Users   int   // default 1000
	Courses int   // default 50
	Seed    int64 // default 1
}

// Defaults apply to every request unless the request overrides them.
type Defaults struct {
	Headers map[string]*Template
	Timeout time.Duration // default 10s
}

// Pool is a named table of rows that templates read.
type Pool struct {
	Name  string
	Order string              // "sequential" (default) or "random"
	Rows  []map[string]string // filled at load time from inline rows, a CSV/JSON file, or a generator
}

// Item is one weighted entry of the workload mix: a single request or a flow.
type Item struct {
	Name    string
	Weight  int // default 1
	Request *Request
	Flow    []*Step
}

// Step is one request of a flow, recorded under its own name (default "<item>/<index>").
type Step struct {
	Name    string
	Request *Request
	Capture []*Capture
}

// Request is a templated HTTP request.
type Request struct {
	Method  string
	URL     *Template
	Headers map[string]*Template
	Body    *Template     // raw body, or the JSON body rendered from a templated YAML value
	Timeout time.Duration // filled from Defaults.Timeout when the request sets none
	Expect  *Expect       // nil: any 2xx or 3xx passes
	// Write marks a request whose effect the verification after the run checks
	// ("enrollment"; "" for requests that are not recorded as writes). See WriteKinds.
	Write string `json:",omitempty"`
	// Read marks a request that reads back its author's own write ("enrollment": GET
	// /v1/courses/{course}/enrollment), recorded for the reads-see-own-writes verification.
	Read string `json:",omitempty"`
	// Kind is "" for a plain HTTP request, or page, video, websocket or browser (see kinds.go);
	// the options of the kind are set, the others nil.
	Kind      string            `json:",omitempty"`
	Page      *PageOptions      `json:",omitempty"`
	Video     *VideoOptions     `json:",omitempty"`
	WebSocket *WebSocketOptions `json:",omitempty"`
	Browser   *BrowserOptions   `json:",omitempty"`

	// slowPos is where the feature the fast transport lacks is written (kind:, method:).
	slowPos Pos
}

// Expect is what a response must satisfy to count as a passed check.
type Expect struct {
	Status     []int         // default: any 2xx or 3xx
	JSON       []*JSONCheck  // body checks
	MaxLatency time.Duration // 0 = no bound
}

// JSONCheck asserts on one value of a JSON response body.
type JSONCheck struct {
	Path   string // $.a.b[0]
	Exists *bool
	Equals *string

	path jsonPath // parsed Path; parsed on use when empty
}

// Capture takes a value from a response into the iteration's variables.
type Capture struct {
	Name string
	From string // "$.json.path" or "header:Name"

	path jsonPath // parsed From (JSON captures); parsed on use when empty
}

// Load is the executor and its schedule (the load: section; LoadFile loads a whole file).
type Load struct {
	Executor string  // one of Executors: ExecutorConstantArrivalRate, ...
	Rate     float64 // iterations per TimeUnit (constant-arrival-rate)
	// RateOfCapacity says Rate is a multiple of the measured capacity (see Spec.WithCapacity);
	// so does StartRateOfCapacity for StartRate and Stage.OfCapacity for a stage's Target.
	RateOfCapacity      bool
	StartRateOfCapacity bool
	TimeUnit            time.Duration // default 1s
	Duration            time.Duration // constant-arrival-rate, constant-vus
	StartRate           float64       // ramping-arrival-rate
	Stages              []Stage       // ramping-arrival-rate
	VUs                 int           // constant-vus
	MaxInFlight         int           // bound on concurrent requests (workers); default 1000
	// MaxLostWorkers and MaxLostShare are the budget of lost workers of a distributed run
	// (loadgen run --workers N): how many workers, or which share of the load (lost workers
	// over N, 0 to 1), may be lost before the run is INVALID; at most one is set. Default:
	// none lost. A run in one process ignores them.
	MaxLostWorkers int     `json:",omitempty"`
	MaxLostShare   float64 `json:",omitempty"`
}

// Stage ramps the rate linearly from the previous target to Target over Duration.
type Stage struct {
	Duration time.Duration
	Target   float64 // iterations per TimeUnit at the end of the stage
	// OfCapacity says Target is a multiple of the measured capacity.
	OfCapacity bool
}

// Threshold is one parsed k6-style expression on a metric, e.g. latency{request:enroll} p(99) < 250ms.
type Threshold struct {
	Metric      string            // one of Metrics: MetricLatency, ...
	Tags        map[string]string // TagRequest, TagWindow, TagProcess (as the metric's MetricDef allows)
	Source      string            // the expression as written
	Aggregation string            // AggPercentile, AggRate, ... (as the metric's MetricDef allows)
	Percentile  float64           // for p(N)
	Op          string            // < <= > >= == !=
	Value       float64           // in the Unit of the aggregation's AggregationDef: seconds, a fraction, a count, per second or bytes
	// OfCapacity says Value is a multiple of the measured capacity (throughput, goodput).
	OfCapacity     bool
	AbortOnFail    bool
	DelayAbortEval time.Duration
	Pos            Pos
}

// Fault is a scheduled fault (executed by the chaos issues; validated here).
type Fault struct {
	Name     string
	Kind     string // FaultNetworkDelay, FaultProcessKill, ...; see FaultKinds
	Target   string // edge | app | database | cache | a route
	At       time.Duration
	Duration time.Duration
	Params   map[string]string // checked, defaults filled in; percentages as "N%"; see ParamDuration and friends
	Toxicity float64           // share of connections, 0..1, default 1
	Mode     string            // one | all | fixed | percent (replicas); default one for process kinds, else all
	Value    string            // count for fixed, "N%" for percent
	Pos      Pos
}

// Pos is a place in the scenario file.
type Pos struct {
	Line, Column int
}

// Template is a parsed string template ({{ user.email }}, {{ uuid }}, ...).
// Build one with ParseTemplate or MustTemplate; one built as &Template{Source: s}
// still works but is parsed on every Execute. A Template is safe for concurrent use.
type Template struct {
	Source string

	parts  []part // parsed form, filled by ParseTemplate and Load
	json   bool   // values are written JSON-escaped (a rendered json: body)
	parsed bool
}

// Iteration is the state one iteration of the workload reads and writes:
// the pool rows it picked, its captured values, its sequence number and random source.
// An Iteration is used by one goroutine at a time.
type Iteration struct {
	Seq  uint64
	Vars map[string]string // captured values

	spec *Spec
	seed int64
	pcg  rand.PCG  // the source of rng, kept inline to save an allocation
	rng  rand.Rand // reads pcg; inline too
}
