#!/usr/bin/env bash
# Validates docker-compose.yml the way `docker compose config` does; exits
# non-zero when the file is invalid and prints which validator it used.
#
# Validators, first found wins:
#   1. `docker compose` (the Compose v2 CLI plugin), if it works already;
#   2. Compose v2 built earlier by this script, cached in .cache/bin/;
#   3. a `docker-compose` command on PATH (standalone v2, or Debian's v1.29).
# With none of them, and only when OKR_COMPOSE_INSTALL=1 (the default when
# CI=true), it installs one, with no download site:
#   a. builds Compose v2 from its Go module (Go module proxy, needs `go`),
#      caches it in .cache/bin/ and installs it as the docker CLI plugin
#      ($DOCKER_CONFIG/cli-plugins, default ~/.docker/cli-plugins);
#   b. else Debian's `docker-compose` package (v1.29) via apt-get.
# Without OKR_COMPOSE_INSTALL=1 and no validator it prints a notice and exits 0.
#
# Environment:
#   OKR_COMPOSE_INSTALL  1 = may install a validator (default 1 if CI=true, else 0)
#   OKR_COMPOSE_VERSION  Compose v2 module version to build (default below)
#   OKR_COMPOSE_FILE     file to validate (default docker-compose.yml)
# Safe to re-run: a second run reuses the cached build and takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

compose_file=${OKR_COMPOSE_FILE:-docker-compose.yml}
# v2.35+ has `exclude` lines in go.mod, so `go install module/cmd@version`
# refuses it: the script builds the downloaded module as the main module.
compose_version=${OKR_COMPOSE_VERSION:-v2.40.3}
compose_module=github.com/docker/compose/v2
if [ -z "${OKR_COMPOSE_INSTALL:-}" ]; then
  if [ "${CI:-}" = true ]; then OKR_COMPOSE_INSTALL=1; else OKR_COMPOSE_INSTALL=0; fi
fi
cache_dir=$PWD/.cache/bin
cached=$cache_dir/docker-compose-$compose_version
plugin_dir=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins

say() { echo "compose-check: $*"; }

if [ ! -f "$compose_file" ]; then
  say "$compose_file not found" >&2
  exit 2
fi

have_docker_compose() {
  command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1
}

# Puts the cached build where the docker CLI looks for plugins (if it differs).
install_plugin() {
  command -v docker >/dev/null 2>&1 || return 0
  if ! cmp -s "$cached" "$plugin_dir/docker-compose"; then
    mkdir -p "$plugin_dir"
    cp "$cached" "$plugin_dir/docker-compose.tmp.$$"
    chmod 0755 "$plugin_dir/docker-compose.tmp.$$"
    mv -f "$plugin_dir/docker-compose.tmp.$$" "$plugin_dir/docker-compose"
    say "installed $cached as $plugin_dir/docker-compose"
  fi
}

build_from_go_module() {
  if ! command -v go >/dev/null 2>&1; then
    say "no Go toolchain: cannot build Compose v2"
    return 1
  fi
  local started=$SECONDS dir work status=0
  say "building Docker Compose $compose_version from the Go module $compose_module" \
    "(several minutes on 2 cores; cached afterwards)"
  # `go mod download` fetches the module and prints where it unpacked it.
  dir=$(GOTOOLCHAIN=local go mod download -json "$compose_module@$compose_version" \
    | sed -n 's/^[[:space:]]*"Dir": *"\([^"]*\)".*/\1/p') || dir=""
  if [ -z "$dir" ] || [ ! -d "$dir" ]; then
    say "go mod download gave no source directory for $compose_module@$compose_version"
    return 1
  fi
  # Build a writable copy: the module cache is read-only.
  work=$(mktemp -d)
  cp -R "$dir/." "$work/src"
  chmod -R u+w "$work/src"
  mkdir -p "$cache_dir"
  (
    cd "$work/src"
    GOTOOLCHAIN=local CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X $compose_module/internal.Version=$compose_version" \
      -o "$cached.tmp.$$" ./cmd
  ) || status=$?
  rm -rf "$work"
  if [ "$status" -ne 0 ]; then
    rm -f "$cached.tmp.$$"
    say "building Compose $compose_version failed (exit $status)"
    return 1
  fi
  mv -f "$cached.tmp.$$" "$cached"
  say "built $("$cached" version) in $((SECONDS - started)) s"
}

install_debian_package() {
  command -v apt-get >/dev/null 2>&1 || return 1
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "falling back to Debian's docker-compose package (Compose v1)"
  $sudo apt-get update -qq || return 1
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq docker-compose >/dev/null || return 1
  command -v docker-compose >/dev/null 2>&1
}

validate() {
  local label=$1
  shift
  say "validator: $label"
  if "$@"; then
    say "$compose_file is valid"
  else
    say "$compose_file is INVALID (see the errors above)" >&2
    exit 1
  fi
}

use_cached_build() {
  install_plugin
  if have_docker_compose; then
    validate "docker compose $(docker compose version --short) (built from Go module, cached)" \
      docker compose -f "$compose_file" config --quiet
  else
    # No docker CLI: the Compose binary works standalone too.
    validate "docker-compose $("$cached" version --short) (built from Go module, cached, standalone)" \
      "$cached" -f "$compose_file" config --quiet
  fi
}

use_path_docker_compose() {
  validate "docker-compose $(docker-compose version --short 2>/dev/null || echo '?') ($(command -v docker-compose))" \
    docker-compose -f "$compose_file" config -q
}

if have_docker_compose; then
  validate "docker compose $(docker compose version --short)" \
    docker compose -f "$compose_file" config --quiet
elif [ -x "$cached" ]; then
  use_cached_build
elif command -v docker-compose >/dev/null 2>&1; then
  use_path_docker_compose
elif [ "$OKR_COMPOSE_INSTALL" = 1 ]; then
  if build_from_go_module; then
    use_cached_build
  elif install_debian_package; then
    use_path_docker_compose
  else
    say "could not install any compose validator" >&2
    exit 1
  fi
else
  say "NOTICE: no compose validator here (no \`docker compose\`, no docker-compose)," \
    "so $compose_file was NOT validated. Run with OKR_COMPOSE_INSTALL=1 to build" \
    "Docker Compose $compose_version from its Go module (needs go; a few minutes, once)."
fi
