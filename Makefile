GO ?= go
BIN := bin

.PHONY: build test bench bench-soak demo drills fmt vet fuzz

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# The whole suite: gofmt, vet, and every test under the race detector. cmd/loadgen runs
# alone, after the others: its labs and drills measure the academy on this machine (the
# overload drill measures a capacity, then holds the academy to it), and other packages'
# tests running beside them would be part of what they measure.
test:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -race -timeout 15m $$($(GO) list ./... | grep -v '/cmd/loadgen$$')
	$(GO) test -race -timeout 15m ./cmd/loadgen

VEGETA_VERSION = $(shell $(GO) list -m -f '{{.Version}}' github.com/tsenart/vegeta/v12)

# Performance figures: loadgen against the vegeta CLI of the same version on one minimal
# server, then the Go benchmarks of every package. Figures, never pass/fail timings.
bench: build
	GOBIN=$(CURDIR)/$(BIN) $(GO) install github.com/tsenart/vegeta/v12@$(VEGETA_VERSION)
	$(GO) run ./cmd/loadbench -loadgen $(BIN)/loadgen -vegeta $(BIN)/vegeta
	$(GO) test -run '^$$' -bench . -benchmem ./...

# The memory soak of issue 2: loadgen at 2000/s for 10 minutes, RSS at minute 1 against the end.
bench-soak: build
	$(GO) run ./cmd/loadbench -loadgen $(BIN)/loadgen -vegeta $(BIN)/vegeta -soak 10m -soak-rate 2000

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
