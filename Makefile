GO ?= go
BIN := bin

.PHONY: build test test-short bench demo fmt vet fuzz

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# The whole suite: gofmt, vet, and every test under the race detector.
test:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -race -timeout 15m ./...

bench: build
	./scripts/bench.sh

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	$(GO) vet ./...
