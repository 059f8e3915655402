# Image URL to use all building/pushing image targets
IMG ?= controller:latest

# Setting SHELL to bash allows bash commands to be executed by recipes.
# Options are set to exit when a recipe line exits non-zero or a piped command fails.
SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

# CONTAINER_TOOL defines the container tool to be used for building images.
CONTAINER_TOOL ?= docker

.PHONY: all
all: build

##@ General

# The help target prints out all targets with their descriptions organized
# beneath their categories. The categories are represented by '##@' and the
# target descriptions by '##'.
.PHONY: help
help: ## Display this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate ClusterRole and CustomResourceDefinition objects.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./..." output:crd:artifacts:config=config/crd/bases

.PHONY: generate
generate: controller-gen ## Generate code containing DeepCopy, DeepCopyInto, and DeepCopyObject method implementations.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./..."

.PHONY: fmt
fmt: ## Run go fmt against code.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet against code.
	go vet ./...

# Every suite runs against real parts: envtest's kube-apiserver and etcd (built from Go modules by
# hack/tools.sh), the real nu, a real Gitea (found under NUOP_BIN_DIR by test/utils/giteaserver), the
# built manager binary. test/e2e needs no cluster, so it runs here too. test/monitoring is a module of its
# own (Prometheus' parser and the Prometheus Operator's CRDs stay out of go.mod), so ./... does not reach it.
# Both run uncached (-count=1): several suites build and run the manager binary (`go build ./cmd`), and Go's
# test cache cannot see what that build read, so a cached pass could hide a change to the manager.
.PHONY: test
test: manifests generate fmt vet envtest kubectl kustomize nu gitea ## Run all tests (unit, envtest suites, end to end, monitoring).
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" NUOP_BIN_DIR="$(LOCALBIN)" go test ./... -count=1 -timeout 20m -coverprofile cover.out
	cd test/monitoring && KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" NUOP_BIN_DIR="$(LOCALBIN)" go test ./... -count=1 -timeout 10m

.PHONY: test-e2e
test-e2e: manifests generate envtest kustomize nu gitea ## Run only the end-to-end suite, verbosely.
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" NUOP_BIN_DIR="$(LOCALBIN)" go test ./test/e2e/ -timeout 20m -v -ginkgo.v

# A measurement, not a test (not part of `make test`): N labelled ConfigMaps through a write-back script on
# the built manager against envtest (docs/benchmarks.md). Flags go in BENCH_ARGS, e.g.
# BENCH_ARGS="-n 1000 -unrelated 0 -concurrency 4 -kube-api-qps 1000 -kube-api-burst 2000".
.PHONY: bench
bench: envtest nu gitea ## Run both benchmarks (script engine, Gitea managed resources) and print their reports (docs/benchmarks.md).
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" NUOP_BIN_DIR="$(LOCALBIN)" go run ./test/bench/engine $(BENCH_ARGS)
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" NUOP_BIN_DIR="$(LOCALBIN)" go run ./test/bench/gitea $(BENCH_GITEA_ARGS)

# The Gitea managed-resources benchmark alone: N Repositories, each with a Webhook and a Label, against a real
# Gitea (docs/benchmarks.md). Flags go in BENCH_GITEA_ARGS, e.g. BENCH_GITEA_ARGS="-n 50 -check".
.PHONY: bench-gitea
bench-gitea: envtest gitea ## Run the Gitea managed-resources benchmark and print its report (docs/benchmarks.md).
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" NUOP_BIN_DIR="$(LOCALBIN)" go run ./test/bench/gitea $(BENCH_GITEA_ARGS)

.PHONY: lint
lint: golangci-lint ## Run golangci-lint linter.
	$(GOLANGCI_LINT) run

.PHONY: lint-fix
lint-fix: golangci-lint ## Run golangci-lint linter and perform fixes.
	$(GOLANGCI_LINT) run --fix

.PHONY: lint-config
lint-config: golangci-lint ## Verify golangci-lint linter configuration.
	$(GOLANGCI_LINT) config verify

# A local control plane (etcd + kube-apiserver) with the CRDs installed and the manager running against
# it; prints what to look at; Ctrl-C stops everything.
.PHONY: demo
demo: manifests build envtest kubectl kustomize nu gitea ## Run nuop and its example scripts on a local control plane it starts itself.
	go build -o $(LOCALBIN)/demo ./hack/demo
	$(LOCALBIN)/demo --assets "$(ENVTEST_ASSETS)" --manager $(LOCALBIN)/manager --kubectl $(KUBECTL) \
		--kustomize $(KUSTOMIZE) --gitea $(GITEA) --crds config/crd/bases --samples config/samples

##@ Build

.PHONY: build
build: manifests generate fmt vet ## Build manager binary.
	go build -o $(LOCALBIN)/manager cmd/main.go

.PHONY: run
run: manifests generate fmt vet ## Run a controller from your host against the cluster of your kubeconfig.
	go run ./cmd/main.go

# If you wish to build the manager image targeting other platforms you can use the --platform flag.
# (i.e. docker build --platform linux/arm64). However, you must enable docker buildKit for it.
# More info: https://docs.docker.com/develop/develop-images/build_enhancements/
.PHONY: docker-build
docker-build: ## Build docker image with the manager.
	$(CONTAINER_TOOL) build -t ${IMG} .

.PHONY: docker-push
docker-push: ## Push docker image with the manager.
	$(CONTAINER_TOOL) push ${IMG}

# PLATFORMS defines the target platforms for the manager image be built to provide support to multiple
# architectures. To use this option you need to:
# - be able to use docker buildx. More info: https://docs.docker.com/build/buildx/
# - have enabled BuildKit. More info: https://docs.docker.com/develop/develop-images/build_enhancements/
# - be able to push the image to your registry (i.e. if you do not set a valid value via IMG=<myregistry/image:<tag>> then the export will fail)
PLATFORMS ?= linux/arm64,linux/amd64
.PHONY: docker-buildx
docker-buildx: ## Build and push docker image for the manager for cross-platform support
	- $(CONTAINER_TOOL) buildx create --name nuop-builder
	$(CONTAINER_TOOL) buildx use nuop-builder
	- $(CONTAINER_TOOL) buildx build --push --platform=$(PLATFORMS) --tag ${IMG} .
	- $(CONTAINER_TOOL) buildx rm nuop-builder

# The Dockerfile's linux/amd64 image without a Docker engine, as an OCI image layout in IMAGE_DIR
# (docs/operations.md#image): hack/image applies the Dockerfile's final stage to BASE_IMAGE (an OCI image
# layout, e.g. `crane pull --format=oci gcr.io/distroless/static:nonroot base`), else to a stand-in for
# distroless static, with this machine's static manager build, nu and kubectl in place of its stages.
IMAGE_DIR ?= dist/image
BASE_IMAGE ?=
.PHONY: image
image: nu kubectl ## Assemble the image as an OCI layout in dist/image, without Docker (BASE_IMAGE=<layout> for a base).
	mkdir -p dist/image-build
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -o dist/image-build/manager ./cmd
	SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct) go run ./hack/image -o $(IMAGE_DIR) $(if $(BASE_IMAGE),-base $(BASE_IMAGE)) \
		-from builder=dist/image-build/manager -from nushell=$(NU) -from kubectl=$(KUBECTL) \
		-build-arg VERSION=$$(git describe --tags --always --dirty) -build-arg REVISION=$$(git rev-parse HEAD)

.PHONY: build-installer
build-installer: manifests generate kustomize ## Generate a consolidated YAML with CRDs and deployment.
	mkdir -p dist
	cd config/manager && $(KUSTOMIZE) edit set image controller=${IMG}
	$(KUSTOMIZE) build config/default > dist/install.yaml

##@ Bundle (OLM)

# VERSION is the operator's version in the OLM bundle (the CSV's spec.version, its name nuop.v$(VERSION)).
# Another bundle: `make bundle VERSION=0.2.0 IMG=registry.example.com/nuop:v0.2.0`.
VERSION ?= 0.1.0
# CHANNELS (comma-separated) and DEFAULT_CHANNEL place the bundle in the package's channels.
CHANNELS ?= alpha
DEFAULT_CHANNEL ?= alpha
BUNDLE_METADATA_OPTS ?= --channels=$(CHANNELS) --default-channel=$(DEFAULT_CHANNEL)
# IMAGE_TAG_BASE names the bundle image: $(IMAGE_TAG_BASE)-bundle:v$(VERSION).
IMAGE_TAG_BASE ?= kemper.buzz/nuop
BUNDLE_IMG ?= $(IMAGE_TAG_BASE)-bundle:v$(VERSION)
# The flags of `operator-sdk generate bundle`; hack/bundle takes the same.
BUNDLE_GEN_FLAGS ?= -q --overwrite --version $(VERSION) $(BUNDLE_METADATA_OPTS)
# operator-sdk makes and validates the bundle when it is on PATH; without it hack/bundle makes it from the
# same kustomize output (test/bundle checks either against config/). `operator-sdk generate kustomize
# manifests` is not run: for each kind whose Go type it finds under api/ it replaces the CSV base's entry
# with one made from API markers, and the descriptors are written in the base, not in markers.
OPERATOR_SDK ?= $(shell command -v operator-sdk 2>/dev/null)

.PHONY: bundle
bundle: manifests kustomize ## Generate the OLM bundle (bundle/, bundle.Dockerfile) from config/manifests; IMG, VERSION, CHANNELS.
	cd config/manager && $(KUSTOMIZE) edit set image controller=${IMG}
ifneq ($(OPERATOR_SDK),)
	$(KUSTOMIZE) build config/manifests | $(OPERATOR_SDK) generate bundle $(BUNDLE_GEN_FLAGS)
	$(OPERATOR_SDK) bundle validate ./bundle
else
	$(KUSTOMIZE) build config/manifests | go run ./hack/bundle $(BUNDLE_GEN_FLAGS)
endif

# bundle.Dockerfile.dockerignore lets bundle/ into the build context, which .dockerignore keeps out.
.PHONY: bundle-build
bundle-build: ## Build the bundle image (BUNDLE_IMG).
	$(CONTAINER_TOOL) build -f bundle.Dockerfile -t $(BUNDLE_IMG) .

.PHONY: bundle-push
bundle-push: ## Push the bundle image.
	$(MAKE) docker-push IMG=$(BUNDLE_IMG)

##@ Deployment

ifndef ignore-not-found
  ignore-not-found = false
endif

.PHONY: install
install: manifests kustomize kubectl ## Install CRDs into the K8s cluster specified in ~/.kube/config.
	@out="$$($(KUSTOMIZE) build config/crd 2>/dev/null || true)"; \
	if [ -n "$$out" ]; then echo "$$out" | $(KUBECTL) apply --server-side -f -; else echo "No CRDs to install."; fi

.PHONY: uninstall
uninstall: manifests kustomize kubectl ## Uninstall CRDs from the K8s cluster specified in ~/.kube/config. Call with ignore-not-found=true to ignore resource not found errors during deletion.
	@out="$$($(KUSTOMIZE) build config/crd 2>/dev/null || true)"; \
	if [ -n "$$out" ]; then echo "$$out" | $(KUBECTL) delete --ignore-not-found=$(ignore-not-found) -f -; else echo "No CRDs to uninstall."; fi

# What `make deploy` and `make undeploy` apply: config/default, or an overlay built on it, e.g.
# DEPLOY_CONFIG=config/overlays/production (docs/operations.md, "Install").
DEPLOY_CONFIG ?= config/default

.PHONY: deploy
deploy: manifests kustomize kubectl ## Deploy the manager (DEPLOY_CONFIG, default config/default) with image IMG to the K8s cluster specified in ~/.kube/config.
	cd config/manager && $(KUSTOMIZE) edit set image controller=${IMG}
	$(KUSTOMIZE) build $(DEPLOY_CONFIG) | $(KUBECTL) apply --server-side -f -

.PHONY: undeploy
undeploy: kustomize kubectl ## Undeploy what `make deploy` applied (DEPLOY_CONFIG) from the K8s cluster specified in ~/.kube/config; release finalizers first (docs/operations.md, "Uninstall"). Call with ignore-not-found=true to ignore resource not found errors during deletion.
	$(KUSTOMIZE) build $(DEPLOY_CONFIG) | $(KUBECTL) delete --ignore-not-found=$(ignore-not-found) -f -

STANDARD_CONFIG = config/overlays/standard-mode

.PHONY: deploy-standard
deploy-standard: kustomize kubectl ## Deploy a standard-mode operator running the scripts baked into image IMG (config/overlays/standard-mode).
	cd $(STANDARD_CONFIG) && $(KUSTOMIZE) edit set image controller=${IMG}
	$(KUSTOMIZE) build $(STANDARD_CONFIG) | $(KUBECTL) apply --server-side -f -

.PHONY: undeploy-standard
undeploy-standard: kustomize kubectl ## Undeploy the standard-mode operator; release its scripts' finalizers after (docs/operations.md, "Uninstall").
	$(KUSTOMIZE) build $(STANDARD_CONFIG) | $(KUBECTL) delete --ignore-not-found=$(ignore-not-found) -f -

##@ Dependencies

# Every tool is provisioned by hack/tools.sh from the Go module proxy or npm, pinned, and cached per
# machine under TOOLS_CACHE (set it to an empty directory to simulate a cold machine); bin/ holds links.
LOCALBIN ?= $(shell pwd)/bin
TOOLS_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/nuop-tools

## Tool Versions
CONTROLLER_TOOLS_VERSION ?= v0.23.0
KUSTOMIZE_VERSION ?= v5.8.1
GOLANGCI_LINT_VERSION ?= v2.15.0
ENVTEST_K8S_VERSION ?= 1.37.2
ETCD_VERSION ?= v3.6.16
NUSHELL_VERSION ?= 0.115.1
GITEA_VERSION ?= 1.26.0
export CONTROLLER_TOOLS_VERSION KUSTOMIZE_VERSION GOLANGCI_LINT_VERSION ENVTEST_K8S_VERSION ETCD_VERSION \
	NUSHELL_VERSION GITEA_VERSION TOOLS_CACHE

## Tool Binaries
KUBECTL ?= $(LOCALBIN)/kubectl
KUSTOMIZE ?= $(LOCALBIN)/kustomize
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint
NU ?= $(LOCALBIN)/nu
GITEA ?= $(LOCALBIN)/gitea
ENVTEST_ASSETS ?= $(LOCALBIN)/k8s/$(ENVTEST_K8S_VERSION)-$(shell go env GOOS)-$(shell go env GOARCH)

TOOLS_SH = BIN_DIR=$(LOCALBIN) hack/tools.sh

.PHONY: tools
tools: ## Provision every tool (first time on a machine about 15 minutes; then seconds).
	$(TOOLS_SH) all

# These run the provisioning script every time: it returns in milliseconds when the pinned version is
# cached, and make cannot see the cache's contents to decide by itself.
.PHONY: controller-gen kustomize golangci-lint envtest kubectl nu gitea
controller-gen: ## Provision controller-gen.
	@$(TOOLS_SH) controller-gen
kustomize: ## Provision kustomize.
	@$(TOOLS_SH) kustomize
golangci-lint: ## Provision golangci-lint.
	@$(TOOLS_SH) golangci-lint
envtest: ## Provision the envtest binaries (kube-apiserver, etcd) under bin/k8s/.
	@$(TOOLS_SH) envtest
kubectl: ## Provision kubectl.
	@$(TOOLS_SH) kubectl
nu: ## Provision nu (Nushell).
	@$(TOOLS_SH) nu
gitea: ## Provision the Gitea server binary.
	@$(TOOLS_SH) gitea
