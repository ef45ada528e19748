#!/usr/bin/env bash
# Installs what is needed, builds, creates a demo database with a synthetic
# population of three municipalities of the province of Modena and a week of
# daily deltas, creates one demo account of each role with generated
# passwords, and runs the HTTPS server on it.  Everything lands in var/demo/;
# run as root, the database and certificate are in /var/lib/visura-demo,
# owned by the system user `visura` (created if missing) that the server
# becomes once it has bound its port and read its keys.
#   DEMO_PERSONS (60000)  DEMO_DAYS (7)  DEMO_LISTEN (127.0.0.1:8443)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build
V=$PWD/build/visura
out=$PWD/var/demo
persons=${DEMO_PERSONS:-60000}
days=${DEMO_DAYS:-7}
listen=${DEMO_LISTEN:-127.0.0.1:8443}
state=$out
serve_user=()
if [ "$(id -u)" = 0 ]; then
  # The server refuses to keep root: it becomes this user, which must own
  # the database (and reach it: not under /root).
  id -u visura >/dev/null 2>&1 ||
    useradd --system --no-create-home --shell /usr/sbin/nologin visura
  state=/var/lib/visura-demo
  rm -rf "$state"
  install -d -m 0700 -o visura -g visura "$state"
  serve_user=(--user visura)
fi
db=$state/visura.db
rm -rf "$out"
mkdir -p "$out/feed"
start=$(date -u -d "-$((days + 1)) days" +%F)

# Bologna (province 037) beside three of Modena's: the statistics map's
# region view then has two provinces with data.
echo "== generazione di $persons persone (Modena, Carpi, Sassuolo, Bologna): istantanea del $start e $days variazioni giornaliere"
$V gen --persons "$persons" --comune 036023,036005,036040,037006 --seed 42 --days "$days" \
  --date "$start" --out "$out/feed"
echo "== creazione del database"
# Shown as it is, then read: `tee /dev/stderr` would reopen (and truncate) a
# log file that stderr is redirected to.
init_out=$($V init --db "$db" --admin-name "Responsabile Anagrafe (demo)" \
  --admin-email anagrafe@comune.example.it)
printf '%s\n' "$init_out"
admin_line=$(grep '^primo amministratore' <<< "$init_out") || true
echo "== importazione"
$V import --db "$db" "$out"/feed/*-FULL.tsv
# day by day (sequence, then municipality): who moves is cancelled by the
# origin before the destination registers them (docs/import-format.md)
$V import --db "$db" --quiet $(cd "$out/feed" && ls -- *-DELTA.tsv | sort -t- -k2,2 -k1,1 |
  sed "s|^|$out/feed/|")
$V query --db "$db" counts

echo "== ente e utenze di prova"
# The demo body may connect at any hour so that the demo works at night too;
# real bodies get working hours (see docs/api.md).
$V ente add --db "$db" --name "Polizia Locale di Modena (demo)" --kind police \
  --tax-code 00221940364 --pec polizia.locale@pec.example.it --hours always
$V convenzione add --db "$db" --ente-id 1 --reference "convenzione 1/2026 (demo)" \
  --comuni 036023,036005,036040 --profile identity,residence,family,citizenship,civil_status,vital_status,history \
  --valid-from 2026-01-01 --purpose-code CDS \
  --purpose "Accertamento delle violazioni al codice della strada" --legal-basis "art. 126-bis CdS"
pw() { sed -n 's/.*: \(.*\)$/\1/p' | tail -n 1; }
lead_pw=$($V user add --db "$db" --username demo.lead --role lead --ente-id 1 \
  --name "Laura Responsabile" --cf RSPLRA75A41F257D --email lead@example.it \
  --appointment "decreto 12/2026" | pw)
op_pw=$($V user add --db "$db" --username demo.operator --role operator --ente-id 1 \
  --name "Marco Incaricato" --cf NCRMRC85C12F257P --email operator@example.it \
  --appointment "nomina 34/2026" | pw)
aud_pw=$($V user add --db "$db" --username demo.auditor --role auditor \
  --name "Anna Revisore" --cf RVSNNA70E50F257I --email dpo@example.it | pw)
$V user add --db "$db" --username demo.api --role api --ente-id 1 \
  --name "Gestionale verbali (sistema)" --email sistemi@example.it > /dev/null
token=$($V token create --db "$db" demo.api --token-name demo | pw)

cat <<SUMMARY

================================================================
 visura, dimostrazione — https://$listen   (certificato autofirmato)
 Aprire https://$listen/ in un browser per l'interfaccia web.
 Le password sono temporanee: il primo accesso ne chiede una nuova.
   admin     $(echo "$admin_line" | awk '{print $3}')           ${admin_line##*: }
   lead      demo.lead       $lead_pw
   operator  demo.operator   $op_pw
   auditor   demo.auditor    $aud_pw
   api       demo.api        token (Bearer): $token
 convenzione 1, finalità 1 (CDS): cambiata la password temporanea,
   l'operatore cerca con GET /api/v1/persons?purpose=1&cf=...  (docs/api.md)
 prova: curl -k https://$listen/healthz
================================================================
SUMMARY
[ "$state" = "$out" ] || chown -R visura:visura "$state"
# A fictional municipality heads the printed visura, with visura's neutral
# emblem (print_crest empty: the arms of no real municipality); the QR code
# of its receipt opens this server's /verifica.
exec $V serve --db "$db" --self-signed "$state/tls" --listen "$listen" "${serve_user[@]}" \
  --print-heading "Comune di Valdoria (dimostrazione)" --public-url "https://$listen"
