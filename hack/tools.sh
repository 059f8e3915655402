#!/usr/bin/env bash
# Provisions every tool the Makefile and the tests call, from the Go module proxy and the npm registry
# only (these machines reach nothing else), pinned, and cached per machine outside the clone:
#
#   $TOOLS_CACHE/<tool>/<version>-<os>-<arch>/...
#
# so that a second run (or a second clone) spends seconds here, not minutes. Each tool is built in a
# scratch directory and moved into place only when complete, under a lock, so an interrupted or
# concurrent run never leaves a half-built tool behind. Links to the cached binaries go into $BIN_DIR.
#
# Usage: hack/tools.sh TOOL...   (TOOL: controller-gen kustomize golangci-lint envtest kubectl nu gitea all)
# Versions come from the environment (the Makefile passes them); the defaults below match it.
set -Eeuo pipefail

: "${CONTROLLER_TOOLS_VERSION:=v0.23.0}"
: "${KUSTOMIZE_VERSION:=v5.8.1}"
: "${GOLANGCI_LINT_VERSION:=v2.15.0}"
: "${ENVTEST_K8S_VERSION:=1.37.2}"
: "${ETCD_VERSION:=v3.6.16}"
: "${NUSHELL_VERSION:=0.115.1}"
: "${GITEA_VERSION:=1.26.0}"
: "${TOOLS_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/nuop-tools}"
: "${BIN_DIR:=$(cd "$(dirname "$0")/.." && pwd)/bin}"

# Builds must use this machine's Go and the proxy; a module asking for a newer toolchain is an error to
# report, not a download to attempt. A workspace or vendor setting of the caller must not leak in.
export GOTOOLCHAIN=local GOWORK=off GOFLAGS=-mod=mod
platform="$(go env GOOS)-$(go env GOARCH)"
mkdir -p "$TOOLS_CACHE" "$BIN_DIR"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# current_tool is named in the failure message so a person knows what broke and how to retry; an
# EXIT trap (not ERR: it must also see `die` and signals) removes the scratch directory of a failed build.
current_tool=""
scratch_dir=""
log_file=""
on_exit() {
	local rc=$?
	[ -n "$scratch_dir" ] && rm -rf "$scratch_dir"
	if [ "$rc" -ne 0 ] && [ -n "$current_tool" ]; then
		printf '\nERROR: provisioning %s failed (exit %s); nothing half-built was kept.\n' "$current_tool" "$rc" >&2
		printf '       Retry with: make tools   (or: hack/tools.sh %s)\n' "$current_tool" >&2
		[ -z "$log_file" ] || printf '       Build log: %s\n' "$log_file" >&2
	fi
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# check_disk GB WHAT: long builds grow the module cache by gigabytes; say so before starting rather
# than failing halfway with ENOSPC.
check_disk() {
	local need_gb=$1 what=$2 dir avail_kb
	for dir in "$TOOLS_CACHE" "$(go env GOMODCACHE)" "$(go env GOCACHE)"; do
		mkdir -p "$dir"
		avail_kb=$(df -Pk "$dir" | awk 'NR==2 {print $4}')
		if [ "$avail_kb" -lt $((need_gb * 1024 * 1024)) ]; then
			say "WARNING: only $((avail_kb / 1024)) MiB free under $dir; $what needs about ${need_gb} GiB (module and build caches)."
			if [ "$avail_kb" -lt $((1024 * 1024)) ]; then
				die "less than 1 GiB free under $dir: free some space (go clean -cache -modcache) and retry."
			fi
		fi
	done
}

# install_tool NAME VERSION MARKER BUILD_FN: runs BUILD_FN DIR in a scratch directory unless the cached
# DIR already holds MARKER (a path relative to it), then publishes it atomically.
install_tool() {
	local name=$1 version=$2 marker=$3 build_fn=$4
	local dest="$TOOLS_CACHE/$name/$version-$platform"
	current_tool=$name
	if [ -e "$dest/$marker" ]; then
		return 0
	fi
	mkdir -p "$TOOLS_CACHE/$name"
	exec 9>"$TOOLS_CACHE/$name/.lock"
	flock 9
	if [ ! -e "$dest/$marker" ]; then
		scratch_dir=$(mktemp -d "$TOOLS_CACHE/$name/.build.XXXXXX")
		chmod 755 "$scratch_dir"
		log_file="$scratch_dir.log"
		: >"$log_file"
		"$build_fn" "$scratch_dir" "$version"
		rm -rf "$dest"
		mv "$scratch_dir" "$dest"
		scratch_dir=""
		rm -f "$log_file"
		log_file=""
	fi
	flock -u 9
	exec 9>&-
}

# link NAME TARGET: bin/NAME -> TARGET, replaced atomically.
link() {
	mkdir -p "$(dirname "$BIN_DIR/$1")"
	ln -sfn "$2" "$BIN_DIR/$1.tmp.$$"
	mv -T "$BIN_DIR/$1.tmp.$$" "$BIN_DIR/$1"
}

# run_logged CMD...: keeps long builds quiet unless they fail, then shows the tail of the log.
run_logged() {
	if ! "$@" >>"$log_file" 2>&1; then
		tail -n 40 "$log_file" >&2
		return 1
	fi
}

go_install() { # DIR PKG@VERSION
	GOBIN="$1" run_logged go install "$2"
}

build_controller_gen() {
	say "installing controller-gen $2 from Go modules (first time only, about 30 seconds)"
	go_install "$1" "sigs.k8s.io/controller-tools/cmd/controller-gen@$2"
}

build_kustomize() {
	say "installing kustomize $2 from Go modules (first time only, about 20 seconds)"
	go_install "$1" "sigs.k8s.io/kustomize/kustomize/v5@$2"
}

build_golangci_lint() {
	say "installing golangci-lint $2 from Go modules (first time only, about 2 minutes)"
	go_install "$1" "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$2"
}

# new_module DIR: a throw-away module with a tools.go importing the given commands, so `go mod tidy`
# resolves exactly what they need.
new_module() {
	local dir=$1
	shift
	mkdir -p "$dir"
	printf 'module nuop.local/toolbuild\n\ngo %s\n' "$(go env GOVERSION | sed -E 's/^go([0-9]+\.[0-9]+).*/\1/')" >"$dir/go.mod"
	{
		printf '//go:build tools\n\npackage tools\n\nimport (\n'
		for pkg in "$@"; do printf '\t_ "%s"\n' "$pkg"; done
		printf ')\n'
	} >"$dir/tools.go"
}

# module_gomod MODULE@VERSION: path of that module's go.mod in the module cache.
module_gomod() {
	go mod download -json "$1" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p'
}

# kube-apiserver and kubectl: k8s.io/kubernetes replaces its staging modules with ./staging paths, so
# it cannot be `go install`ed; a module of our own points each of them at its published v0.x twin.
# kubernetes_module DIR VERSION CMD: that module, for k8s.io/kubernetes/cmd/CMD, tidied.
kubernetes_module() {
	local src=$1 version=$2 cmd=$3
	local staging="v0.${version#1.}"
	new_module "$src" "k8s.io/kubernetes/cmd/$cmd"
	local gomod
	gomod=$(cd "$src" && module_gomod "k8s.io/kubernetes@v$version")
	{
		printf '\nrequire k8s.io/kubernetes v%s\n\nreplace (\n' "$version"
		sed -n -E 's#^[[:space:]]*(k8s\.io/[^[:space:]]+)[[:space:]]+=>[[:space:]]+\./staging/.*#\t\1 => \1 '"$staging"'#p' "$gomod"
		printf ')\n'
	} >>"$src/go.mod"
	grep -q '=>' "$src/go.mod" || die "found no staging replacements in $gomod"
	(cd "$src" && run_logged go mod tidy)
}

# kubernetes_build DIR VERSION CMD: builds k8s.io/kubernetes/cmd/CMD into DIR, stamped with VERSION (else
# it reports v0.0.0-master).
kubernetes_build() {
	local out=$1 version=$2 cmd=$3 src="$1/.src"
	kubernetes_module "$src" "$version" "$cmd"
	local minor=${version#*.}
	minor=${minor%%.*}
	local ldflags="-s -w"
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ldflags+=" -X $pkg.gitVersion=v$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
	done
	(cd "$src" && run_logged go build -trimpath -ldflags "$ldflags" -o "$out/$cmd" "k8s.io/kubernetes/cmd/$cmd")
	rm -rf "$src"
}

build_kube_apiserver() {
	check_disk 6 "building kube-apiserver"
	say "building kube-apiserver v$2 from Go modules (first time only, about 5 minutes; the module cache grows by about 4 GB)"
	kubernetes_build "$1" "$2" kube-apiserver
}

# kubectl goes into nuop's image (distroless static, no libc): built without cgo, as Kubernetes' own
# release binaries are, so it is statically linked.
build_kubectl() {
	check_disk 6 "building kubectl"
	say "building kubectl v$2 from Go modules (first time only, about 1 minute once kube-apiserver is built)"
	CGO_ENABLED=0 kubernetes_build "$1" "$2" kubectl
}

# etcd's server module has replace directives too; requiring its sibling modules at one version is enough.
build_etcd() {
	local out=$1 version=$2 src="$1/.src"
	check_disk 2 "building etcd"
	say "building etcd $version from Go modules (first time only, about 1 minute)"
	new_module "$src" go.etcd.io/etcd/server/v3
	{
		printf '\nrequire (\n'
		for m in server/v3 api/v3 client/pkg/v3 client/v3 pkg/v3; do printf '\tgo.etcd.io/etcd/%s %s\n' "$m" "$version"; done
		printf ')\n'
	} >>"$src/go.mod"
	(cd "$src" && run_logged go mod tidy)
	(cd "$src" && run_logged go build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3)
	rm -rf "$src"
}

build_nu() {
	local out=$1 version=$2
	say "installing nu $version from the npm package nushell (first time only, about 20 seconds)"
	command -v npm >/dev/null || die "npm is needed to install nu (apt-get install -y npm, or Node.js from your distribution)"
	run_logged npm install --prefix "$out" --no-audit --no-fund --no-save --ignore-scripts "nushell@$version"
	# Relative, because $out is a scratch directory that is renamed into the cache afterwards.
	local bin="node_modules/@nushell/$(go env GOOS)-$(go env GOARCH | sed 's/amd64/x64/')/bin/nu"
	[ -x "$out/$bin" ] || die "the nushell package did not contain $bin"
	ln -s "$bin" "$out/nu"
	"$out/nu" --version >/dev/null
}

# Gitea: its go.mod has replace lines of its own that a dependent module must repeat. Without the
# bindata tag it reads templates and locales from disk, so they are copied beside the binary.
build_gitea() {
	local out=$1 version=$2 src="$1/.src"
	check_disk 4 "building gitea"
	say "building gitea $version from Go modules (first time only, about 5 minutes)"
	new_module "$src" code.gitea.io/gitea
	local gomod
	gomod=$(cd "$src" && module_gomod "code.gitea.io/gitea@v$version")
	{
		printf '\nrequire code.gitea.io/gitea v%s\n\n' "$version"
		awk '/^replace[[:space:]]*\($/ {blk=1; print; next} blk {print; if ($0 ~ /^\)/) blk=0; next} /^replace / {print}' "$gomod"
	} >>"$src/go.mod"
	(cd "$src" && run_logged go mod tidy)
	(cd "$src" && CGO_ENABLED=1 run_logged go build -trimpath -tags "sqlite sqlite_unlock_notify" \
		-ldflags "-s -w -X main.Version=$version -X 'main.Tags=sqlite sqlite_unlock_notify'" -o "$out/gitea" code.gitea.io/gitea)
	local moddir
	moddir=$(cd "$src" && go list -m -f '{{.Dir}}' code.gitea.io/gitea)
	cp -r "$moddir/templates" "$moddir/options" "$out/"
	chmod -R u+w "$out/templates" "$out/options"
	rm -rf "$src"
}

provision() {
	local cache
	case "$1" in
	controller-gen)
		install_tool controller-gen "$CONTROLLER_TOOLS_VERSION" controller-gen build_controller_gen
		link controller-gen "$TOOLS_CACHE/controller-gen/$CONTROLLER_TOOLS_VERSION-$platform/controller-gen"
		;;
	kustomize)
		install_tool kustomize "$KUSTOMIZE_VERSION" kustomize build_kustomize
		link kustomize "$TOOLS_CACHE/kustomize/$KUSTOMIZE_VERSION-$platform/kustomize"
		;;
	golangci-lint)
		install_tool golangci-lint "$GOLANGCI_LINT_VERSION" golangci-lint build_golangci_lint
		link golangci-lint "$TOOLS_CACHE/golangci-lint/$GOLANGCI_LINT_VERSION-$platform/golangci-lint"
		;;
	envtest | kubectl)
		install_tool kubernetes "$ENVTEST_K8S_VERSION" kube-apiserver build_kube_apiserver
		install_tool kubectl "$ENVTEST_K8S_VERSION" kubectl build_kubectl
		install_tool etcd "$ETCD_VERSION" etcd build_etcd
		cache="$TOOLS_CACHE/kubectl/$ENVTEST_K8S_VERSION-$platform/kubectl"
		# The layout setup-envtest and the Kubebuilder suite use: bin/k8s/<version>-<os>-<arch>/.
		local assets="k8s/$ENVTEST_K8S_VERSION-$platform"
		link "$assets/kube-apiserver" "$TOOLS_CACHE/kubernetes/$ENVTEST_K8S_VERSION-$platform/kube-apiserver"
		link "$assets/kubectl" "$cache"
		link "$assets/etcd" "$TOOLS_CACHE/etcd/$ETCD_VERSION-$platform/etcd"
		link kubectl "$cache"
		;;
	nu)
		install_tool nu "$NUSHELL_VERSION" nu build_nu
		link nu "$TOOLS_CACHE/nu/$NUSHELL_VERSION-$platform/nu"
		;;
	gitea)
		install_tool gitea "$GITEA_VERSION" gitea build_gitea
		link gitea "$TOOLS_CACHE/gitea/$GITEA_VERSION-$platform/gitea"
		;;
	*) die "unknown tool '$1' (known: controller-gen kustomize golangci-lint envtest kubectl nu gitea all)" ;;
	esac
	current_tool=""
}

[ $# -gt 0 ] || set -- all
for tool in "$@"; do
	if [ "$tool" = all ]; then
		for t in controller-gen kustomize nu envtest gitea golangci-lint; do provision "$t"; done
	else
		provision "$tool"
	fi
done
