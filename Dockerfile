# One image with the programs of loadlab: loadgen (the harness: run, coordinator, worker;
# k8s and chaos run loadgen-kube, beside it), loadgen-kube (the Kubernetes side: manifests,
# Chaos Mesh objects, a cluster run's faults) and academy (the reference service).
# `loadgen k8s render` runs them from it.
#
#   docker build -t ghcr.io/trendtactics/loadlab:dev .
#
# Static binaries (CGO_ENABLED=0; the academy's web assets are embedded), run as the
# unprivileged user 65532 of a distroless base: no shell, no package manager.
# docs/kubernetes.md says what of it was tested where it was written (no container runtime).

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/ ./cmd/loadgen ./cmd/loadgen-kube ./cmd/academy

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/loadgen /usr/local/bin/loadgen
COPY --from=build /out/loadgen-kube /usr/local/bin/loadgen-kube
COPY --from=build /out/academy /usr/local/bin/academy
USER 65532:65532
EXPOSE 8080 7070
ENTRYPOINT ["/usr/local/bin/loadgen"]
