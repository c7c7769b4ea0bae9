#!/usr/bin/env bash
# tests/docker/run.sh - builds Hearth's container image with podman and checks it, on a machine
# with no Docker engine and no registry access (Debian 12, as root).
#
#   1. installs podman and debootstrap when missing (apt-get);
#   2. makes the base image docker.io/library/debian:bookworm-slim from Debian's packages when
#      podman does not have it (debootstrap, cached in /var/cache/hearth/bookworm-rootfs);
#   3. builds the Dockerfile at the repository root into localhost/hearth;
#   4. checks the image's declared user, volume, entrypoint and command;
#   5. exports the image's filesystem and runs hearth from it as the image's user (chroot), the
#      way a container runtime would: --version, a console chat, the default CMD with a mounted
#      config, a run with no /proc (the installed-content fallback), and the image's HEALTHCHECK
#      against a running Hearth with [admin] listen (healthy), then a stopped one (unhealthy).
#
# `podman run` cannot be used here: crun fails to set rlimits/cgroups in this sandbox, so step 5
# runs the exported filesystem with chroot(1) in a private mount namespace instead.
# Prints how long each phase took and closes with "N passed, M failed"; exits non-zero on failure.
# Keeps the cached rootfs and the base image; removes its temp folders and containers.
# Measured on the 2-core CI-like machine: cold (no rootfs cache, no base image) 157-290 s, of
# which debootstrap 40-140 s (the mirror's speed varies) and the image build 115-135 s; with
# podman still to install add about 20 s. Warm with changed sources (recompile only) about 45 s;
# warm with nothing changed about 15 s. Image size about 98 MB (base about 78 MB).
# Each source change leaves a few MB of untagged build layers in podman's storage
# (`podman image prune` removes them, along with the build cache).
# Env: HEARTH_ROOTFS_CACHE (default /var/cache/hearth/bookworm-rootfs),
#      HEARTH_DEBIAN_MIRROR (default http://deb.debian.org/debian), HEARTH_IMAGE (localhost/hearth),
#      HEARTH_DOCKER_ADMIN_PORT (19464: the loopback port of the HEALTHCHECK run).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
IMAGE=${HEARTH_IMAGE:-localhost/hearth}
BASE=docker.io/library/debian:bookworm-slim
ROOTFS=${HEARTH_ROOTFS_CACHE:-/var/cache/hearth/bookworm-rootfs}
MIRROR=${HEARTH_DEBIAN_MIRROR:-http://deb.debian.org/debian}
UID_EXPECTED=10001
ADMIN_PORT=${HEARTH_DOCKER_ADMIN_PORT:-19464}

PASS=0
FAIL=0
TIMES=()
TMP=
CID=
T_ALL=$SECONDS

ok() { PASS=$((PASS + 1)); echo "ok     $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAILED $*"; }
check() { # check NAME COMMAND... : one assertion
	local name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name"; fi
}

PHASE= T_PHASE=
phase() { # phase NAME: ends the running phase (printing its time) and starts the next
	[ -n "$PHASE" ] && TIMES+=("$(printf '%4d s  %s' $((SECONDS - T_PHASE)) "$PHASE")")
	PHASE=$1
	T_PHASE=$SECONDS
	[ -n "$PHASE" ] && echo && echo "=== $PHASE"
	return 0
}

cleanup() {
	[ -n "$CID" ] && podman rm -f "$CID" >/dev/null 2>&1 || true
	[ -n "$TMP" ] && rm -rf "$TMP"
	return 0
}

summary() {
	phase "clean up temp folders"
	cleanup
	TMP= CID=
	phase ""
	echo
	echo "=== phase times"
	printf '%s\n' "${TIMES[@]}"
	printf '%4d s  total\n' $((SECONDS - T_ALL))
	echo
	echo "$PASS passed, $FAIL failed"
}


die() { # die MESSAGE: a failure that stops the remaining checks
	bad "$*"
	summary
	exit 1
}

trap cleanup EXIT

# ---- 1. tools ------------------------------------------------------------------------------
phase "tools (podman, debootstrap)"
need=()
command -v podman >/dev/null || need+=(podman)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v unshare >/dev/null || need+=(util-linux)
command -v runc >/dev/null || need+=(runc) # the two-instance run (tests/docker/pair.bash)
if [ ${#need[@]} -gt 0 ]; then
	echo "installing: ${need[*]}"
	apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${need[@]}" uidmap fuse-overlayfs >/dev/null || die "apt-get install ${need[*]}"
fi
podman --version

# Podman on this machine: root, cgroups v1 in a sandbox. The defaults work for *building* with
# "--isolation chroot" (buildah then runs RUN steps with chroot(2) + namespaces, not through the
# OCI runtime crun, which fails here on cgroups and rlimits). We set BUILDAH_ISOLATION as well so
# that nothing else (e.g. a containers.conf) switches it back. Storage stays the default overlay
# driver in /var/lib/containers; no registries.conf change is needed since the Dockerfile names
# its base image in full and --pull=never never contacts a registry.
export BUILDAH_ISOLATION=chroot

# ---- 2. base image -------------------------------------------------------------------------
phase "base image $BASE"
if podman image exists "$BASE"; then
	echo "podman already has $BASE"
else
	if [ ! -f "$ROOTFS/.hearth-complete" ]; then
		# A half-made rootfs (interrupted run) is started again from scratch.
		rm -rf "$ROOTFS"
		mkdir -p "$(dirname "$ROOTFS")"
		echo "debootstrap --variant=minbase bookworm $ROOTFS $MIRROR (log: $ROOTFS.log)"
		debootstrap --variant=minbase bookworm "$ROOTFS" "$MIRROR" >"$ROOTFS.log" 2>&1 ||
			{ tail -20 "$ROOTFS.log"; die "debootstrap bookworm"; }
		# Make it look like the official slim image: the same apt sources (with updates and
		# security, so images built on it get fixes), no docs/man pages/translations, no apt
		# caches, no recommended packages.
		rm -f "$ROOTFS/etc/apt/sources.list"
		cat >"$ROOTFS/etc/apt/sources.list.d/debian.sources" <<-EOF
			Types: deb
			URIs: ${MIRROR}
			Suites: bookworm bookworm-updates
			Components: main
			Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

			Types: deb
			URIs: ${MIRROR}-security
			Suites: bookworm-security
			Components: main
			Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
		EOF
		cat >"$ROOTFS/etc/dpkg/dpkg.cfg.d/docker" <<-'EOF'
			path-exclude /usr/share/doc/*
			path-include /usr/share/doc/*/copyright
			path-exclude /usr/share/man/*
			path-exclude /usr/share/groff/*
			path-exclude /usr/share/info/*
			path-exclude /usr/share/lintian/*
			path-exclude /usr/share/linda/*
			path-exclude /usr/share/locale/*
		EOF
		# ... and drop what debootstrap installed before those rules existed (about 47 MB).
		find "$ROOTFS/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
		find "$ROOTFS/usr/share/doc" -mindepth 1 -type d -empty -delete
		rm -rf "$ROOTFS"/usr/share/{man,groff,info,lintian,linda,locale}/*
		cat >"$ROOTFS/etc/apt/apt.conf.d/docker-clean" <<-'EOF'
			DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
			APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
			Dir::Cache::pkgcache "";
			Dir::Cache::srcpkgcache "";
		EOF
		echo 'APT::Install-Recommends "false";' >"$ROOTFS/etc/apt/apt.conf.d/docker-no-recommends"
		rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
		touch "$ROOTFS/.hearth-complete"
	else
		echo "using cached rootfs $ROOTFS"
	fi
	tar -C "$ROOTFS" --exclude=./.hearth-complete -c . |
		podman import --change 'CMD ["bash"]' - "$BASE" >/dev/null || die "podman import $BASE"
fi
check "base image $BASE present" podman image exists "$BASE"

# ---- 3. build ------------------------------------------------------------------------------
phase "podman build $IMAGE"
cd "$ROOT"
[ -f Dockerfile ] || die "no Dockerfile in $ROOT"
TMP=$(mktemp -d /var/tmp/hearth-docker.XXXXXX)
# --format docker: the OCI format has no HEALTHCHECK, and the image declares one.
if podman build --format docker --isolation chroot --pull=never --network host -t "$IMAGE" . >"$TMP/build.log" 2>&1; then
	ok "podman build"
	echo "steps taken from the layer cache: $(grep -c -- '--> Using cache' "$TMP/build.log" || true)"
	grep -E '^(\[[0-9]+/[0-9]+\] )?STEP|^COMMIT' "$TMP/build.log" | cut -c1-110 || true
else
	tail -60 "$TMP/build.log"
	die "podman build (log above)"
fi

# ---- 4. declared configuration -------------------------------------------------------------
phase "image configuration"
insp() { podman image inspect "$IMAGE" --format "$1"; }
user_vol=$(insp '{{.Config.User}} {{.Config.Volumes}}')
echo "User Volumes: $user_vol"
user=${user_vol%% *}
user_name=${user%%:*}
check "image runs as a non-root user ($user)" \
	test -n "$user_name" -a "$user_name" != root -a "$user_name" != 0
check "image declares the volume /var/lib/hearth" grep -q '/var/lib/hearth' <<<"$user_vol"
ep_cmd=$(insp '{{json .Config.Entrypoint}} {{json .Config.Cmd}}')
echo "Entrypoint Cmd: $ep_cmd"
check "entrypoint /usr/bin/hearth, cmd --config /etc/hearth/hearth.ini" \
	test "$ep_cmd" = '["/usr/bin/hearth"] ["--config","/etc/hearth/hearth.ini"]'
mapfile -t IMG_ENV < <(insp '{{range .Config.Env}}{{println .}}{{end}}' | sed '/^$/d')
echo "Env: ${IMG_ENV[*]}"
has_env() { printf '%s\n' "${IMG_ENV[@]}" | grep -qx "$1"; }
check "XDG_DATA_HOME makes /var/lib/hearth the default data folder" has_env XDG_DATA_HOME=/var/lib
HC=$(insp '{{json .Config.Healthcheck}}')
echo "Healthcheck: $HC"
mapfile -t HC_CMD < <(python3 -c 'import json, sys; t = json.loads(sys.argv[1])["Test"]; assert t[0] == "CMD", t; print("\n".join(t[1:]))' "$HC" 2>/dev/null || true)
check "image declares a HEALTHCHECK running hearth --healthcheck" \
	test "${HC_CMD[*]:-}" = "/usr/bin/hearth --config /etc/hearth/hearth.ini --healthcheck"
echo "size: $(insp '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}')"

# ---- 5. the image's filesystem, run as its user ------------------------------------------------
phase "export image filesystem"
FS=$TMP/rootfs
mkdir -p "$FS"
CID=$(podman create "$IMAGE")
podman export "$CID" | tar -C "$FS" -x || die "podman export"
podman rm "$CID" >/dev/null
CID=
echo "exported $(du -sh "$FS" | cut -f1) to $FS"

phase "run hearth from the image as its user"
# in_image [--no-proc] COMMAND...: runs COMMAND inside the exported filesystem as the image's
# user, with only the image's environment, in a private mount namespace that gets a fresh /proc
# and a minimal /dev (as a container runtime gives); both vanish with the namespace.
in_image() {
	local proc=1
	[ "$1" = --no-proc ] && { proc=0; shift; }
	unshare --mount --propagation private --fork -- /bin/sh -ec '
		fs=$1 proc=$2 user=$3
		shift 3
		if [ "$proc" = 1 ]; then mount -t proc proc "$fs/proc"; fi
		mount -t tmpfs -o mode=0755,nosuid tmpfs "$fs/dev"
		mknod -m 666 "$fs/dev/null" c 1 3
		mknod -m 666 "$fs/dev/zero" c 1 5
		mknod -m 666 "$fs/dev/random" c 1 8
		mknod -m 666 "$fs/dev/urandom" c 1 9
		exec chroot --userspec="$user" "$fs" /usr/bin/env -i "$@"
	' in_image "$FS" "$proc" hearth:hearth \
		PATH=/usr/local/bin:/usr/bin:/bin "${IMG_ENV[@]}" "$@"
}

passwd_line=$(grep '^hearth:' "$FS/etc/passwd" || true)
echo "passwd: $passwd_line"
check "user hearth has uid/gid $UID_EXPECTED in the image" \
	test "$(cut -d: -f3,4 <<<"$passwd_line")" = "$UID_EXPECTED:$UID_EXPECTED"
check "image user $user is hearth or $UID_EXPECTED" \
	grep -Eqx "(hearth|$UID_EXPECTED)(:(hearth|$UID_EXPECTED))?" <<<"$user"
check "/var/lib/hearth owned by $UID_EXPECTED:$UID_EXPECTED, mode 700" \
	test "$(stat -c '%u:%g %a' "$FS/var/lib/hearth")" = "$UID_EXPECTED:$UID_EXPECTED 700"
check "runtime image has no compiler (multi-stage)" test ! -e "$FS/usr/bin/gcc" -a ! -e "$FS/usr/bin/cc"

uid_in=$(in_image /usr/bin/id -u 2>&1 || true)
echo "id -u inside: $uid_in"
check "runs as uid $UID_EXPECTED inside the image, not root" test "$uid_in" = "$UID_EXPECTED"

want_version=$(sed -nE 's/^project\(hearth VERSION ([0-9.]+).*/\1/p' "$ROOT/CMakeLists.txt")
got_version=$(in_image /usr/bin/hearth --version 2>&1 || true)
echo "hearth --version: $got_version"
check "hearth --version prints hearth $want_version (all runtime libraries present)" \
	test "$got_version" = "hearth $want_version"

missing=$(in_image /bin/sh -c 'ldd /usr/bin/hearth | grep "not found" || true' 2>&1)
check "no missing shared libraries (ldd)" test -z "$missing"
[ -z "$missing" ] || echo "$missing"

# A short console chat with an explicit data folder, as a facilitator trying it out would.
topic_title=$(sed -n 's/^title: //p' "$ROOT/content/topics/roots.md")
out=$(printf '!help\n!learn roots\n' | in_image /usr/bin/hearth --data-dir /var/lib/hearth 2>&1) || true
echo "$out" | head -40
check "console chat answers with a [room] header" grep -qF '[room]' <<<"$out"
check "!learn roots answers with its topic '$topic_title'" grep -qF "$topic_title" <<<"$out"
created=$(find "$FS/var/lib/hearth" -mindepth 1 | wc -l)
foreign=$(find "$FS/var/lib/hearth" ! -uid "$UID_EXPECTED" | wc -l)
echo "data folder: $(ls -ln "$FS/var/lib/hearth" | tail -n +2 | awk '{print $1, $3":"$4, $NF}' | tr '\n' ';')"
check "files created in /var/lib/hearth" test "$created" -gt 0
check "everything in /var/lib/hearth owned by uid $UID_EXPECTED" test "$foreign" -eq 0

# The image's own ENTRYPOINT + CMD with a mounted config (no data_dir in it): the data must go to
# the volume through XDG_DATA_HOME, and content must be found through /proc/self/exe.
rm -rf "${FS:?}/var/lib/hearth/"*
printf '[bot]\ntimezone = Europe/Berlin\n' >"$FS/etc/hearth/hearth.ini"
chmod 0644 "$FS/etc/hearth/hearth.ini"
out=$(printf '!learn roots\n' | in_image /usr/bin/hearth --config /etc/hearth/hearth.ini 2>&1) || true
echo "$out" | head -20
check "default CMD with a mounted hearth.ini: console answers '$topic_title'" \
	grep -qF "$topic_title" <<<"$out"
check "default CMD keeps its data in the volume /var/lib/hearth" \
	test "$(find "$FS/var/lib/hearth" -mindepth 1 | wc -l)" -gt 0
check "--check-config accepts the mounted config" \
	in_image /usr/bin/hearth --config /etc/hearth/hearth.ini --check-config

# Without /proc (some minimal runtimes) hearth falls back to /usr/share/hearth/content.
rm -rf "${FS:?}/var/lib/hearth/"*
out=$(printf '!learn roots\n' | in_image --no-proc /usr/bin/hearth 2>&1) || true
check "without /proc the installed content is still found" grep -qF "$topic_title" <<<"$out"

# The HEALTHCHECK as a runtime runs it: Hearth with [admin] listen in the mounted config; the
# image's healthcheck command, run inside the image, reports healthy (exit 0) while Hearth runs
# and unhealthy (exit 1, with the reason) once it is gone. `podman run` does not work in this
# sandbox (see the top), so the runtime's part is played here.
rm -rf "${FS:?}/var/lib/hearth/"*
printf '[admin]\nlisten = 127.0.0.1:%s\n' "$ADMIN_PORT" >"$FS/etc/hearth/hearth.ini"
chmod 0644 "$FS/etc/hearth/hearth.ini"
mkfifo "$TMP/hc-in"
in_image /usr/bin/hearth --config /etc/hearth/hearth.ini <"$TMP/hc-in" >"$TMP/hc-hearth.log" 2>&1 &
hc_pid=$!
exec 7>"$TMP/hc-in"
health=starting
for _ in $(seq 1 50); do
	if [ ${#HC_CMD[@]} -gt 0 ] && in_image "${HC_CMD[@]}" >"$TMP/hc.out" 2>&1; then health=healthy; break; fi
	sleep 0.2
done
echo "health while running: $health ($(cat "$TMP/hc.out" 2>/dev/null))"
check "the container turns healthy (HEALTHCHECK exit 0 while Hearth runs)" test "$health" = healthy
exec 7>&-
wait "$hc_pid" || true
rc=0
[ ${#HC_CMD[@]} -gt 0 ] && { in_image "${HC_CMD[@]}" >"$TMP/hc.out" 2>&1 || rc=$?; }
echo "health after Hearth stopped: exit $rc: $(cat "$TMP/hc.out")"
check "unhealthy once Hearth is gone (HEALTHCHECK exit 1)" test "$rc" -eq 1

# With no config mounted the default CMD must fail with a message naming the file, not crash.
rm -f "$FS/etc/hearth/hearth.ini"
rc=0
out=$(in_image /usr/bin/hearth --config /etc/hearth/hearth.ini </dev/null 2>&1) || rc=$?
echo "without a config (rc $rc): $(head -3 <<<"$out")"
fails_kindly() { [ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] && grep -qF /etc/hearth/hearth.ini <<<"$out"; }
check "default CMD without a mounted config exits non-zero naming /etc/hearth/hearth.ini" fails_kindly

# ---- 6. README's two containers on one PostgreSQL, with podman run ------------------------------
source "$ROOT/tests/docker/pair.bash"

summary
[ "$FAIL" -eq 0 ]
