# nuop: the manager binary and the two programs nuop scripts call, nu and kubectl, on a distroless base.
# Needs BuildKit (docker build, docker buildx, podman); builds linux/amd64 and linux/arm64, e.g.
#   docker buildx build --platform linux/amd64,linux/arm64 -t ${IMG} .
# Derived images add scripts with: FROM <this image>  +  COPY scripts/ /scripts/
# `make image` assembles the same linux/amd64 image without Docker (hack/image reads this file): keep the
# final stage to COPY, ENV, LABEL, WORKDIR, USER and ENTRYPOINT, which it knows how to apply.

# The versions the Makefile provisions for the tests (NUSHELL_VERSION, ENVTEST_K8S_VERSION): the image
# runs what was tested.
ARG NUSHELL_VERSION=0.115.1
ARG KUBECTL_VERSION=v1.37.2
# Image labels: docker buildx build --build-arg VERSION=... --build-arg REVISION=$(git rev-parse HEAD)
ARG VERSION=dev
ARG REVISION=unknown

# Build the manager binary. Go cross-compiles, so this stage runs on the build machine's platform.
FROM --platform=$BUILDPLATFORM golang:1.26 AS builder
ARG TARGETOS
ARG TARGETARCH

WORKDIR /workspace
# Copy the Go Modules manifests
COPY go.mod go.mod
COPY go.sum go.sum
# cache deps before building and copying source so that we don't need to re-download as much
# and so that source changes don't invalidate our downloaded layer
RUN go mod download

# Copy the go source (.dockerignore lets only go.mod, go.sum, cmd/, api/ and internal/ in; copying the
# context rather than each directory keeps the build working while api/ does not exist yet).
COPY . .

# Build
# GOARCH has no default so that a plain `docker build` targets the platform it runs on.
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -trimpath -o manager cmd/main.go

# nu from the npm registry. `npm pack` of the target's platform package (rather than `npm install
# nushell`, which picks the build machine's) lets this stage run natively when cross-building.
FROM --platform=$BUILDPLATFORM node:22-bookworm-slim AS nushell
ARG NUSHELL_VERSION
ARG TARGETARCH
WORKDIR /nu
RUN set -eu; \
    case "${TARGETARCH}" in \
      amd64) pkg=linux-x64 ;; \
      arm64) pkg=linux-arm64 ;; \
      *) echo "no nushell npm package for ${TARGETARCH}" >&2; exit 1 ;; \
    esac; \
    npm pack --silent "@nushell/${pkg}@${NUSHELL_VERSION}"; \
    tar -xzf "nushell-${pkg}-${NUSHELL_VERSION}.tgz" --strip-components=2 package/bin/nu; \
    test -x nu

# kubectl (statically linked) from the Kubernetes project's image, for the target platform.
FROM registry.k8s.io/kubectl:${KUBECTL_VERSION} AS kubectl

# @nushell/linux-x64 is a static (musl) build, so amd64 runs on distroless/static. @nushell/linux-arm64
# is built for aarch64-unknown-linux-gnu and needs glibc, which distroless/cc has: npm has no static
# arm64 nu (the nushell package's platform packages are the only ones), so arm64 is the exception.
FROM gcr.io/distroless/static:nonroot AS base-amd64
FROM gcr.io/distroless/cc-debian12:nonroot AS base-arm64

FROM base-${TARGETARCH}
ARG VERSION
ARG REVISION
LABEL org.opencontainers.image.title="nuop" \
      org.opencontainers.image.description="Kubernetes operators written as Nushell scripts, and a Gitea provider" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=builder /workspace/manager /manager
COPY --from=nushell /nu/nu /usr/local/bin/nu
COPY --from=kubectl /bin/kubectl /usr/local/bin/kubectl
# Scripts call nu and kubectl by name (the script engine runs "nu" from PATH). Distroless' own PATH,
# stated here so that the image does not depend on the base setting it.
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# HOME must be writable by any UID (pods may set runAsUser); /tmp is world-writable, and config/ mounts
# an emptyDir there for read-only root filesystems.
ENV HOME=/tmp
# Standard mode loads scripts from /scripts (--script-path / NUOP_SCRIPT_PATH). The examples ship there,
# as nuop's image shipped its own; a derived image replaces or adds to them (COPY scripts/ /scripts/).
COPY scripts/ /scripts/
WORKDIR /scripts
USER 65532:65532

ENTRYPOINT ["/manager"]
