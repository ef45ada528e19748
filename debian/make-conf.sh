#!/bin/sh
# Writes /etc/visura/visura.conf to stdout from the built binary: every
# option, its help and its default as `visura serve --print-config` gives
# them, commented out; only what the package sets is left active.
#   debian/make-conf.sh PATH/TO/visura
set -eu
visura=$1
# name=value the package sets (its layout: debian/README.Debian)
set_opts="tls_cert=/etc/visura/tls/cert.pem
tls_key=/etc/visura/tls/key.pem
log_file=/var/log/visura/visura.log"
cat <<'HEAD'
# /etc/visura/visura.conf — configuration of `visura serve` (the systemd
# unit visura.service: `visura serve --config /etc/visura/visura.conf`).
#
# One option a line, "name = value"; '#' starts a comment.  Every option is
# listed below with its help and its default, commented out: remove the '#'
# and change the value to set one.  `visura serve --config FILE --check`
# validates the file; `--print-config` prints what is in effect.
#
# The server runs as the system user `visura` (the unit's User=): leave
# `user` empty.  The database and its keys are in /var/lib/visura (default
# of `db`); create it with `visura init` (README.Debian).
#
# TLS: the certificate chain and key below, readable by the group visura
# (install -m 0640 -o root -g visura ...).  After replacing them (a renewal),
# `systemctl reload visura` reads them again without dropping connections.

HEAD
"$visura" serve --print-config | while IFS= read -r line; do
  case $line in
    '#'*|'') printf '%s\n' "$line" ;;
    *)
      name=${line%% =*}
      value=$(printf '%s\n' "$set_opts" | sed -n "s|^$name=||p")
      if [ -n "$value" ]; then
        printf '%s = %s\n' "$name" "$value"
      else
        printf '# %s\n' "$line" | sed 's/ $//'
      fi ;;
  esac
done
