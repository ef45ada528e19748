/* visura pdnd — the registry office's PDND purposes and the bodies' client
 * keys from the command line (the API has the same: /api/v1/pdnd/purposes,
 * /api/v1/pdnd/keys): map a PDND purpose (a voucher's purposeId) to a
 * visura purpose and an API account of its body, end a mapping, list them;
 * register, list and revoke a body's client key.  The rules are
 * pdnd/pdnd.h's. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "pdnd/pdnd.h"
#include "store/store.h"

static void usage(FILE *out)
{
	fprintf(out,
		"uso: visura pdnd map [--db URI] --pdnd-purpose ID --client-id ID\n"
		"         --purpose N --account UTENTE\n"
		"     visura pdnd unmap [--db URI] --pdnd-purpose ID\n"
		"     visura pdnd list [--db URI]\n"
		"     visura pdnd key-add [--db URI] --ente-id N --jwk FILE\n"
		"     visura pdnd key-list [--db URI]\n"
		"     visura pdnd key-revoke [--db URI] --id N\n"
		"     visura pdnd keygen --out FILE\n\n"
		"Un voucher PDND con purposeId ID, rilasciato al client ID, è una chiamata\n"
		"dell'utenza API UTENTE per la finalità N di visura (dell'ente di quell'utenza).\n"
		"key-add registra la chiave pubblica (un JWK con il suo kid) con cui il client\n"
		"PDND dell'ente N firma il suo Agid-JWT-TrackingEvidence (chi ha chiesto) e il\n"
		"suo Agid-JWT-Signature (INTEGRITY_REST_02).\n"
		"key-revoke revoca la chiave N (il suo id in key-list): dalla chiamata\n"
		"successiva, su ogni istanza, ciò che essa firma è rifiutato (resta in\n"
		"key-list come revocata).\n"
		"keygen crea la chiave dell'installazione che firma le risposte alle chiamate\n"
		"PDND (EC P-256, ES256), scritta in FILE (modo 0600, mai sostituito) per\n"
		"l'opzione pdnd_signing_key; stampa la chiave pubblica, che visura pubblica\n"
		"in /.well-known/jwks.json.\n"
		"I voucher stessi: opzioni pdnd_jwks, pdnd_issuer, pdnd_audience di visura\n"
		"serve (docs/pdnd.md).\n");
}

static int print_key(void *ctx, const void *rec)
{
	(void)ctx;
	const struct store_pdnd_key *k = rec;
	printf("%lld\t%lld\t%s\t%s\n", (long long)k->id, (long long)k->ente_id, k->kid,
	       k->revoked_at ? "revoked" : "in force");
	return 0;
}

/* The JWK file of key-add, at most cap-1 bytes. */
static bool read_jwk(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "visura: pdnd: impossibile leggere '%s'\n", path);
		return false;
	}
	size_t n = fread(out, 1, cap - 1, f);
	bool whole = feof(f) || fgetc(f) == EOF;
	fclose(f);
	out[n] = '\0';
	if (!whole)
		fprintf(stderr, "visura: pdnd: '%s' è più lungo di %zu byte\n", path, cap - 1);
	return whole;
}

static int print_mapping(void *ctx, const void *rec)
{
	(void)ctx;
	const struct store_pdnd_purpose *m = rec;
	printf("%lld\t%s\t%s\t%lld\t%lld\t%s\n", (long long)m->id, m->pdnd_purpose, m->client_id,
	       (long long)m->purpose_id, (long long)m->account_id, m->revoked_at ? "ended" : "in force");
	return 0;
}

int cmd_pdnd(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'}, {"pdnd-purpose", required_argument, NULL, 'P'},
		{"client-id", required_argument, NULL, 'c'}, {"purpose", required_argument, NULL, 'p'},
		{"account", required_argument, NULL, 'a'}, {"ente-id", required_argument, NULL, 'e'},
		{"jwk", required_argument, NULL, 'j'}, {"out", required_argument, NULL, 'o'},
		{"id", required_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	if (argc < 2 || cli_help_arg(argv[1])) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "map") && strcmp(sub, "unmap") && strcmp(sub, "list") &&
	    strcmp(sub, "key-add") && strcmp(sub, "key-list") && strcmp(sub, "key-revoke") &&
	    strcmp(sub, "keygen")) {
		fprintf(stderr, "visura: pdnd: sotto-comando sconosciuto '%s'\n", sub);
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *db = NULL, *pdnd = NULL, *client = NULL, *account = NULL, *jwk = NULL,
		   *out = NULL;
	long long purpose = 0, ente = 0, key_id = 0;
	int ch;
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': db = optarg; break;
		case 'P': pdnd = optarg; break;
		case 'c': client = optarg; break;
		case 'a': account = optarg; break;
		case 'j': jwk = optarg; break;
		case 'o': out = optarg; break;
		case 'p':
		case 'e':
		case 'i': {
			const char *opt = ch == 'p' ? "pdnd: --purpose"
				 : ch == 'e' ? "pdnd: --ente-id" : "pdnd: --id";
			long long n;
			if (!cli_int(optarg, opt, 1, INT64_MAX, &n))
				return EXIT_USAGE;
			*(ch == 'p' ? &purpose : ch == 'e' ? &ente : &key_id) = n;
			break;
		}
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if ((!strcmp(sub, "map") && (!pdnd || !client || !purpose || !account)) ||
	    (!strcmp(sub, "unmap") && !pdnd) || (!strcmp(sub, "key-add") && (!ente || !jwk)) ||
	    (!strcmp(sub, "key-revoke") && !key_id) ||
	    (!strcmp(sub, "keygen") && (!out || optind != argc))) {
		usage(stderr);
		return EXIT_USAGE;
	}
	struct vis_error e = {0};
	if (!strcmp(sub, "keygen")) {
		char *pub = NULL;
		if (pdnd_signer_generate(out, &pub, &e)) {
			cli_error("pdnd keygen", &e);
			return EXIT_RUNTIME;
		}
		printf("%s\n", pub);
		free(pub);
		return EXIT_OK;
	}
	struct store *s;
	int rc = cli_store_open(cli_db_uri(db), &s);
	if (rc)
		return rc;
	int64_t now = (int64_t)time(NULL);
	vis_err vrc = VIS_OK;
	if (!strcmp(sub, "list")) {
		printf("id\tpdnd_purpose\tclient_id\tpurpose_id\taccount_id\tstate\n");
		vrc = store_rec_list(s, STORE_PDND_PURPOSE, NULL, 0, print_mapping, NULL, &e);
	} else if (!strcmp(sub, "key-list")) {
		printf("id\tente_id\tkid\tstate\n");
		vrc = store_rec_list(s, STORE_PDND_KEY, NULL, 0, print_key, NULL, &e);
	} else if (!strcmp(sub, "key-add")) {
		static struct store_pdnd_key k;
		static char text[sizeof k.jwk];
		if (!read_jwk(jwk, text, sizeof text)) {
			store_close(s);
			return EXIT_INVALID;
		}
		vrc = pdnd_key_add(s, ente, text, now, &k, &e);
		if (!vrc) {
			auth_event(s, now, "pdnd_key_added", NULL, "visura pdnd key-add", "cli", k.kid);
			printf("chiave %s registrata per l'ente %lld\n", k.kid, ente);
		}
	} else if (!strcmp(sub, "key-revoke")) {
		static struct store_pdnd_key k;
		vrc = pdnd_key_revoke(s, key_id, now, &k, &e);
		if (!vrc) {
			auth_event(s, now, "pdnd_key_revoked", NULL, "visura pdnd key-revoke", "cli",
				   k.kid);
			printf("chiave %lld (%s) dell'ente %lld revocata\n", key_id, k.kid,
			       (long long)k.ente_id);
		}
	} else if (!strcmp(sub, "map")) {
		struct store_pdnd_purpose m;
		vrc = pdnd_purpose_map(s, pdnd, client, purpose, account, now, &m, &e);
		if (!vrc) {
			auth_event(s, now, "pdnd_purpose_mapped", NULL, "visura pdnd map", "cli",
				   m.pdnd_purpose);
			printf("finalità PDND %s (client %s) associata alla finalità %lld, utenza %s\n",
			       m.pdnd_purpose, m.client_id, (long long)m.purpose_id, account);
		}
	} else {
		vrc = pdnd_purpose_unmap(s, pdnd, now, &e);
		if (!vrc) {
			auth_event(s, now, "pdnd_purpose_unmapped", NULL, "visura pdnd unmap", "cli",
				   pdnd);
			printf("finalità PDND %s: associazione chiusa\n", pdnd);
		}
	}
	if (vrc) {
		cli_error("pdnd", &e);
		rc = vis_err_store(vrc) || vrc == VIS_ERR_NOMEM || vrc == VIS_ERR_IO ? EXIT_RUNTIME
										     : EXIT_INVALID;
	}
	store_close(s);
	return rc;
}
