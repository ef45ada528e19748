/* visura audit — the access trail from the command line: verification of
 * its hash chain. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/csv.h"
#include <jansson.h>
#include <sodium.h>

#include "access/access.h"
#include "audit/audit.h"
#include "audit/export.h"
#include "common/config.h"
#include "common/date.h"
#include "common/fsmode.h"
#include "common/str.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "store/store.h"
#include "witness/publish.h"
#include "witness/witness.h"

static void usage(FILE *out)
{
	fprintf(out,
		"uso: visura audit verify [--db URI] [--head FILE] [--witness NOME=FILE_CHIAVE ...]\n"
		"     visura audit verify-receipt [--db URI | --key CHIAVE] [--witness NOME=FILE_CHIAVE ...]\n"
		"                                 RICEVUTA [FILE_RISPOSTA]\n"
		"     visura audit head [--db URI]\n"
		"     visura audit key [--db URI]\n"
		"     visura audit consistency [--db URI] --from N --to M\n"
		"     visura audit export [--db URI] [--from DATA] [--to DATA] [--cf CF]\n"
		"                         [--format json|csv|bundle] --out FILE\n"
		"     visura audit verify-export FILE [--db URI | --key CHIAVE]\n"
		"                                [--witness NOME=FILE_CHIAVE ...]\n"
		"     visura audit verify-document FILE [--db URI | --key CHIAVE]\n"
		"     visura audit purge [--db URI] [--before DATA | --months N]\n\n"
		"  verify          controlla ogni anello della catena di hash del registro degli\n"
		"                  accessi, ogni punto di controllo firmato e l'albero di Merkle\n"
		"                  rispetto a ogni testa firmata; indica la prima registrazione\n"
		"                  alterata, rimossa, riordinata o tagliata dalla fine.  --head\n"
		"                  FILE: una testa conservata altrove (visura audit head, il\n"
		"                  trail_heads_file, un testimone): il registro deve estenderla,\n"
		"                  altrimenti si indica il troncamento, il ritorno indietro, la\n"
		"                  cancellazione o la biforcazione.  --witness NOME=FILE_CHIAVE\n"
		"                  (ripetibile): ogni controfirma di quel testimone, sulle teste\n"
		"                  nel database e su quella conservata, deve essere valida; dice\n"
		"                  quali teste ha controfirmato ciascun testimone\n"
		"  verify-receipt  controlla una ricevuta (l'intestazione X-Visura-Receipt di una\n"
		"                  risposta, o un file che la contiene): la sua testa firmata, la\n"
		"                  prova di inclusione della sua registrazione, la sua firma e,\n"
		"                  con FILE_RISPOSTA, che i byte della risposta non sono cambiati.\n"
		"                  --key CHIAVE (esadecimale, o un file che la contiene; la stampa\n"
		"                  visura audit key): senza database; altrimenti anche la sua\n"
		"                  registrazione nel registro.  --witness: quel testimone deve\n"
		"                  aver controfirmato la testa che la ricevuta porta, e la sua\n"
		"                  controfirma deve essere valida\n"
		"  head            stampa l'ultima testa firmata dell'albero (da conservare\n"
		"                  altrove)\n"
		"  key             stampa la chiave pubblica dell'installazione (esadecimale)\n"
		"  consistency     la prova che l'albero di M registrazioni estende quello di N\n"
		"                  (RFC 9162), in JSON\n"
		"  export          scrive le registrazioni (filtrate) in FILE e la sua firma\n"
		"                  Ed25519 in FILE.sig, per l'autorità giudiziaria; si controlla\n"
		"                  con: visura audit verify-export FILE.  --format bundle: un solo\n"
		"                  file JSON con, per ogni registrazione, l'indice della sua foglia\n"
		"                  e la prova di inclusione, la testa firmata rispetto a cui si\n"
		"                  verificano e la chiave pubblica (nessun FILE.sig); senza --cf,\n"
		"                  ogni registrazione dalla prima trovata all'ultima\n"
		"  verify-export   controlla FILE rispetto a FILE.sig e alla chiave di questo\n"
		"                  database; un pacchetto (bundle) con --key CHIAVE senza database:\n"
		"                  indica una registrazione alterata o mancante dall'intervallo,\n"
		"                  una prova rispetto a un'altra testa, una testa di un'altra\n"
		"                  installazione.  --witness NOME=FILE_CHIAVE (ripetibile): quel\n"
		"                  testimone deve aver controfirmato la testa del pacchetto, e la\n"
		"                  sua controfirma deve essere valida; le controfirme di testimoni\n"
		"                  non indicati sono dette non controllate\n"
		"  verify-document controlla un documento firmato dall'installazione (l'elenco di\n"
		"                  chi ha consultato i dati di un cittadino, scaricato da\n"
		"                  /citizen/access-report?formato=firmato): la sua firma sul\n"
		"                  contenuto; --key CHIAVE senza database\n"
		"  purge           elimina le registrazioni più vecchie del periodo di\n"
		"                  conservazione (predefinito 24 mesi) e le loro righe dell'indice\n"
		"                  per persona, solo quelle sotto una testa firmata; le loro foglie\n"
		"                  restano nell'albero (teste, prove e ricevute si verificano\n"
		"                  ancora) e l'eliminazione è registrata, firmata\n"
		"codice di uscita: 0 valido, 1 compromesso o non valido, 2 uso errato, 3 errore\n"
		"durante l'esecuzione\n");
}

struct export_opts {
	const char *from, *to, *cf, *format, *out, *before;
	int months;
};

static bool ms_of(const char *date, int64_t *ms)
{
	int d;
	*ms = 0;
	if (!date)
		return true;
	if (!date_parse(date, strlen(date), &d))
		return false;
	*ms = date_to_days(d) * 86400000;
	return true;
}

/* An access record is a few kilobytes; its subjects at most a few hundred. */
#define EXPORT_LINE_MAX (16u << 20)

struct export_ctx {
	FILE *f;
	bool csv, failed;
	int64_t n;
	crypto_sign_state st;
};

static void emit(struct export_ctx *x, const char *text)
{
	fputs(text, x->f);
	crypto_sign_update(&x->st, (const unsigned char *)text, strlen(text));
}

static int export_one(void *ctx, const struct store_access *a)
{
	struct export_ctx *x = ctx;
	if (x->csv) {
		/* One line through the one CSV export (audit/export.h); a line
		 * that does not fit its maximum fails the export whole. */
		struct strbuf sb;
		strbuf_init(&sb, EXPORT_LINE_MAX);
		bool ok = audit_export_csv_row(&sb, a);
		if (ok)
			emit(x, sb.buf);
		strbuf_release(&sb);
		if (!ok) {
			x->failed = true;
			return 1;
		}
		x->n++;
		return 0;
	}
	char num[6][32], at[21];
	timestamp_format(a->at / 1000, at);
	snprintf(num[0], 32, "%lld", (long long)a->id);
	snprintf(num[1], 32, "%lld", (long long)a->account_id);
	snprintf(num[2], 32, "%lld", (long long)a->ente_id);
	snprintf(num[3], 32, "%lld", (long long)a->purpose_id);
	snprintf(num[4], 32, "%d", a->status);
	snprintf(num[5], 32, "%lld", (long long)a->at);
	const char *f[] = {num[0], at, num[5], num[1], a->username, num[2], num[3], a->case_ref,
			   a->on_behalf_of, a->ip, a->operation, a->query, a->subjects,
			   a->categories, a->outcome, num[4], a->flags, a->prev_hash, a->hash};
	static const char *const names[] = {"id", "at", "at_ms", "account_id", "username",
		"ente_id", "purpose_id", "case_ref", "on_behalf_of", "ip", "operation", "query",
		"subjects", "categories", "outcome", "status", "flags", "prev_hash", "hash"};
	json_t *o = json_object();
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		json_object_set_new(o, names[i], json_string(f[i]));
	char *line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_SORT_KEYS);
	json_decref(o);
	if (line) {
		emit(x, line);
		emit(x, "\n");
		free(line);
	}
	x->n++;
	return 0;
}

static int load_key(struct store *s, const char *db, struct audit_key *k)
{
	char path[4096];
	struct vis_error e = {0};
	if (audit_key_path(db, path, sizeof path, &e) || audit_key_ensure(s, path, k, &e)) {
		cli_error("chiave di firma", &e);
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

/* The bundle: records, proofs, head and key in one file (audit/export.h). */
static int export_bundle(struct store *s, const struct export_opts *o,
			 const struct store_access_filter *f)
{
	struct audit_bundle_query q = {.filter = *f, .from = o->from, .to = o->to};
	struct vis_error oe = {0};
	FILE *out = fsmode_fopen_write(o->out, "--out", &oe);
	if (!out) {
		cli_error("audit export", &oe);
		return oe.code == VIS_ERR_INVALID ? EXIT_USAGE : EXIT_RUNTIME;
	}
	struct vis_error e = {0};
	int64_t n;
	vis_err rc = audit_bundle_write(s, &q, out, &n, &e);
	if (fclose(out) && !rc)
		rc = vis_error_set(&e, VIS_ERR_IO, "impossibile scrivere '%s'", o->out);
	if (rc) {
		cli_error("export", &e);
		return EXIT_RUNTIME;
	}
	printf("%lld registrazioni scritte in %s con le loro prove di inclusione e la testa "
	       "firmata dell'albero; si controlla con: visura audit verify-export %s --key CHIAVE\n",
	       (long long)n, o->out, o->out);
	return EXIT_OK;
}

static int audit_export(const char *db, const struct export_opts *o)
{
	struct store_access_filter f = {.limit = 0};
	bool bundle = !strcmp(o->format, "bundle");
	if (!o->out || (strcmp(o->format, "json") && strcmp(o->format, "csv") && !bundle) ||
	    !ms_of(o->from, &f.from_ms) || !ms_of(o->to, &f.to_ms) ||
	    (o->cf && strlen(o->cf) != 16)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (o->cf)
		STR_COPY_KNOWN(f.cf, o->cf); /* 16 characters, checked above */
	struct store *s;
	int rc = cli_store_open(db, &s);
	if (rc)
		return rc;
	if (f.to_ms)
		f.to_ms += 86400000; /* --to is inclusive */
	if (bundle) {
		rc = export_bundle(s, o, &f);
		store_close(s);
		return rc;
	}
	struct audit_key key;
	if ((rc = load_key(s, db, &key))) {
		store_close(s);
		return rc;
	}
	struct export_ctx x = {.csv = !strcmp(o->format, "csv")};
	struct vis_error oe = {0};
	char sigpath[4200];
	/* the signature's file checked before the export is written */
	if (STR_FMT_SET(sigpath, "--out: percorso troppo lungo", &oe, "%s.sig", o->out) ||
	    fsmode_replaceable(sigpath, "il file della firma", &oe) ||
	    !(x.f = fsmode_fopen_write(o->out, "--out", &oe))) {
		cli_error("audit export", &oe);
		store_close(s);
		return oe.code == VIS_ERR_INVALID ? EXIT_USAGE : EXIT_RUNTIME;
	}
	crypto_sign_init(&x.st);
	if (x.csv)
		emit(&x, audit_export_csv_header);
	struct vis_error e = {0};
	if (store_access_search(s, &f, export_one, &x, &e) || x.failed) {
		if (x.failed)
			vis_error_set(&e, VIS_ERR_LIMIT, "la registrazione %lld non sta in una riga CSV",
				      (long long)x.n + 1);
		cli_error("export", &e);
		fclose(x.f);
		store_close(s);
		return EXIT_RUNTIME;
	}
	unsigned char sig[crypto_sign_BYTES];
	char b64[100];
	crypto_sign_final_create(&x.st, sig, NULL, key.sk);
	sodium_memzero(&key, sizeof key);
	sodium_bin2base64(b64, sizeof b64, sig, sizeof sig, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	int failed = fclose(x.f);
	FILE *sf = failed ? NULL : fsmode_fopen_write(sigpath, "il file della firma", &oe);
	if (failed || !sf || fprintf(sf, "ed25519ph %s\n", b64) < 0 || fclose(sf)) {
		if (oe.code)
			cli_error("audit export", &oe);
		else
			fprintf(stderr, "visura: impossibile scrivere '%s'\n", sigpath);
		store_close(s);
		return EXIT_RUNTIME;
	}
	printf("%lld registrazioni scritte in %s, firma in %s\n", (long long)x.n, o->out, sigpath);
	store_close(s);
	return EXIT_OK;
}

static bool pubkey_read(const char *arg, uint8_t pk[32]);

/* The public key to check with: --key's (offline), or the database's.
 * 0, or the exit status after saying why not. */
static int key_of(const char *db, const char *key, uint8_t pk[32])
{
	if (key && !pubkey_read(key, pk)) {
		fprintf(stderr, "visura: --key: 64 cifre esadecimali, o un file che le contiene\n");
		return EXIT_USAGE;
	}
	if (!key) {
		struct store *s;
		int rc = cli_store_open(db, &s);
		if (rc)
			return rc;
		bool ok = audit_public_key(s, pk);
		store_close(s);
		if (!ok) {
			fprintf(stderr, "visura: il database non ha una chiave pubblica di firma\n");
			return EXIT_RUNTIME;
		}
	}
	return 0;
}

/* A signed document (audit_document_sign): with the key given, offline;
 * otherwise with the database's. */
static int verify_document(const char *db, const char *file, const char *key)
{
	uint8_t pk[32];
	int krc = key_of(db, key, pk);
	if (krc)
		return krc;
	size_t len;
	char *text = file_read_all(file, 64u << 20, &len);
	if (!text) {
		fprintf(stderr, "visura: impossibile leggere '%s'\n", file);
		return EXIT_RUNTIME;
	}
	const char *why = audit_document_verify(text, len, pk);
	free(text);
	if (why) {
		printf("NON VALIDO: %s\n", why);
		return EXIT_INVALID;
	}
	printf("ok: il documento è integro e firmato con questa chiave\n");
	return EXIT_OK;
}

/* Witnesses named by --witness, and what verify found of them. */
static struct witness_tally tallies[PUBLISH_WITNESSES_MAX];
static int ntallies;

static bool witness_arg(const char *arg)
{
	const char *eq = strchr(arg, '=');
	struct vis_error e = {0};
	if (ntallies == PUBLISH_WITNESSES_MAX || !eq ||
	    (size_t)(eq - arg) > CHECKPOINT_NAME_MAX) {
		fprintf(stderr, "visura: audit: --witness NOME=FILE_CHIAVE (al massimo %d)\n",
			PUBLISH_WITNESSES_MAX);
		return false;
	}
	struct witness_tally *t = &tallies[ntallies];
	memset(t, 0, sizeof *t);
	memcpy(t->name, arg, (size_t)(eq - arg));
	if (witness_pubkey_read(eq + 1, t->pk, &e)) {
		cli_error("audit verify", &e);
		return false;
	}
	ntallies++;
	return true;
}

/* The cosignatures on one head (a bundle's, a receipt's), against the
 * witnesses named by --witness: each named witness must have cosigned it
 * and its cosignature must verify, else INVALID naming it.  Without
 * --witness the cosigners are named as not checked.  0 or the exit
 * status; what was found is printed. */
static int head_cosignatures(const struct checkpoint *c)
{
	int64_t unknown = 0;
	char why[400];
	for (int i = 0; i < ntallies; i++)
		tallies[i].heads = 0;
	const char *bad = witness_note_check(c, tallies, ntallies, &unknown, why, sizeof why);
	if (bad) {
		printf("NON VALIDO: %s\n", bad);
		return EXIT_INVALID;
	}
	for (int i = 0; i < ntallies; i++)
		if (!tallies[i].heads) {
			printf("NON VALIDO: la testa di dimensione %llu non è controfirmata dal testimone "
			       "%s\n", (unsigned long long)c->size, tallies[i].name);
			return EXIT_INVALID;
		}
	for (int i = 0; i < ntallies; i++)
		printf("testimone %s: controfirma verificata\n", tallies[i].name);
	for (int i = 0; unknown && i < c->nsigs; i++) {
		bool known = !strcmp(c->sigs[i].name, c->origin);
		for (int k = 0; k < ntallies && !known; k++)
			known = !strcmp(tallies[k].name, c->sigs[i].name);
		if (!known)
			printf("testimone %s: ha controfirmato, non controllato (indicare --witness "
			       "%s=FILE_CHIAVE)\n", c->sigs[i].name, c->sigs[i].name);
	}
	return EXIT_OK;
}

/* A bundle, offline: the public key given, no database. */
static int verify_bundle(const char *db, const char *file, const char *key)
{
	uint8_t pk[32];
	int krc = key_of(db, key, pk);
	if (krc)
		return krc;
	size_t len;
	char *text = file_read_all(file, AUDIT_BUNDLE_MAX, &len);
	if (!text) {
		fprintf(stderr, "visura: impossibile leggere '%s' (o più grande di %u MiB)\n", file,
			AUDIT_BUNDLE_MAX >> 20);
		return EXIT_RUNTIME;
	}
	static struct audit_bundle_result res;
	bool ok = audit_bundle_verify(text, len, pk, &res);
	free(text);
	if (!ok) {
		printf("NON VALIDO: %s\n", res.why);
		return EXIT_INVALID;
	}
	char what[128];
	if (res.first)
		snprintf(what, sizeof what, "l'intervallo delle registrazioni da %lld a %lld completo",
			 (long long)res.first, (long long)res.last);
	else
		snprintf(what, sizeof what, "una selezione (per persona, utenza, ente o finalità): "
			 "la sua completezza non si può dimostrare");
	int rc = head_cosignatures(&res.head);
	if (rc)
		return rc;
	printf("ok: %lld registrazioni di %s, ciascuna nella testa firmata dell'albero di %llu "
	       "registrazioni; %s\n", (long long)res.records, res.head.origin,
	       (unsigned long long)res.head.size, what);
	return EXIT_OK;
}

static bool is_bundle(const char *file)
{
	char start[64] = "";
	FILE *f = fopen(file, "rb");
	if (!f)
		return false;
	size_t n = fread(start, 1, sizeof start - 1, f);
	fclose(f);
	start[n] = '\0';
	return strstr(start, "\"format\"") != NULL && strstr(start, AUDIT_BUNDLE_FORMAT) != NULL;
}

static int audit_verify_export(const char *db, const char *file, const char *key)
{
	if (key || is_bundle(file))
		return verify_bundle(db, file, key);
	char sigpath[4200], line[256], pkhex[65];
	unsigned char sig[crypto_sign_BYTES], pk[32], buf[65536];
	size_t n;
	bool found;
	if (!STR_FMT(sigpath, "%s.sig", file)) {
		fprintf(stderr, "visura: percorso troppo lungo: '%s'\n", file);
		return EXIT_USAGE;
	}
	FILE *sf = fopen(sigpath, "r"), *f = fopen(file, "rb");
	if (!sf || !f || !fgets(line, sizeof line, sf)) {
		fprintf(stderr, "visura: impossibile leggere '%s' o '%s'\n", file, sigpath);
		if (sf) fclose(sf);
		if (f) fclose(f);
		return EXIT_RUNTIME;
	}
	fclose(sf);
	line[strcspn(line, "\n")] = '\0';
	struct store *s;
	int rc = cli_store_open(db, &s);
	if (rc) {
		fclose(f);
		return rc;
	}
	bool ok = !strncmp(line, "ed25519ph ", 10) &&
		  !sodium_base642bin(sig, sizeof sig, line + 10, strlen(line + 10), NULL, &n, NULL,
				     sodium_base64_VARIANT_URLSAFE_NO_PADDING) && n == sizeof sig &&
		  !store_setting_get(s, "signing_public_key", pkhex, sizeof pkhex, &found, NULL) &&
		  found && !sodium_hex2bin(pk, sizeof pk, pkhex, strlen(pkhex), NULL, &n, NULL);
	crypto_sign_state st;
	crypto_sign_init(&st);
	size_t got;
	while ((got = fread(buf, 1, sizeof buf, f)) > 0)
		crypto_sign_update(&st, buf, got);
	fclose(f);
	ok = ok && crypto_sign_final_verify(&st, sig, pk) == 0;
	store_close(s);
	printf("%s\n", ok ? "ok: l'esportazione è integra e firmata con la chiave di questo database"
			  : "NON VALIDO: l'esportazione o la sua firma sono state alterate, o l'ha "
			    "firmata un'altra chiave");
	return ok ? EXIT_OK : EXIT_INVALID;
}

/* A long purge says how far it is, at most every 10 seconds. */
struct purge_shown {
	time_t at;
};

static void purge_progress(void *ctx, int64_t up_to, int64_t removed)
{
	struct purge_shown *p = ctx;
	time_t now = time(NULL);
	if (now - p->at < 10)
		return;
	p->at = now;
	fprintf(stderr, "purge: %lld registrazioni di accesso eliminate finora (fino alla "
			"registrazione %lld)\n", (long long)removed, (long long)up_to);
}

static int purge_cmd(const char *db, const struct export_opts *o)
{
	struct config cfg;
	config_defaults(&cfg);
	int months = o->months > 0 ? o->months : cfg.retention_months;
	int64_t cutoff_ms;
	if (o->before) {
		if (!ms_of(o->before, &cutoff_ms)) {
			usage(stderr);
			return EXIT_USAGE;
		}
	} else {
		int today = date_today();
		int y = DATE_YEAR(today), m = DATE_MONTH(today) - months;
		while (m < 1) {
			m += 12;
			y--;
		}
		cutoff_ms = date_to_days(DATE_MAKE(y, m, 1)) * 86400000;
	}
	struct store *s;
	int rc = cli_store_open(db, &s);
	if (rc)
		return rc;
	struct audit_key key;
	if ((rc = load_key(s, db, &key))) {
		store_close(s);
		return rc;
	}
	struct vis_error e = {0};
	int64_t removed = 0, up_to = 0;
	/* Only records older than the cutoff, under a signed head; their
	 * leaves stay in the tree and the purge is signed. */
	struct purge_shown shown = {.at = time(NULL)};
	struct audit_purge_opts po = {.cutoff_ms = cutoff_ms,
				      .now_ms = (int64_t)time(NULL) * 1000,
				      .batch = AUDIT_PURGE_BATCH,
				      .progress = purge_progress,
				      .ctx = &shown};
	vis_err err = audit_purge(s, &key, &po, &up_to, &removed, &e);
	sodium_memzero(&key, sizeof key);
	store_close(s);
	if (err) {
		if (removed)
			printf("%lld registrazioni di accesso eliminate (fino alla registrazione %lld), "
			       "poi l'errore che segue\n", (long long)removed, (long long)up_to);
		cli_error("purge", &e);
		return EXIT_RUNTIME;
	}
	printf("%lld registrazioni di accesso eliminate (fino alla registrazione %lld); le loro "
	       "foglie restano nell'albero del registro, l'eliminazione è firmata\n",
	       (long long)removed, (long long)up_to);
	return EXIT_OK;
}

/* A receipt (receipt true) or a key given inline or as a file: the text
 * without its final newline, the caller's to free. */
static char *inline_or_file(const char *arg, bool receipt, size_t max)
{
	size_t len;
	char *t;
	if (receipt && ((arg[0] == 'v' && arg[1] && strchr("123", arg[1]) && arg[2] == '.') ||
			access(arg, F_OK) != 0))
		return strdup(arg);   /* a receipt given inline, or no such file */
	if (!receipt && strlen(arg) == 64 && strspn(arg, "0123456789abcdef") == 64)
		return strdup(arg);
	if (!(t = file_read_all(arg, max, &len)))
		return NULL;
	while (len > 0 && (t[len - 1] == '\n' || t[len - 1] == '\r'))
		t[--len] = '\0';
	if (strlen(t) != len) {
		free(t);
		return NULL;
	}
	return t;
}

static bool pubkey_read(const char *arg, uint8_t pk[32])
{
	char *t = inline_or_file(arg, false, 1024);
	size_t n = 0;
	bool ok = t && strlen(t) == 64 &&
		  !sodium_hex2bin(pk, 32, t, 64, NULL, &n, NULL) && n == 32;
	free(t);
	return ok;
}

/* A receipt is issued as its record is committed, before any witness
 * has cosigned the head it carries.  What a witness vouches for is a
 * later head: for each witness named by --witness, the first head in the
 * database at least as large, signed by the deployment, cosigned by the
 * witness (the cosignature verified) and proven to extend the receipt's
 * head (an RFC 9162 consistency proof between the two signed roots: the
 * database cannot forge it).  0, or the exit status, said. */
struct witnessed_walk {
	const struct checkpoint *receipt_head;
	const uint8_t *pk;
	struct witness_tally *t;
	struct checkpoint found;       /* the head found (size 0: none yet) */
	uint64_t size;
	const char *bad;
	char why[400];
};

static int witnessed_head(void *ctx, const struct store_head *h)
{
	struct witnessed_walk *w = ctx;
	static struct checkpoint c;
	if ((uint64_t)h->size < w->receipt_head->size || checkpoint_parse(&c, h->note, strlen(h->note)))
		return 0;
	bool cosigned = false;
	for (int i = 0; i < c.nsigs && !cosigned; i++)
		cosigned = !strcmp(c.sigs[i].name, w->t->name);
	if (!cosigned)
		return 0;
	uint64_t at;
	const char *bad = checkpoint_verify(&c, w->pk);
	if (bad) {
		/* a number and checkpoint_verify's constant message (< 130 bytes) */
		STR_FMT_KNOWN(w->why,
			      "la testa di dimensione %llu nel database non è "
			      "firmata da questa installazione (%s)",
			      (unsigned long long)c.size, bad);
		w->bad = w->why;
		return 1;
	}
	if ((bad = checkpoint_cosigned(&c, w->t->name, w->t->pk, &at))) {
		/* a number, a name of at most 128 bytes, a constant message (< 130) */
		STR_FMT_KNOWN(w->why,
			      "la testa di dimensione %llu porta una controfirma "
			      "del testimone %s che non si verifica con la sua chiave (%s)",
			      (unsigned long long)c.size, w->t->name, bad);
		w->bad = w->why;
		return 1;
	}
	w->found = c;
	w->size = c.size;
	return 1;
}

static int receipt_witnessed(struct store *s, const struct checkpoint *head, const uint8_t pk[32])
{
	for (int i = 0; i < ntallies; i++) {
		static struct witnessed_walk w;
		memset(&w, 0, sizeof w);
		w.receipt_head = head;
		w.pk = pk;
		w.t = &tallies[i];
		struct vis_error e = {0};
		if (store_head_each(s, witnessed_head, &w, &e) && !w.bad && !w.size) {
			cli_error("audit verify-receipt", &e);
			return EXIT_RUNTIME;
		}
		uint8_t proof[MERKLE_PROOF_MAX][MERKLE_HASH];
		int len = 0;
		if (!w.bad && w.size &&
		    (audit_tree_consistency(s, head->size, w.size, proof, &len, &e) ||
		     !merkle_consistency_verify(head->size, w.size, head->root, w.found.root, proof,
						len))) {
			printf("NON VALIDO: la testa di dimensione %llu controfirmata dal testimone %s non "
			       "estende la testa della ricevuta, di dimensione %llu (%s)\n",
			       (unsigned long long)w.size, tallies[i].name, (unsigned long long)head->size,
			       e.msg[0] ? e.msg : "la prova di coerenza non si verifica");
			return EXIT_INVALID;
		}
		if (w.bad) {
			printf("NON VALIDO: %s\n", w.bad);
			return EXIT_INVALID;
		}
		if (!w.size) {
			printf("NON VALIDO: nessuna testa controfirmata dal testimone %s estende ancora la "
			       "testa della ricevuta, di dimensione %llu\n", tallies[i].name,
			       (unsigned long long)head->size);
			return EXIT_INVALID;
		}
		printf("testimone %s: ha controfirmato la testa di dimensione %llu, che estende la "
		       "testa della ricevuta, di dimensione %llu (prova di coerenza verificata)\n",
		       tallies[i].name, (unsigned long long)w.size, (unsigned long long)head->size);
	}
	return EXIT_OK;
}

static int verify_receipt(const char *db, const char *key, const char *receipt_arg,
			  const char *body_file)
{
	size_t len = 0;
	char *body = NULL, *receipt = inline_or_file(receipt_arg, true, AUDIT_RECEIPT_MAX + 2);
	uint8_t pk[32];
	int rc = EXIT_OK;
	if (!receipt) {
		fprintf(stderr, "visura: impossibile leggere la ricevuta '%s'\n", receipt_arg);
		return EXIT_RUNTIME;
	}
	if (body_file && !(body = file_read_all(body_file, 64u << 20, &len))) {
		fprintf(stderr, "visura: impossibile leggere '%s'\n", body_file);
		free(receipt);
		return EXIT_RUNTIME;
	}
	const char *why;
	/* A printed visura carries its receipt in its seal: the receipt signs
	 * the page with the seal empty (access.h). */
	if (body && (why = access_print_unseal(body, &len))) {
		printf("NON VALIDO: %s\n", why);
		rc = EXIT_INVALID;
		goto out;
	}
	int64_t purged_at = 0;
	static struct audit_receipt_info info;
	if (key) {
		if (!pubkey_read(key, pk)) {
			fprintf(stderr, "visura: --key: 64 cifre esadecimali, o un file che le contiene\n");
			rc = EXIT_USAGE;
			goto out;
		}
		why = audit_receipt_verify(receipt, pk, body, len, &info);
	} else {
		struct store *s;
		if ((rc = cli_store_open(cli_db_uri(db), &s)))
			goto out;
		struct vis_error e = {0};
		why = audit_receipt_check(s, receipt, body, len, &purged_at, &e);
		/* the head it carries, then the later heads the witnesses cosigned */
		if (!why && ntallies && !audit_public_key(s, pk))
			why = "il database non ha una chiave di firma";
		if (!why && ntallies)
			why = audit_receipt_verify(receipt, pk, body, len, &info);
		if (!why && ntallies)
			rc = receipt_witnessed(s, &info.head, pk);
		store_close(s);
		if (rc)
			goto out;
	}
	if (!why && key && (rc = head_cosignatures(&info.head)))
		goto out;
	if (why) {
		printf("NON VALIDO: %s\n", why);
		rc = EXIT_INVALID;
	} else if (key) {
		printf("ok: ricevuta valida: la registrazione di accesso %lld è la foglia %llu della "
		       "testa firmata dell'albero di %llu registrazioni di %s%s\n", (long long)info.id,
		       (unsigned long long)info.index, (unsigned long long)info.head.size,
		       info.head.origin, body ? ", risposta invariata" : "");
	} else if (purged_at) {
		char day[21];
		timestamp_format(purged_at / 1000, day);
		day[10] = '\0';
		printf("ok: ricevuta valida%s: la registrazione di accesso è esistita, eliminata il %s "
		       "per fine conservazione (la sua foglia resta nell'albero del registro)\n",
		       body ? ", risposta invariata" : "", day);
	} else {
		printf("ok: ricevuta valida%s\n", body ? ", risposta invariata" : "");
	}
out:
	free(body);
	free(receipt);
	return rc;
}

static int print_head(const char *db, bool key_only)
{
	struct store *s;
	int rc = cli_store_open(cli_db_uri(db), &s);
	if (rc)
		return rc;
	struct vis_error e = {0};
	static struct store_head h;
	bool found;
	uint8_t pk[32];
	if (key_only) {
		char hex[65];
		if (!audit_public_key(s, pk)) {
			fprintf(stderr, "visura: il database non ha ancora una chiave di firma\n");
			rc = EXIT_RUNTIME;
		} else {
			sodium_bin2hex(hex, sizeof hex, pk, sizeof pk);
			printf("%s\n", hex);
		}
	} else if (store_head_last(s, &h, &found, &e)) {
		cli_error("audit head", &e);
		rc = EXIT_RUNTIME;
	} else if (!found) {
		fprintf(stderr, "visura: ancora nessuna testa firmata dell'albero (avviare il server una "
			"volta)\n");
		rc = EXIT_RUNTIME;
	} else {
		fputs(h.note, stdout);
	}
	store_close(s);
	return rc;
}

/* A tree size: digits alone (str_u64), below 2^62 as the tree's sizes are. */
static bool u64_arg(const char *s, uint64_t *out)
{
	return str_u64(s, (UINT64_C(1) << 62) - 1, out);
}

static int consistency(const char *db, const char *from, const char *to)
{
	uint64_t m, n;
	if (!u64_arg(from, &m) || !u64_arg(to, &n) || m > n) {
		fprintf(stderr, "visura: audit consistency: --from N --to M, con 0 <= N <= M\n");
		return EXIT_USAGE;
	}
	struct store *s;
	int rc = cli_store_open(cli_db_uri(db), &s);
	if (rc)
		return rc;
	struct vis_error e = {0};
	uint8_t proof[MERKLE_PROOF_MAX][MERKLE_HASH], rm[MERKLE_HASH], rn[MERKLE_HASH];
	int len;
	if (audit_tree_root(s, m, rm, &e) || audit_tree_root(s, n, rn, &e) ||
	    audit_tree_consistency(s, m, n, proof, &len, &e)) {
		cli_error("audit consistency", &e);
		store_close(s);
		return e.code == VIS_ERR_NOTFOUND ? EXIT_INVALID : EXIT_RUNTIME;
	}
	store_close(s);
	char b64[64];
	printf("{\"from\":%llu,\"to\":%llu,", (unsigned long long)m, (unsigned long long)n);
	sodium_bin2base64(b64, sizeof b64, rm, MERKLE_HASH, sodium_base64_VARIANT_ORIGINAL);
	printf("\"from_root\":\"%s\",", b64);
	sodium_bin2base64(b64, sizeof b64, rn, MERKLE_HASH, sodium_base64_VARIANT_ORIGINAL);
	printf("\"to_root\":\"%s\",\"proof\":[", b64);
	for (int i = 0; i < len; i++) {
		sodium_bin2base64(b64, sizeof b64, proof[i], MERKLE_HASH,
				  sodium_base64_VARIANT_ORIGINAL);
		printf("%s\"%s\"", i ? "," : "", b64);
	}
	printf("]}\n");
	return EXIT_OK;
}

struct cosig_walk {
	int64_t unknown;
	const char *bad;
	char why[400];
};

static int cosig_head(void *ctx, const struct store_head *h)
{
	struct cosig_walk *w = ctx;
	static struct checkpoint c;
	if (checkpoint_parse(&c, h->note, strlen(h->note)))
		return 0;   /* audit_verify names a head that does not parse */
	w->bad = witness_note_check(&c, tallies, ntallies, &w->unknown, w->why, sizeof w->why);
	return w->bad ? 1 : 0;
}

/* The witnesses' cosignatures, on the database's heads and the kept one:
 * 0 when every one verifies (what each witness cosigned printed), else
 * the exit status. */
static int verify_cosignatures(struct store *s, const struct checkpoint *kept)
{
	struct cosig_walk w = {0};
	struct vis_error e = {0};
	if (store_head_each(s, cosig_head, &w, &e) && !w.bad) {
		cli_error("audit verify", &e);
		return EXIT_RUNTIME;
	}
	if (!w.bad && kept)
		w.bad = witness_note_check(kept, tallies, ntallies, &w.unknown, w.why,
					   sizeof w.why);
	if (w.bad) {
		printf("COMPROMESSO: %s\n", w.bad);
		return EXIT_INVALID;
	}
	for (int i = 0; i < ntallies; i++) {
		if (tallies[i].heads)
			printf("testimone %s: %lld controfirme verificate, l'ultima sulla testa di "
			       "dimensione %llu\n", tallies[i].name, (long long)tallies[i].heads,
			       (unsigned long long)tallies[i].latest);
		else
			printf("testimone %s: nessuna testa controfirmata\n", tallies[i].name);
	}
	if (w.unknown)
		printf("%lld controfirme di testimoni non indicati con --witness (non controllate)\n",
		       (long long)w.unknown);
	return EXIT_OK;
}

int cmd_audit(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'},
		{"from", required_argument, NULL, 'f'},
		{"to", required_argument, NULL, 't'},
		{"cf", required_argument, NULL, 'c'},
		{"format", required_argument, NULL, 'F'},
		{"out", required_argument, NULL, 'o'},
		{"before", required_argument, NULL, 'b'},
		{"months", required_argument, NULL, 'm'},
		{"head", required_argument, NULL, 'H'},
		{"key", required_argument, NULL, 'k'},
		{"witness", required_argument, NULL, 'W'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	struct export_opts x = {.format = "json"};
	const char *db = NULL, *head = NULL, *key = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'f': x.from = optarg; break;
		case 't': x.to = optarg; break;
		case 'c': x.cf = optarg; break;
		case 'F': x.format = optarg; break;
		case 'o': x.out = optarg; break;
		case 'b': x.before = optarg; break;
		case 'm': {
			long long n;
			if (!cli_int(optarg, "audit: --months", 1, 240, &n))
				return EXIT_USAGE;
			x.months = (int)n;
			break;
		}
		case 'H': head = optarg; break;
		case 'k': key = optarg; break;
		case 'W':
			if (!witness_arg(optarg))
				return EXIT_USAGE;
			break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind == argc - 1 && !strcmp(argv[optind], "export"))
		return audit_export(cli_db_uri(db), &x);
	if (optind == argc - 2 && !strcmp(argv[optind], "verify-export"))
		return audit_verify_export(cli_db_uri(db), argv[optind + 1], key);
	if (optind == argc - 2 && !strcmp(argv[optind], "verify-document"))
		return verify_document(cli_db_uri(db), argv[optind + 1], key);
	if (optind == argc - 1 && !strcmp(argv[optind], "purge"))
		return purge_cmd(cli_db_uri(db), &x);
	if (optind == argc - 1 && !strcmp(argv[optind], "head"))
		return print_head(db, false);
	if (optind == argc - 1 && !strcmp(argv[optind], "key"))
		return print_head(db, true);
	if (optind == argc - 1 && !strcmp(argv[optind], "consistency"))
		return consistency(db, x.from, x.to);
	bool receipt = optind < argc && !strcmp(argv[optind], "verify-receipt");
	if (receipt && argc - optind >= 2 && argc - optind <= 3)
		return verify_receipt(db, key, argv[optind + 1],
				      argc - optind == 3 ? argv[optind + 2] : NULL);
	if (!(optind == argc - 1 && !strcmp(argv[optind], "verify"))) {
		usage(stderr);
		return EXIT_USAGE;
	}
	static struct checkpoint kept;
	if (head) {
		size_t len;
		char *t = file_read_all(head, CHECKPOINT_TEXT_MAX, &len);
		const char *why = t ? checkpoint_parse(&kept, t, len) : "non si può leggere";
		free(t);
		if (why) {
			printf("NON VALIDO: la testa conservata '%s': %s\n", head, why);
			return EXIT_INVALID;
		}
	}
	struct store *s;
	int rc = cli_store_open(cli_db_uri(db), &s);
	if (rc)
		return rc;
	struct audit_verify_result res;
	struct vis_error e = {0};
	if (audit_verify(s, head ? &kept : NULL, &res, &e)) {
		cli_error("audit verify", &e);
		rc = EXIT_RUNTIME;
	} else if (res.first_bad_id) {
		printf("COMPROMESSO alla registrazione %lld (%lld registrazioni lette): %s\n",
		       (long long)res.first_bad_id, (long long)res.checked, res.why);
		rc = EXIT_INVALID;
	} else if (!(rc = verify_cosignatures(s, head ? &kept : NULL))) {
		char purged[192] = "";
		if (res.purged) {
			char day[21] = "giorno ignoto";
			if (res.purged_at) {
				timestamp_format(res.purged_at / 1000, day);
				day[10] = '\0';
			}
			/* a number and a date */
			STR_FMT_KNOWN(purged,
				      ", %lld eliminate per fine conservazione ("
				      "ultima eliminazione %s; foglie conservate)",
				      (long long)res.purged, day);
		}
		printf("ok: %lld registrazioni di accesso%s, catena di hash integra, %lld punti di "
		       "controllo firmati verificati, %lld teste firmate dell'albero verificate%s\n",
		       (long long)res.checked, purged, (long long)res.checkpoints, (long long)res.heads,
		       head ? ", il registro estende la testa conservata" : "");
	}
	store_close(s);
	return rc;
}
