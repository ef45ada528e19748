#!/usr/bin/env bash
# The Debian package, end to end, as root on a Debian 12 machine (CI):
# builds it with dpkg-buildpackage from a copy of the source tree, runs
# lintian (errors and warnings fail), checks the units with systemd-analyze,
# installs it with apt, creates the deployment as the packaged files say
# (visura init as the user visura, a certificate issued by a throwaway
# "municipal" CA), starts the unit's ExecStart as that user with the
# packaged configuration (the unit itself when systemd runs the machine),
# runs smoke tests against it (healthz, readyz, the login page, an API
# login), reloads it as the unit does (SIGHUP: log reopened, certificate
# read again), stops it, purges the package and checks that nothing is
# left but what the package documents it keeps (debian/README.Debian).
#   tests/package/run.sh SOURCE_DIR        (exit 77: skipped, not root)
#   VISURA_PACKAGE_DEB=FILE: test that package instead of building one
set -euo pipefail
src=$(cd "$1" && pwd)
if [ "$(id -u)" != 0 ]; then
  echo "SKIP: installs a package: run as root (CI does)"
  exit 77
fi
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }
for d in /var/lib/visura /etc/visura; do
  [ ! -e "$d" ] || fail "$d exists: a visura deployment is on this machine, not testing over it"
done
! dpkg-query -W -f='${Status}' visura 2>/dev/null | grep -q installed ||
  fail "the package visura is installed already"

work=$(mktemp -d /tmp/visura-package-XXXXXX)
pid=""
cleanup() {
  [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
  if dpkg-query -W -f='${Status}' visura 2>/dev/null | grep -q installed; then
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq visura >/dev/null 2>&1 || true
  fi
  # what a purge keeps on purpose (README.Debian), made by this test
  rm -rf /var/lib/visura /var/backups/visura /etc/visura /var/log/visura /var/cache/visura "$work"
}
trap cleanup EXIT

version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
deb=$work/visura_${version}_$(dpkg --print-architecture).deb
if [ -n "${VISURA_PACKAGE_DEB:-}" ]; then
  # a package built already (to rerun the rest quickly)
  cp "$VISURA_PACKAGE_DEB" "$deb"
else
  step "build the package (dpkg-buildpackage -us -uc -b)"
  [ -f "$src/web/dist/index.html" ] || fail "web/dist is not built (scripts/build.sh builds it)"
  mkdir "$work/visura"
  tar -C "$src" --exclude=./.git --exclude='./build*' --exclude=./var --exclude=./obj-\* \
    --exclude=./web/node_modules --exclude=./tests/api/node_modules -cf - . | tar -C "$work/visura" -xf -
  (cd "$work/visura" && DEB_BUILD_OPTIONS="parallel=$(nproc)" dpkg-buildpackage -us -uc -b \
    > "$work/build.log" 2>&1) || { tail -60 "$work/build.log"; fail "dpkg-buildpackage"; }
fi
[ -f "$deb" ] || fail "no $deb ($(ls "$work"))"
echo "built $(basename "$deb")"

step "lintian"
lintian --fail-on error,warning --display-info "$deb" || fail "lintian"

step "what the package holds"
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/visura ./usr/share/visura/web/index.html ./usr/share/visura/data/comuni.csv \
         ./etc/visura/visura.conf ./lib/systemd/system/visura.service \
         ./lib/systemd/system/visura-backup.service ./lib/systemd/system/visura-backup.timer \
         ./etc/logrotate.d/visura ./usr/share/man/man8/visura.8.gz; do
  grep -qx -- "$f" <<< "$contents" || fail "the package lacks $f"
done
! grep -q 'visura-test' <<< "$contents" || fail "the test binary is in the package"

step "install (apt-get install ./visura_*.deb)"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$deb" >/dev/null
id visura >/dev/null || fail "no user visura"
[ "$(stat -c '%a %U %G' /var/lib/visura)" = "750 visura visura" ] ||
  fail "/var/lib/visura is $(stat -c '%a %U %G' /var/lib/visura), not 750 visura visura"
[ -d /var/log/visura ] || fail "no /var/log/visura"
[ "$(stat -c '%a %U %G' /etc/visura/visura.conf)" = "640 root visura" ] || fail "visura.conf mode"
# every option of the binary, with its default, is in the configuration
printed=$(visura serve --print-config)
for o in $(sed -n 's/^\([a-z_]*\) = .*/\1/p' <<< "$printed"); do
  grep -Eq "^#? ?$o =" /etc/visura/visura.conf || fail "visura.conf lacks the option $o"
done
# the compiled-in defaults are the installed paths
grep -qx 'ui_dir = /usr/share/visura/web' <<< "$printed" || fail "ui_dir default"
grep -qx 'db = /var/lib/visura/visura.db' <<< "$printed" || fail "db default"

step "systemd-analyze verify, and the sandbox's exposure"
units=(/lib/systemd/system/visura.service /lib/systemd/system/visura-backup.service
       /lib/systemd/system/visura-backup.timer)
systemd-analyze verify "${units[@]}" > "$work/verify.log" 2>&1 || { cat "$work/verify.log"; fail "systemd-analyze verify"; }
[ ! -s "$work/verify.log" ] || { cat "$work/verify.log"; fail "systemd-analyze verify complains"; }
systemd-analyze security --offline=yes --no-pager /lib/systemd/system/visura.service > "$work/security.txt" 2>&1 ||
  true  # the exposure is reported, not judged here
tail -1 "$work/security.txt"

step "a deployment: visura init (default database), a certificate from a CA"
init_out=$(cd / && runuser -u visura -- visura init --admin-name "Ufficio anagrafe" \
  --admin-email anagrafe@comune.example.it)
admin_pw=$(sed -n 's/^primo amministratore: admin .*: \(\S*\)$/\1/p' <<< "$init_out")
[ -n "$admin_pw" ] || fail "no admin password in: $init_out"
[ -f /var/lib/visura/visura.db ] || fail "init did not make /var/lib/visura/visura.db"
ca=$work/ca
mkdir "$ca"
issue() {  # issue NAME: a server certificate for localhost signed by the CA
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$ca/$1.key" -out "$ca/$1.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$ca/ext"
  openssl x509 -req -in "$ca/$1.csr" -CA "$ca/ca.pem" -CAkey "$ca/ca.key" -CAcreateserial \
    -days 30 -extfile "$ca/ext" -out "$ca/$1.pem" 2>/dev/null
  install -m 0644 -o root -g visura "$ca/$1.pem" /etc/visura/tls/cert.pem
  install -m 0640 -o root -g visura "$ca/$1.key" /etc/visura/tls/key.pem
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
  -subj "/CN=Comune di prova CA" -keyout "$ca/ca.key" -out "$ca/ca.pem" 2>/dev/null
issue first

step "start the unit's ExecStart as visura, with the packaged configuration"
unit=/lib/systemd/system/visura.service
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
exec_pre=$(sed -n 's/^ExecStartPre=//p' "$unit")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# The one difference with the unit: free ports instead of 8443 and 9464.
ports=(--listen "127.0.0.1:$port" --metrics-listen "127.0.0.1:$mport")
as_visura=(setpriv --reuid=visura --regid=visura --init-groups --no-new-privs --)
# the unit's environment (XDG_CACHE_HOME: fontconfig's cache), and its
# CacheDirectory= made as systemd makes it
unit_env=(HOME=/var/lib/visura $(sed -n 's/^Environment=//p' "$unit"))
grep -qx 'CacheDirectory=visura' "$unit" || fail "the unit has no CacheDirectory=visura"
grep -qx 'Environment=XDG_CACHE_HOME=/var/cache/visura' "$unit" || fail "XDG_CACHE_HOME is not the cache"
install -d -o visura -g visura -m 0700 /var/cache/visura
(cd / && umask 0077 && "${as_visura[@]}" env "${unit_env[@]}" $exec_pre "${ports[@]}") ||
  fail "ExecStartPre (--check)"
step "fontconfig's cache as the service: in /var/cache/visura, no warning"
if command -v fc-cache >/dev/null; then
  # -f: written again even when the system's cache is valid, so it shows
  # where the service's copy goes
  fc_out=$(cd / && "${as_visura[@]}" env -i "${unit_env[@]}" fc-cache -f 2>&1) ||
    fail "fc-cache as visura: $fc_out"
  [ -z "$fc_out" ] || fail "fc-cache as visura says: $fc_out"
  ls /var/cache/visura/fontconfig/*.cache-* >/dev/null 2>&1 ||
    fail "no fontconfig cache in /var/cache/visura: $(ls -la /var/cache/visura)"
  [ ! -e /var/lib/visura/.cache ] || fail "a cache in the register's directory /var/lib/visura"
else
  echo "fc-cache not installed (package fontconfig): the cache's place is checked in the unit only"
fi
systemd_runs=false
if [ -d /run/systemd/system ]; then
  systemd_runs=true
  mkdir -p /run/systemd/system/visura.service.d
  printf '[Service]\nExecStart=\nExecStart=%s --listen 127.0.0.1:%s --metrics-listen 127.0.0.1:%s\n' \
    "$exec_start" "$port" "$mport" > /run/systemd/system/visura.service.d/test-ports.conf
  systemctl daemon-reload
  systemctl start visura
  pid=$(systemctl show -p MainPID --value visura)
else
  (cd / && umask 0077 && exec "${as_visura[@]}" env "${unit_env[@]}" $exec_start "${ports[@]}") &
  pid=$!
fi
u=https://localhost:$port
c=(curl -sS --cacert "$ca/ca.pem" --max-time 10)
for _ in $(seq 200); do
  "${c[@]}" -o /dev/null "$u/healthz" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || fail "the server exited: $(tail -20 /var/log/visura/visura.log)"
  sleep 0.1
done
[ "$(ps -o user= -p "$pid")" = visura ] || fail "the server runs as $(ps -o user= -p "$pid")"

step "smoke tests"
[ "$("${c[@]}" -o /dev/null -w '%{http_code}' "$u/healthz")" = 200 ] || fail "healthz"
[ "$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mport/readyz")" = 200 ] ||
  fail "readyz: $(curl -sS "http://127.0.0.1:$mport/readyz")"
page=$("${c[@]}" "$u/")
grep -qi '<html' <<< "$page" || fail "the login page (web interface from /usr/share/visura/web)"
login=$("${c[@]}" -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$admin_pw\"}" "$u/api/v1/auth/login")
grep -q '"must_change_password": *true' <<< "$login" || fail "API login: $login"

step "reload (ExecReload: SIGHUP): a new certificate, the log reopened"
serial() { openssl s_client -connect "127.0.0.1:$port" -servername localhost </dev/null 2>/dev/null |
  openssl x509 -noout -serial; }
before=$(serial)
issue second
if $systemd_runs; then systemctl reload visura; else kill -HUP "$pid"; fi
for _ in $(seq 100); do
  grep -q 'msg="certificato TLS ricaricato"' /var/log/visura/visura.log && break
  sleep 0.1
done
grep -q 'msg="log riaperto"' /var/log/visura/visura.log || fail "no 'log riaperto' after SIGHUP"
after=$(serial)
[ "$before" != "$after" ] && [ "$after" = "$(openssl x509 -noout -serial -in "$ca/second.pem")" ] ||
  fail "after the reload the server shows $after (before: $before)"
if command -v logrotate >/dev/null; then
  lr=$(logrotate -d /etc/logrotate.d/visura 2>&1) || fail "logrotate -d: $lr"
  ! grep -qi error <<< "$lr" || fail "logrotate -d: $lr"
fi

step "stop (SIGTERM)"
if $systemd_runs; then
  systemctl stop visura
  rm -rf /run/systemd/system/visura.service.d
  systemctl daemon-reload
else
  kill -TERM "$pid"
  wait "$pid" || fail "the server exited $? after SIGTERM"
fi
pid=""

step "purge"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq visura >/dev/null
for p in /usr/bin/visura /usr/share/visura /usr/share/doc/visura /etc/visura /var/log/visura \
         /var/cache/visura \
         /lib/systemd/system/visura.service /lib/systemd/system/visura-backup.service \
         /lib/systemd/system/visura-backup.timer /etc/logrotate.d/visura \
         /usr/share/man/man8/visura.8.gz; do
  [ ! -e "$p" ] || fail "$p is still there after purge"
done
! dpkg-query -W -f='${Status}' visura 2>/dev/null | grep -q installed || fail "still installed"
# Kept on purpose: the register in /var/lib/visura (database, trail, keys)
# and the system user.
left=$(cd /var/lib/visura && ls -A | grep -v -E '^visura\.db(\.trail)?(-wal|-shm)?$|^visura\.db\.(signing-key|secrets-key)$' || true)
[ -z "$left" ] || fail "unexpected files left in /var/lib/visura: $left"
[ ! -e /var/backups/visura ] || fail "/var/backups/visura (empty) is still there"
id visura >/dev/null || fail "the system user went (policy: it stays)"
echo "ok: package built, lint clean, installed, served, reloaded, purged"
echo "systemd-analyze security (offline): $(tail -1 "$work/security.txt")"
