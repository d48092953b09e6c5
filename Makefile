GO ?= go
BIN := bin

.PHONY: build install test bench bench-soak demo drills fmt vet fuzz kube-apiserver

# loadgen runs loadgen-kube (the Kubernetes side) from beside itself: build and install both.
build:
	$(GO) build -o $(BIN)/ ./cmd/...

install:
	$(GO) install ./cmd/loadgen ./cmd/loadgen-kube ./cmd/academy

# The whole suite: gofmt, vet, and every test under the race detector. cmd/loadgen runs
# alone, after the others: its labs and drills measure the academy on this machine (the
# overload drill measures a capacity, then holds the academy to it), and other packages'
# tests running beside them would be part of what they measure. Its timeout is generous:
# about 11 minutes on a quiet 2-core machine, 14 at load average 10; a time-out panics
# and loses every other test's verdict.
test:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -race -timeout 15m $$($(GO) list ./... | grep -v '/cmd/loadgen$$')
	$(GO) test -race -timeout 30m ./cmd/loadgen

# The real kube-apiserver of the Kubernetes tests (internal/testutil/kubetest), built from the Go
# module proxy into ~/.cache/loadlab (about 4 minutes, once); with etcd (apt-get install
# etcd-server) those tests run, without them they skip. .ci/run does both.
kube-apiserver:
	scripts/kube-apiserver.sh

VEGETA_VERSION = $(shell $(GO) list -m -f '{{.Version}}' github.com/tsenart/vegeta/v12)
BOMBARDIER_VERSION = v1.2.6
BENCH_RATE ?= 5000
BENCH_DURATION ?= 10s
BENCH_ROUNDS ?= 3

# Performance figures (issue 12): loadgen (once per transport), the vegeta CLI of go.mod's
# version, bombardier and wrk, each pinned to core 1 against one minimal server pinned to
# core 0, 64 connections, at $(BENCH_RATE)/s and at its maximum, $(BENCH_ROUNDS) rounds with the
# tools in turn (medians; each ratio the median of the rounds'); then the Go benchmarks of every
# package. Figures, never pass/fail timings. wrk comes from Debian (apt-get install -y wrk):
# without it its row is skipped.
bench: build
	GOBIN=$(CURDIR)/$(BIN) $(GO) install github.com/tsenart/vegeta/v12@$(VEGETA_VERSION)
	GOBIN=$(CURDIR)/$(BIN) $(GO) install github.com/codesenberg/bombardier@$(BOMBARDIER_VERSION)
	@command -v wrk >/dev/null || echo "bench: wrk is not installed (Debian: apt-get install -y wrk); its row is skipped"
	$(BIN)/loadbench -loadgen $(BIN)/loadgen -vegeta $(BIN)/vegeta -bombardier $(BIN)/bombardier \
	  -rate $(BENCH_RATE) -duration $(BENCH_DURATION) -rounds $(BENCH_ROUNDS)
	$(GO) test -run '^$$' -bench . -benchmem ./...

# The memory soak of issue 12: loadgen alone at 2000/s for 10 minutes, RSS, live heap and
# goroutines once a minute, RSS at minute 1 against the end. Short: make bench-soak SOAK=2m.
SOAK ?= 10m
SOAK_RATE ?= 2000
bench-soak: build
	$(BIN)/loadbench -loadgen $(BIN)/loadgen -soak $(SOAK) -soak-rate $(SOAK_RATE)

# The main job: the enroll-spike scenario in a local lab (PostgreSQL, Redis, two academy
# replicas, fault proxies), a database slowdown during a 10x spike, the verdict and the result.
demo: build
	$(BIN)/loadgen run scenarios/enroll-spike.yaml --out out/demo --report json,md,html --lab-log out/demo/lab.log

# The game-day drills of scenarios/drills at full length (browse-soak alone lasts 30 minutes);
# CI runs them shortened (--time-scale) in cmd/loadgen's TestDrills.
drills: build
	@s=0; for f in scenarios/drills/*.yaml; do \
	  $(BIN)/loadgen run "$$f" --out results/drills/$$(basename $$f .yaml) --report json,junit,md,html || s=1; \
	done; exit $$s

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	$(GO) vet ./...
