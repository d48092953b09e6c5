#!/usr/bin/env bash
# Builds kube-apiserver from the Go module proxy (no Docker, no release download) and caches it,
# keyed by version, for internal/testutil/kubetest. Prints the binary's path.
#
#   scripts/kube-apiserver.sh            # build (about 4 minutes on 2 cores) or reuse the cache
#   KUBE_VERSION=1.34.4 scripts/kube-apiserver.sh
#
# `go install k8s.io/kubernetes/cmd/kube-apiserver@v...` is refused: k8s.io/kubernetes replaces
# its staging modules (k8s.io/api, k8s.io/apiserver, ...) with local directories. A throwaway
# module that replaces each of them by its released version (v0.<minor>.<patch>) builds it.
# The cache: $KUBE_APISERVER_CACHE, else ${XDG_CACHE_HOME:-$HOME/.cache}/loadlab.
set -euo pipefail
V=${KUBE_VERSION:-1.34.4}
S=0.${V#1.}
CACHE=${KUBE_APISERVER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/loadlab}
OUT=$CACHE/kube-apiserver-$V
if [ -x "$OUT" ]; then echo "$OUT"; exit 0; fi
GO=${GO:-go}
mkdir -p "$CACHE"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
GOMOD=$(GOFLAGS= "$GO" mod download -json "k8s.io/kubernetes@v$V" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
[ -f "$GOMOD" ] || { echo "kube-apiserver.sh: no go.mod for k8s.io/kubernetes@v$V" >&2; exit 1; }
{
  echo "module kapi"
  echo
  echo "go 1.26"
  echo
  echo "require k8s.io/kubernetes v$V"
  echo
  echo "replace ("
  sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => \./staging/src/k8s.io/.*$#\t\1 => \1 v'"$S"'#p' "$GOMOD"
  echo ")"
} > go.mod
printf 'package main\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver/app"\n\nfunc main() {}\n' > main.go
GOFLAGS=-mod=mod "$GO" mod tidy >&2
GOFLAGS=-mod=mod CGO_ENABLED=0 "$GO" build -trimpath -o "$WORK/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver >&2
mv "$WORK/kube-apiserver" "$OUT.tmp.$$" && mv "$OUT.tmp.$$" "$OUT"
echo "$OUT"
