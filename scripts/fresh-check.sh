#!/usr/bin/env bash
# Checks the README's promise on a fresh Debian 12: builds a bookworm minbase
# root with debootstrap, copies this working tree into it, and runs the
# README's two commands inside it as a newcomer would — the demo
# (scripts/demo.sh) until its server answers /healthz, then stopped, and the
# whole test suite (scripts/test.sh).  Reports each step's time and result,
# then unmounts and removes the root.  Too slow for every CI run: run it
# before changing a dependency and before saying the two commands work.
#
#   scripts/fresh-check.sh [--keep] [--demo-only]
#
# Needs root (debootstrap, chroot, mounts) and the network this machine uses
# for Debian's packages and npm.  The Debian mirror is the one this host's
# apt uses (FRESH_MIRROR overrides).  The host's local CA certificates
# (/usr/local/share/ca-certificates) are copied into the root's own
# /usr/local/share/ca-certificates, where update-ca-certificates finds them
# when apt installs ca-certificates: some networks need them for TLS to the
# package registries.  Nothing else of the host reaches the root: the
# commands run with an empty environment (PATH, HOME, LANG only).
#   FRESH_DIR    where the root is made (default: a new dir under /var/tmp)
#   FRESH_PORT   the demo's port (default: a free one)
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
keep=0
demo_only=0
for a in "$@"; do
  case "$a" in
    --keep) keep=1 ;;
    --demo-only) demo_only=1 ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fresh-check: unknown argument '$a'" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "fresh-check: needs root (debootstrap, chroot, mount)" >&2; exit 2; }

need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

mirror=${FRESH_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(sed -n 's/^URIs: *\(\S*\/debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
fi
if [ -z "$mirror" ]; then
  mirror=$(sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\(\S*\/debian\)\/\{0,1\} bookworm .*/\2/p' /etc/apt/sources.list 2>/dev/null | head -n 1)
fi
[ -n "$mirror" ] || { echo "fresh-check: no Debian mirror found in apt's sources; set FRESH_MIRROR" >&2; exit 2; }

root=${FRESH_DIR:-$(mktemp -d /var/tmp/visura-fresh.XXXXXX)}
mkdir -p "$root"
# mktemp makes the directory 0700; as the root's "/" that would keep every
# user but root (postgres, the service user) out of the whole tree.
chmod 0755 "$root"
log=$src/build/fresh-check
mkdir -p "$log"
mounts=()
demo_pid=""

cleanup() {
  set +e
  if [ -n "$demo_pid" ]; then kill -TERM -- "-$demo_pid" 2>/dev/null; sleep 1; kill -KILL -- "-$demo_pid" 2>/dev/null; fi
  # Every process whose root is the fresh root (servers the tests started).
  for p in /proc/[0-9]*; do
    r=$(readlink "$p/root" 2>/dev/null) || continue
    [ "$r" = "$root" ] && kill -KILL "${p#/proc/}" 2>/dev/null
  done
  sleep 1
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    umount -l "${mounts[$i]}" 2>/dev/null
  done
  if [ "$keep" -eq 1 ]; then
    echo "fresh-check: root kept in $root"
  else
    # Refuse to remove anything still mounted below the root.
    if grep -q " $root/" /proc/mounts; then
      echo "fresh-check: $root still has mounts; left in place" >&2
    else
      rm -rf --one-file-system "$root"
    fi
  fi
}
trap cleanup EXIT

results=()
step() {  # step NAME COMMAND... : runs, times and records one step
  local name=$1; shift
  local t0=$SECONDS rc=0
  echo "== $name"
  "$@" || rc=$?
  local dt=$((SECONDS - t0))
  local verdict=ok; [ "$rc" -eq 0 ] || verdict="FAILED (exit $rc)"
  results+=("$(printf '%-34s %5d s  %s' "$name" "$dt" "$verdict")")
  echo "== $name: $verdict in ${dt} s"
  return "$rc"
}
report() {
  echo
  echo "== fresh-check summary (Debian 12 minbase, mirror $mirror)"
  printf '   %s\n' "${results[@]}"
}

mnt() {  # mnt TYPE-OR-BIND SRC DEST
  mkdir -p "$3"
  if [ "$1" = bind ]; then mount --bind "$2" "$3"; else mount -t "$1" "$2" "$3"; fi
  mounts+=("$3")
}

in_root() {  # runs a shell command inside the root with a newcomer's environment
  chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 TERM=dumb /bin/bash -c "$1"
}

make_root() {
  debootstrap --variant=minbase bookworm "$root" "$mirror" > "$log/debootstrap.log" 2>&1 \
    || { tail -n 20 "$log/debootstrap.log"; return 1; }
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/" 2>/dev/null || true
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  mnt proc proc "$root/proc"
  mnt sysfs sys "$root/sys"
  mnt bind /dev "$root/dev"
  mnt devpts devpts "$root/dev/pts"
  mnt tmpfs tmpfs "$root/dev/shm"
  mnt tmpfs tmpfs "$root/tmp"
  chmod 1777 "$root/tmp" "$root/dev/shm"
  in_root 'node --version 2>/dev/null && echo "fresh-check: node already present" >&2 && exit 1; exit 0'
}

copy_tree() {
  # The working tree as git sees it (tracked and new files, nothing ignored:
  # no build directories, no node_modules), as a clone would have it.
  mkdir -p "$root/root/visura"
  git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
    | tar --null -T - -cf - | tar -xf - -C "$root/root/visura"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

run_demo() {
  local port=${FRESH_PORT:-$(free_port)}
  # The demo runs in its own process group so that it can be stopped whole.
  setsid chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 TERM=dumb DEMO_LISTEN="127.0.0.1:$port" \
    /bin/bash -c 'cd /root/visura && exec scripts/demo.sh' > "$log/demo.log" 2>&1 < /dev/null &
  demo_pid=$!
  local deadline=$((SECONDS + 1800))
  while [ $SECONDS -lt $deadline ]; do
    if ! kill -0 "$demo_pid" 2>/dev/null; then
      echo "fresh-check: the demo stopped before serving:"; tail -n 30 "$log/demo.log"; return 1
    fi
    if curl -ksf --max-time 5 "https://127.0.0.1:$port/healthz" > "$log/healthz.json" 2>/dev/null; then
      echo "demo answers https://127.0.0.1:$port/healthz: $(cat "$log/healthz.json")"
      # The demo's log, redirected to a file, keeps its first lines.
      head -n 3 "$log/demo.log"
      grep -q '^primo amministratore' "$log/demo.log" || { echo "fresh-check: the demo's log lost the first admin line"; return 1; }
      curl -ksf --max-time 5 -o /dev/null "https://127.0.0.1:$port/" || { echo "fresh-check: no interface at /"; return 1; }
      kill -TERM -- "-$demo_pid" 2>/dev/null || true
      wait "$demo_pid" 2>/dev/null || true
      demo_pid=""
      return 0
    fi
    sleep 2
  done
  echo "fresh-check: the demo did not answer within 30 minutes"; tail -n 30 "$log/demo.log"; return 1
}

run_tests() {
  in_root 'cd /root/visura && scripts/test.sh' > "$log/test.log" 2>&1 || {
    local rc=$?
    # What a failed run leaves (screenshots, server logs) outlives the root.
    local b
    for b in build build-asan; do
      [ -d "$root/root/visura/$b/browser-artifacts" ] && cp -r "$root/root/visura/$b/browser-artifacts" "$log/$b-browser-artifacts"
      [ -d "$root/root/visura/$b/Testing/Temporary" ] && cp -r "$root/root/visura/$b/Testing/Temporary" "$log/$b-ctest"
    done
    grep -E 'tests passed|tests failed|\*\*\*Failed|Failed  |Error' "$log/test.log" | tail -n 40
    return $rc
  }
  grep -E 'tests passed|tests failed' "$log/test.log"
}

rc=0
echo "fresh-check: root $root, logs in $log"
step "debootstrap bookworm minbase" make_root || { report; exit 1; }
in_root 'cat /etc/debian_version' | sed 's/^/debian_version: /'
step "copy the working tree" copy_tree || { report; exit 1; }
step "scripts/demo.sh until /healthz" run_demo || rc=1
in_root 'node --version 2>/dev/null | sed "s/^/node (installed by the scripts): /"; dpkg-query -W -f="nodejs package: \${Version}\n" nodejs 2>/dev/null' || true
if [ "$demo_only" -eq 0 ]; then
  step "scripts/test.sh (both builds)" run_tests || rc=1
fi
report
exit "$rc"
