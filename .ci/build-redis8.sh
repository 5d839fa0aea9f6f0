#!/usr/bin/env bash
# Build Redis 8 (Debian's source package `redis`, from the `sid` suite) on Debian 12 and cache
# the binaries under .cache/servers/redis8/bin. No Docker, nothing under /etc/apt or
# /var/lib/apt is touched: a private apt config reuses the mirror URI the host already has.
#
# Why from source: bookworm ships Redis 7.0; sid's 8.0.x source builds with bookworm's own
# compiler and libraries in about two minutes on two cores, with Debian's security patches
# applied by dpkg-source. This build has vector sets (VADD/VSIM) and no query engine.
# Idempotent: a cached binary that runs is reused.
set -euo pipefail

LOG_TAG=build-redis8
# shellcheck source=.ci/private-apt.sh
. "$(dirname "${BASH_SOURCE[0]}")/private-apt.sh"  # sets REPO_ROOT, CACHE_DIR, log, die
OUT_DIR="${CACHE_DIR}/redis8"
APT_DIR="${CACHE_DIR}/apt-sid"

if [[ -x "${OUT_DIR}/bin/redis-server" ]] && "${OUT_DIR}/bin/redis-server" --version >/dev/null 2>&1; then
    log "cached: $("${OUT_DIR}/bin/redis-server" --version)"
    exit 0
fi

need=()
for pkg in build-essential libssl-dev pkg-config dpkg-dev; do
    dpkg-query -W -f='${Status}' "${pkg}" 2>/dev/null | grep -q "install ok installed" || need+=("${pkg}")
done
if [[ ${#need[@]} -gt 0 ]]; then
    log "installing build tools: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends "${need[@]}" \
        || { apt-get update -q && apt-get install -y -q --no-install-recommends "${need[@]}"; }
fi

uri="$(bookworm_mirror_uri "${HOST_SOURCES}")"
[[ -n "${uri}" ]] || die "no 'bookworm' stanza with URIs: in ${HOST_SOURCES}"
private_apt_init "${APT_DIR}" "deb-src [signed-by=${KEYRING}] ${uri} sid main"
apt_opts=("${APT_OPTS[@]}")
mkdir -p "${APT_DIR}/src"
log "apt-get update (private config: sid sources)"
apt-get "${apt_opts[@]}" update -q
cd "${APT_DIR}/src"
rm -rf ./redis-*/ ./*.dsc ./*.tar.* 2>/dev/null || true
log "apt-get source --download-only redis"
apt-get "${apt_opts[@]}" source --download-only redis
dsc="$(ls redis_*.dsc | head -n1)"
[[ -n "${dsc}" ]] || die "no redis .dsc downloaded"
log "dpkg-source -x ${dsc} (applies Debian's patches)"
dpkg-source --no-check -x "${dsc}" build >/dev/null
log "make -j2 BUILD_TLS=yes (about two minutes)"
make -C build -j"$(nproc)" BUILD_TLS=yes >"${APT_DIR}/make.log" 2>&1 \
    || { tail -40 "${APT_DIR}/make.log"; die "make failed (log: ${APT_DIR}/make.log)"; }
mkdir -p "${OUT_DIR}/bin"
for exe in redis-server redis-cli; do
    install -m 0755 "build/src/${exe}" "${OUT_DIR}/bin/${exe}"
done
rm -rf build
log "built: $("${OUT_DIR}/bin/redis-server" --version)"
