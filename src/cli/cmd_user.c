/* visura user | ente | token — account, body and token administration from
 * the command line, for the registry office's IT staff (and for setting up
 * a demo).  The same rules as the API apply: they go through auth. */
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "auth/hours.h"
#include "auth/password.h"
#include "cf/cf.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "common/config.h"
#include "common/email.h"
#include "common/date.h"
#include "refdata/refdata.h"
#include "store/store.h"

struct cli {
	const char *db;
	const char *config;
	const char *username, *role, *name, *cf, *email, *appointment, *reason;
	const char *kind, *tax_code, *pec, *hours, *token_name;
	int64_t ente_id;
	struct config cfg;
	struct store *s;
};

static int cli_open(struct cli *c)
{
	struct vis_error e = {0};
	config_defaults(&c->cfg);
	if (c->config && config_load_file(&c->cfg, c->config, &e)) {
		cli_error("config", &e);
		return EXIT_USAGE;
	}
	const char *uri = c->db ? c->db : (c->config ? c->cfg.db : cli_db_uri(NULL));
	if (password_init(refdata_default_dir(), &e)) {
		cli_error("password", &e);
		return EXIT_RUNTIME;
	}
	return cli_store_open(uri, &c->s);
}

static int64_t now_s(void)
{
	return timestamp_now();
}

static int parse(int argc, char **argv, struct cli *c)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'}, {"config", required_argument, NULL, 'c'},
		{"username", required_argument, NULL, 'u'}, {"role", required_argument, NULL, 'r'},
		{"name", required_argument, NULL, 'n'}, {"cf", required_argument, NULL, 'f'},
		{"email", required_argument, NULL, 'm'}, {"appointment", required_argument, NULL, 'a'},
		{"reason", required_argument, NULL, 'R'}, {"ente-id", required_argument, NULL, 'e'},
		{"kind", required_argument, NULL, 'k'}, {"tax-code", required_argument, NULL, 't'},
		{"pec", required_argument, NULL, 'p'}, {"hours", required_argument, NULL, 'H'},
		{"token-name", required_argument, NULL, 'T'}, {"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	int ch;
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': c->db = optarg; break;
		case 'c': c->config = optarg; break;
		case 'u': c->username = optarg; break;
		case 'r': c->role = optarg; break;
		case 'n': c->name = optarg; break;
		case 'f': c->cf = optarg; break;
		case 'm': c->email = optarg; break;
		case 'a': c->appointment = optarg; break;
		case 'R': c->reason = optarg; break;
		case 'e': {
			long long n;
			if (!cli_int(optarg, "user: --ente-id", 1, INT64_MAX, &n))
				return EXIT_USAGE;
			c->ente_id = n;
			break;
		}
		case 'k': c->kind = optarg; break;
		case 't': c->tax_code = optarg; break;
		case 'p': c->pec = optarg; break;
		case 'H': c->hours = optarg; break;
		case 'T': c->token_name = optarg; break;
		case 'h': return -1;
		default: return EXIT_USAGE;
		}
	}
	/* every text option, even those not copied into a field */
	const struct {
		const char *v, *option;
	} texts[] = {
		{c->username, "--username"}, {c->role, "--role"}, {c->name, "--name"},
		{c->cf, "--cf"}, {c->email, "--email"}, {c->appointment, "--appointment"},
		{c->reason, "--reason"}, {c->kind, "--kind"}, {c->tax_code, "--tax-code"},
		{c->pec, "--pec"}, {c->hours, "--hours"}, {c->token_name, "--token-name"},
	};
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
		if (texts[i].v && !cli_text_ok(texts[i].v, texts[i].option))
			return EXIT_USAGE;
	return EXIT_OK;
}

static int load_user(struct cli *c, const char *username, struct store_account *a)
{
	struct vis_error e = {0};
	bool found;
	if (!username) {
		fprintf(stderr, "visura: serve un nome utente\n");
		return EXIT_USAGE;
	}
	if (store_account_by_username(c->s, username, a, &found, &e)) {
		cli_error("user", &e);
		return EXIT_RUNTIME;
	}
	if (!found) {
		fprintf(stderr, "visura: nessuna utenza '%s'\n", username);
		return EXIT_INVALID;
	}
	return EXIT_OK;
}

static void print_user(const struct store_account *a)
{
	char exp[21];
	timestamp_format(a->expires_at, exp);
	printf("%lld\t%s\t%s\t%lld\t%s\t%s\t%s%s\n", (long long)a->id, a->username, a->role,
	       (long long)a->ente_id, a->state, exp, a->full_name,
	       a->password_temporary ? "\t(password temporanea)" : "");
}

static int print_user_cb(void *ctx, const void *rec)
{
	(void)ctx;
	print_user(rec);
	return 0;
}

static int user_add(struct cli *c)
{
	struct store_account a = {0};
	if (!c->username || !c->role || !c->name || !c->email) {
		fprintf(stderr, "visura: user add richiede --username --role --name --email "
				"(e --cf, --ente-id secondo il ruolo)\n");
		return EXIT_USAGE;
	}
	if (!CLI_COPY(a.username, c->username, "--username") ||
	    !CLI_COPY(a.role, c->role, "--role") || !CLI_COPY(a.full_name, c->name, "--name") ||
	    !CLI_COPY(a.email, c->email, "--email") ||
	    !CLI_COPY(a.appointment_ref, c->appointment ? c->appointment : "", "--appointment"))
		return EXIT_USAGE;
	a.ente_id = c->ente_id;
	if (!email_valid(a.email)) {
		fprintf(stderr, "visura: --email non è un indirizzo valido\n");
		return EXIT_INVALID;
	}
	if (c->cf && *c->cf &&
	    (!cf_normalize(c->cf, a.cf) || cf_decode(a.cf, CF_LEN, NULL) != CF_OK)) {
		fprintf(stderr, "visura: --cf non è un codice fiscale valido\n");
		return EXIT_INVALID;
	}
	bool needs_ente = strcmp(a.role, "admin") && strcmp(a.role, "auditor");
	if (needs_ente != (a.ente_id > 0)) {
		fprintf(stderr, "visura: --ente-id %s per il ruolo %s\n",
			needs_ente ? "è obbligatorio" : "non è ammesso", a.role);
		return EXIT_USAGE;
	}
	char password[64];
	struct vis_error e = {0};
	int64_t now = now_s();
	vis_err rc = auth_account_create(c->s, &c->cfg, &a, now, password, sizeof password, &e);
	if (rc) {
		cli_error("user add", &e);
		return rc == VIS_ERR_CONFLICT || rc == VIS_ERR_STORE ? EXIT_INVALID : EXIT_RUNTIME;
	}
	auth_event(c->s, now, "account_created", &a, NULL, "cli", "visura user add");
	printf("utenza %s (%s) creata, id %lld\n", a.username, a.role, (long long)a.id);
	if (password[0]) {
		auth_event(c->s, now, "temporary_password_issued", &a, NULL, "cli", "stampata sul terminale");
		printf("password temporanea (solo per il primo accesso, %d giorni): %s\n",
		       c->cfg.temp_password_days, password);
	}
	sodium_memzero(password, sizeof password);
	return EXIT_OK;
}

/* Says what still keeps an account from being used after an action. */
static void standing_note(const struct store_account *a, int64_t now)
{
	if (strcmp(a->state, "active"))
		printf("nota: l'utenza %s è nello stato %s (%s): non si può usare finché non è "
		       "riattivata: visura user enable %s\n", a->username, a->state,
		       a->disabled_reason[0] ? a->disabled_reason : "nessun motivo indicato",
		       a->username);
	else if (a->expires_at <= now)
		printf("nota: le credenziali di %s sono scadute: visura user renew %s\n",
		       a->username, a->username);
}

static int cmd_user_sub(struct cli *c, const char *sub, const char *target)
{
	struct store_account a;
	struct vis_error e = {0};
	int64_t now = now_s();
	int rc;
	if (!strcmp(sub, "add"))
		return user_add(c);
	if (!strcmp(sub, "list")) {
		printf("id\tusername\trole\tente_id\tstate\texpires_at\tname\n");
		return store_rec_list(c->s, STORE_ACCOUNT, NULL, 0, print_user_cb, NULL, &e)
			       ? EXIT_RUNTIME : EXIT_OK;
	}
	if ((rc = load_user(c, target ? target : c->username, &a)))
		return rc;
	if (!strcmp(sub, "disable")) {
		if (auth_account_disable(c->s, &a, c->reason ? c->reason : AUTH_REASON_BY_ADMIN_CLI,
					 now, &e))
			goto fail;
		auth_event(c->s, now, "account_disabled", &a, NULL, "cli", "visura user disable");
		printf("utenza %s disattivata; le sue sessioni e i suoi token sono revocati\n",
		       a.username);
	} else if (!strcmp(sub, "reset")) {
		char password[64];
		if (auth_password_temporary(c->s, &c->cfg, &a, now, password, sizeof password, &e) ||
		    store_sessions_revoke_account(c->s, a.id, now, &e))
			goto fail;
		auth_event(c->s, now, "temporary_password_issued", &a, NULL, "cli", "stampata sul terminale");
		printf("password temporanea di %s (solo per il primo accesso, %d giorni): %s\n",
		       a.username, c->cfg.temp_password_days, password);
		sodium_memzero(password, sizeof password);
		standing_note(&a, now);
	} else if (!strcmp(sub, "renew")) {
		bool was_expired = !strcmp(a.state, "disabled") && !strcmp(a.disabled_reason, "expired");
		if (auth_account_renew(c->s, &c->cfg, &a, now, &e))
			goto fail;
		auth_event(c->s, now, "renewal", &a, NULL, "cli", "visura user renew");
		if (was_expired)
			auth_event(c->s, now, "account_enabled", &a, NULL, "cli",
				   "visura user renew: le credenziali erano scadute");
		print_user(&a);
		if (was_expired)
			printf("utenza %s di nuovo attiva: era disattivata solo perché le sue credenziali "
			       "erano scadute\n", a.username);
		standing_note(&a, now);
	} else if (!strcmp(sub, "totp-reset")) {
		if (auth_account_totp_reset(c->s, &a, &e))
			goto fail;
		auth_event(c->s, now, "totp_reset", &a, NULL, "cli", "visura user totp-reset");
		printf("secondo fattore di %s rimosso\n", a.username);
		standing_note(&a, now);
	} else if (!strcmp(sub, "enable")) {
		if (auth_account_enable(c->s, &c->cfg, &a, now, &e))
			goto fail;
		auth_event(c->s, now, "account_enabled", &a, NULL, "cli", "visura user enable");
		print_user(&a);
		printf("utenza %s riattivata\n", a.username);
		standing_note(&a, now);
	} else {
		fprintf(stderr, "visura: user: azione sconosciuta '%s'\n", sub);
		return EXIT_USAGE;
	}
	return EXIT_OK;
fail:
	cli_error("user", &e);
	return EXIT_RUNTIME;
}

static int print_ente(void *ctx, const void *rec)
{
	(void)ctx;
	const struct store_ente *en = rec;
	printf("%lld\t%s\t%s\t%s\t%s\t%s\n", (long long)en->id, en->name, en->kind, en->tax_code,
	       en->state, en->hours);
	return 0;
}

static int ente_add(struct cli *c)
{
	struct store_ente en = {0};
	struct vis_error e = {0};
	if (!c->name || !c->kind || !c->tax_code) {
		fprintf(stderr, "visura: ente add richiede --name --kind --tax-code [--pec --hours]\n");
		return EXIT_USAGE;
	}
	if (!CLI_COPY(en.name, c->name, "--name") || !CLI_COPY(en.kind, c->kind, "--kind") ||
	    !CLI_COPY(en.tax_code, c->tax_code, "--tax-code") ||
	    !CLI_COPY(en.pec, c->pec ? c->pec : "", "--pec"))
		return EXIT_USAGE;
	snprintf(en.state, sizeof en.state, "active");
	struct hours_schedule h;
	if (hours_parse(c->hours ? c->hours : "mon-fri 08:00-18:00", &h, &e)) {
		cli_error("--hours", &e);
		return EXIT_INVALID;
	}
	hours_format(&h, en.hours, sizeof en.hours);
	en.created_at = now_s();
	if (store_ente_insert(c->s, &en, &en.id, &e)) {
		cli_error("ente add", &e);
		return EXIT_INVALID;
	}
	printf("ente %s creato, id %lld\n", en.name, (long long)en.id);
	return EXIT_OK;
}

static void usage(FILE *out, const char *what)
{
	if (!strcmp(what, "user"))
		fprintf(out,
			"uso: visura user add --username U --role admin|lead|operator|auditor|api\n"
			"                     --name \"Nome Cognome\" --email E [--cf CF] [--ente-id N]\n"
			"                     [--appointment RIF]\n"
			"     visura user list\n"
			"     visura user disable|enable|reset|renew|totp-reset UTENTE [--reason TESTO]\n"
			"opzioni comuni: [--db URI] [--config FILE]\n"
			"Un'utenza nuova o reimpostata riceve una password temporanea, stampata una\n"
			"sola volta.\n"
			"enable: l'utenza torna attiva (e le credenziali scadute sono rinnovate);\n"
			"renew: credenziali valide per altri credential_months mesi, e un'utenza\n"
			"disattivata solo dalla loro scadenza torna attiva; reset: una password\n"
			"temporanea, le sessioni chiuse, lo stato invariato (un'utenza disattivata\n"
			"richiede enable); totp-reset: il secondo fattore rimosso (dispositivo perso).\n"
			"Recupero di un ufficio rimasto senza accesso: docs/deployment.md.\n");
	else if (!strcmp(what, "ente"))
		fprintf(out,
			"uso: visura ente add --name NOME --kind police|health|pension|tax|court|\n"
			"                     municipality|service|other --tax-code CODICE\n"
			"                     [--pec INDIRIZZO] [--hours \"mon-fri 08:00-18:00\"]\n"
			"     visura ente list\n"
			"opzioni comuni: [--db URI]\n");
	else
		fprintf(out,
			"uso: visura token create UTENTE --token-name NOME   (un'utenza api)\n"
			"opzioni comuni: [--db URI]\n"
			"Il token è stampato una sola volta; si conserva solo la sua impronta.\n");
}

static int run(int argc, char **argv, const char *what)
{
	struct cli c = {0};
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout, what);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	const char *sub = argv[1];
	int rc = parse(argc, argv, &c);
	if (rc) {
		usage(rc < 0 ? stdout : stderr, what);
		return rc < 0 ? EXIT_OK : rc;
	}
	const char *target = optind < argc ? argv[optind] : NULL;
	if ((rc = cli_open(&c)))
		return rc;
	struct vis_error e = {0};
	if (!strcmp(what, "user")) {
		rc = cmd_user_sub(&c, sub, target);
	} else if (!strcmp(what, "ente")) {
		if (!strcmp(sub, "add"))
			rc = ente_add(&c);
		else if (!strcmp(sub, "list"))
			rc = store_rec_list(c.s, STORE_ENTE, NULL, 0, print_ente, NULL, &e)
				     ? EXIT_RUNTIME : EXIT_OK;
		else
			rc = EXIT_USAGE;
	} else if (!strcmp(sub, "create")) {
		struct store_account a;
		char token[AUTH_TOKEN_MAX];
		int64_t id;
		if (!(rc = load_user(&c, target, &a))) {
			if (strcmp(a.role, "api")) {
				fprintf(stderr, "visura: i token sono solo per le utenze api\n");
				rc = EXIT_INVALID;
			} else if (auth_token_create(c.s, &a, c.token_name ? c.token_name : "cli",
						     now_s(), token, &id, &e)) {
				cli_error("token", &e);
				rc = EXIT_RUNTIME;
			} else {
				auth_event(c.s, now_s(), "token_created", &a, NULL, "cli", "");
				printf("token %lld di %s (mostrato una sola volta): %s\n", (long long)id,
				       a.username, token);
				sodium_memzero(token, sizeof token);
			}
		}
	} else {
		rc = EXIT_USAGE;
	}
	if (rc == EXIT_USAGE)
		usage(stderr, what);
	store_close(c.s);
	password_shutdown();
	return rc;
}

int cmd_user(int argc, char **argv)
{
	return run(argc, argv, "user");
}

int cmd_ente(int argc, char **argv)
{
	return run(argc, argv, "ente");
}

int cmd_token(int argc, char **argv)
{
	return run(argc, argv, "token");
}
