/* visura serve — the HTTPS server. */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "app/app.h"
#include "bollettino/bollettino.h"
#include "common/runner.h"
#include "audit/audit.h"
#include "auth/auth.h"
#include "auth/password.h"
#include "auth/sealed.h"
#include "auth/totp.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "common/config.h"
#include "common/fsmode.h"
#include "common/log.h"
#include "common/priv.h"
#include "http/http.h"
#include "http/tls.h"
#include "jwks/jwks.h"
#include "mail/mail.h"
#include "net/outbound.h"
#include "notify/notify.h"
#include "oidc/oidc.h"
#include "pdnd/pdnd.h"
#include "refdata/refdata.h"
#include "store/store.h"
#include "common/str.h"
#include "watch/watch.h"
#include "witness/publish.h"

static void usage(FILE *out)
{
	fprintf(out,
		"uso: visura serve [--config FILE] [--OPZIONE VALORE...] [--self-signed CARTELLA]\n"
		"                  [--check] [--print-config]\n\n"
		"Avvia il server HTTPS.  Ogni opzione di configurazione (vedere --print-config)\n"
		"si può dare nel file come 'nome = valore' o sulla riga di comando come\n"
		"--nome VALORE, che prevale.\n\n"
		"  --config FILE           file di configurazione\n"
		"  --self-signed CARTELLA  senza tls_cert/tls_key: usa (creandolo se manca) un\n"
		"                          certificato autofirmato in CARTELLA (per dimostrazioni\n"
		"                          e prove)\n"
		"  --check                 controlla la configurazione ed esce\n"
		"  --print-config          stampa la configurazione in vigore ed esce\n\n"
		"Segnali: SIGTERM/SIGINT fermano il server con ordine (le richieste in corso\n"
		"terminano); SIGHUP riapre il file di log e rilegge il certificato e la chiave\n"
		"TLS (le connessioni già aperte tengono i loro; una coppia sbagliata è\n"
		"rifiutata e resta la precedente), e le chiavi pubbliche di PDND e del gestore\n"
		"delle identità SPID/CIE (pdnd_jwks o pdnd_jwks_url, oidc_jwks o oidc_jwks_url;\n"
		"chiavi che non si caricano o non si scaricano lasciano quelle in uso).\n");
}

static int parse_args(int argc, char **argv, struct config *cfg, const char **selfsigned,
		      bool *check, bool *print)
{
	struct vis_error e = {0};
	/* The configuration file first, so that flags override it. */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc) {
			if (config_load_file(cfg, argv[i + 1], &e)) {
				fprintf(stderr, "visura: serve: %s\n", e.msg);
				return EXIT_USAGE;
			}
		}
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return -1;
		}
		if (!strcmp(a, "--check")) {
			*check = true;
			continue;
		}
		if (!strcmp(a, "--print-config")) {
			*print = true;
			continue;
		}
		if (strncmp(a, "--", 2) || i + 1 >= argc) {
			fprintf(stderr, "visura: serve: argomento inatteso '%s'\n", a);
			usage(stderr);
			return EXIT_USAGE;
		}
		const char *v = argv[++i];
		if (!strcmp(a, "--config"))
			continue;
		if (!strcmp(a, "--self-signed")) {
			*selfsigned = v;
			continue;
		}
		char name[64];
		if (!CLI_COPY(name, a + 2, "nome dell'opzione"))
			return EXIT_USAGE;
		for (char *p = name; *p; p++)
			if (*p == '-')
				*p = '_';
		if (config_set(cfg, name, v, &e)) {
			fprintf(stderr, "visura: serve: %s\n", e.msg);
			return EXIT_USAGE;
		}
	}
	return EXIT_OK;
}

static int ensure_selfsigned(struct config *cfg, const char *dir)
{
	char cert[CONFIG_PATH_MAX], key[CONFIG_PATH_MAX];
	struct vis_error e = {0};
	mkdir(dir, 0700);
	if ((size_t)snprintf(cert, sizeof cert, "%s/cert.pem", dir) >= sizeof cert ||
	    (size_t)snprintf(key, sizeof key, "%s/key.pem", dir) >= sizeof key) {
		fprintf(stderr, "visura: serve: percorso della cartella di --self-signed troppo lungo\n");
		return EXIT_USAGE;
	}
	if (access(cert, R_OK) || access(key, R_OK)) {
		if (tls_selfsigned_write(cert, key, "localhost", &e)) {
			fprintf(stderr, "visura: serve: %s\n", e.msg);
			return EXIT_RUNTIME;
		}
		log_info("certificato autofirmato creato", "cert=%s", cert);
	}
	STR_COPY_KNOWN(cfg->tls_cert, cert); /* the same size */
	STR_COPY_KNOWN(cfg->tls_key, key);
	return EXIT_OK;
}

/* Files that already exist and are wider than they should be: data files
 * are warned about, keys refused (docs/deployment.md, "Files"). */
static int check_file_modes(const struct config *cfg)
{
	char path[CONFIG_PATH_MAX + 32], secrets[CONFIG_PATH_MAX + 32];
	struct vis_error e = {0};
	static const char *const data[] = {"", "-wal", "-shm", "-journal", ".trail",
					   ".trail-wal", ".trail-shm", ".trail-journal"};
	for (size_t i = 0; i < sizeof data / sizeof data[0]; i++) {
		if (store_files_path(cfg->db, NULL, data[i], path, sizeof path, &e)) {
			cli_error("serve", &e);
			return EXIT_RUNTIME;
		}
		fsmode_check(path, FSMODE_DATA_TOLERATED, false, "file del database", NULL);
	}
	if (cfg->log_file[0])
		fsmode_check(cfg->log_file, FSMODE_DATA_TOLERATED, false, "file di log", NULL);
	if (cfg->signing_key[0])
		STR_COPY_KNOWN(path, cfg->signing_key); /* CONFIG_PATH_MAX < sizeof path */
	else if (audit_key_path(cfg->db, path, sizeof path, &e)) {
		cli_error("serve", &e);
		return EXIT_RUNTIME;
	}
	if (sealed_key_path(cfg->db, cfg->secrets_key, secrets, sizeof secrets, &e) ||
	    fsmode_check(path, FSMODE_KEY_TOLERATED, true, "la chiave di firma", &e) ||
	    fsmode_check(secrets, FSMODE_KEY_TOLERATED, true, "la chiave dei segreti", &e) ||
	    fsmode_check(cfg->tls_key, FSMODE_TLS_KEY_TOLERATED, true, "la chiave TLS", &e)) {
		cli_error("serve", &e);
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

/* SIGHUP: the certificate and key again (a renewed certificate), checked
 * as at start; a pair that does not do leaves the current one serving. */
static void reload_tls(struct http_server *srv, const struct config *cfg)
{
	struct vis_error e = {0};
	if (fsmode_check(cfg->tls_key, FSMODE_TLS_KEY_TOLERATED, true, "la chiave TLS", &e) ||
	    http_server_tls_reload(srv, &e))
		log_error("certificato TLS non ricaricato: resta il precedente",
			  "cert=%s error=\"%s\"", cfg->tls_cert, e.msg);
	else
		log_info("certificato TLS ricaricato", "cert=%s", cfg->tls_cert);
}

/* The public keys of PDND and of the SPID/CIE provider, or with a trust
 * chain its trust anchor's (jwks/jwks.h), each configured set in turn. */
static int key_sets(struct app *app, struct jwks *sets[2])
{
	int n = 0;
	if (app->pdnd)
		sets[n++] = app->pdnd;
	if (app->oidc && oidc_keys(app->oidc)) /* the provider's, or the trust anchor's */
		sets[n++] = oidc_keys(app->oidc);
	return n;
}

/* SIGHUP: the keys read or fetched again; a set that does not load leaves
 * the keys held (the set logs either outcome). */
static void reload_keys(struct app *app)
{
	struct jwks *sets[2];
	for (int i = key_sets(app, sets) - 1; i >= 0; i--) {
		struct vis_error e = {0};
		jwks_reload(sets[i], app_now(app), &e);
	}
}

/* On every instance, not only the one holding the duties: the keys
 * fetched from an address when due. */
static void refresh_keys(struct app *app)
{
	struct jwks *sets[2];
	for (int i = key_sets(app, sets) - 1; i >= 0; i--)
		jwks_tick(sets[i], app_now(app));
	if (app->oidc)
		oidc_tick(app->oidc, app_now(app)); /* a trust chain refreshed before its exp */
}

/* The duties put off while another write holds the register (a
 * snapshot's import, for as long as it takes): said once when that
 * begins and once when it ends, not one warning a duty a tick. */
struct put_off {
	int ticks;     /* ticks with a duty put off, this stretch */
	int64_t since; /* when the stretch began (app_now); 0: none */
	bool now;      /* a duty put off at this tick */
};

/* A duty that failed: a write that found the register held
 * (VIS_ERR_BUSY) is done again at a later tick (tick says so once);
 * anything else is warned about each time. */
static void duty_failed(struct put_off *po, const char *what, const struct vis_error *e)
{
	if (e->code == VIS_ERR_BUSY)
		po->now = true;
	else
		log_warn(what, "error=\"%s\"", e->msg);
}

/* The duties' stop question: SIGTERM or SIGINT waiting to be taken (the
 * thread that runs the duties takes the signals between two ticks, so
 * the server's stop is not yet known to the rest of it). */
static bool stop_signalled(void *ctx)
{
	(void)ctx;
	sigset_t p;
	return !sigpending(&p) && (sigismember(&p, SIGTERM) == 1 || sigismember(&p, SIGINT) == 1);
}

/* Periodic duties: credential expiry and renewal reminders, overdue
 * feeds, event pushes, citizens' notices, mail, the monthly bulletins (on
 * one instance at a time). */
static void tick(struct app *app, struct put_off *po)
{
	/* The duties run on the thread that takes the signals: a write of
	 * theirs waits at most a second for an import's lock (the duty is
	 * done again at a later tick), not 10 s each, which held a stop
	 * (SIGTERM) 17 s behind a pushed snapshot's import. */
	app_request_begin(app, STORE_WAIT_BRIEF);
	struct store *s = app_store(app);
	struct vis_error e = {0};
	if (!s || !app_duties_mine(app, s))
		return;
	po->now = false;
	int n = auth_maintenance(s, &app->cfg, app_now(app), &e);
	if (n < 0)
		duty_failed(po, "manutenzione fallita", &e);
	else if (n > 0)
		log_info("credenziali scadute", "disabled=%d", n);
	vis_error_clear(&e);
	if (store_shared_vacuum(s, &e))
		duty_failed(po, "stato condiviso non ripulito", &e);
	api_feeds_watch(app, s, app_now(app));
	vis_error_clear(&e);
	n = app_trail_late(app) ? 0 : notify_push(s, app->key, app_now(app), &e);
	if (n < 0)
		duty_failed(po, "invio degli eventi fallito", &e);
	else if (n > 0)
		log_info("eventi inviati", "events=%d", n);
	vis_error_clear(&e);
	n = app_trail_late(app) ? 0 : watch_due(s, &app->cfg, app->secrets, app_now(app), &e);
	if (n < 0)
		duty_failed(po, "avvisi ai cittadini falliti", &e);
	else if (n > 0)
		log_info("avvisi ai cittadini accodati", "messages=%d", n);
	vis_error_clear(&e);
	n = mail_deliver(s, &app->cfg, app->secrets, app_now(app), 32, &e);
	if (n < 0)
		duty_failed(po, "consegna della posta fallita", &e);
	else if (n > 0)
		log_info("posta inviata", "messages=%d", n);
	vis_error_clear(&e);
	struct bollettino_opts bo;
	bollettino_opts_init(&bo, &app->cfg, app->ui, app_today(app), app_now(app));
	bo.cache = app->stats;
	/* a month's first bulletins pay strasa_cittadinanza's exact audit
	 * (over a minute at 1,000,000 persons): a stop signalled meanwhile
	 * ends it between two simplex runs */
	bo.stop = (struct stop_ask){stop_signalled, NULL};
	if (bollettino_due(s, app->rd, &bo, &e) < 0) {
		if (e.code == VIS_ERR_BUSY && stop_signalled(NULL))
			log_info("bollettini mensili interrotti dall'arresto", "error=\"%s\"", e.msg);
		else
			duty_failed(po, "bollettini mensili falliti", &e);
	}
	if (po->now && !po->ticks++) {
		po->since = app_now(app);
		log_info("attività periodiche rimandate",
			 "reason=\"la base dati è occupata da un'altra scrittura (un'importazione?): "
			 "riprese quando è libera\"");
	} else if (!po->now && po->ticks) {
		log_info("attività periodiche riprese", "put_off_ticks=%d seconds=%lld", po->ticks,
			 (long long)(app_now(app) - po->since));
		po->ticks = 0;
	}
}

int cmd_serve(int argc, char **argv)
{
	struct config cfg;
	config_defaults(&cfg);
	const char *selfsigned = NULL;
	bool check = false, print = false;
	int rc = parse_args(argc, argv, &cfg, &selfsigned, &check, &print);
	if (rc != EXIT_OK)
		return rc < 0 ? EXIT_OK : rc;
	if (print) {
		config_print(&cfg, stdout);
		return EXIT_OK;
	}
	if (selfsigned && !cfg.tls_cert[0] && (rc = ensure_selfsigned(&cfg, selfsigned)))
		return rc;
	if (!cfg.tls_cert[0] || !cfg.tls_key[0]) {
		fprintf(stderr, "visura: serve: solo HTTPS: impostare tls_cert e tls_key, o --self-signed CARTELLA\n");
		return EXIT_USAGE;
	}
	struct vis_error e = {0};
	if (config_check(&cfg, &e)) {
		fprintf(stderr, "visura: serve: %s\n", e.msg);
		return EXIT_USAGE;
	}
	if (cfg.smtp_url[0] &&
	    outbound_check(cfg.smtp_url, OUTBOUND_SMTP, cfg.smtp_plain_loopback, &e)) {
		fprintf(stderr, "visura: serve: smtp_url: %s\n", e.msg);
		return EXIT_USAGE;
	}
	/* The JWKS addresses are checked by the rules they are fetched by. */
	const char *const jwks_urls[][2] = {{"pdnd_jwks_url", cfg.pdnd_jwks_url},
					    {"oidc_jwks_url", cfg.oidc_jwks_url}};
	for (int i = 0; i < 2; i++)
		if (jwks_urls[i][1][0] &&
		    outbound_check(jwks_urls[i][1], OUTBOUND_WEBHOOK, false, &e)) {
			fprintf(stderr, "visura: serve: %s: %s\n", jwks_urls[i][0], e.msg);
			return EXIT_USAGE;
		}
	static struct publish_witness ws[PUBLISH_WITNESSES_MAX];
	int nws;
	if (publish_witnesses_parse(cfg.trail_witnesses, ws, &nws, &e)) {
		fprintf(stderr, "visura: serve: %s\n", e.msg);
		return EXIT_USAGE;
	}
	struct priv_user user;
	if (priv_user_resolve(cfg.user, &user, &e)) {
		fprintf(stderr, "visura: serve: %s\n", e.msg);
		return EXIT_USAGE;
	}
	if (check) {
		printf("configurazione corretta\n");
		return EXIT_OK;
	}
	if (cfg.log_file[0] && (log_open(cfg.log_file) || priv_chown(&user, cfg.log_file, &e))) {
		fprintf(stderr, "visura: serve: impossibile aprire il file di log '%s'\n", cfg.log_file);
		return EXIT_RUNTIME;
	}
	if ((rc = check_file_modes(&cfg)))
		return rc;
	if (password_init(refdata_default_dir(), &e) || totp_init(&e)) {
		cli_error("serve", &e);
		return EXIT_RUNTIME;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	/* Migrate once, before any worker thread opens its own connection. */
	struct store *s;
	if ((rc = cli_store_open(cfg.db, &s)))
		return rc;
	store_close(s);

	/* Signals are taken by this thread only, synchronously. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	static struct app app;
	if (app_init(&app, &cfg, &e)) {
		cli_error("serve", &e);
		return EXIT_RUNTIME;
	}
	/* The SPID/CIE transaction log is written as the service user. */
	if (app.oidc && priv_chown(&user, oidc_log_path(app.oidc), &e)) {
		cli_error("serve", &e);
		app_release(&app);
		return EXIT_RUNTIME;
	}
	/* Until the privileges are dropped, requests get 503. */
	atomic_store(&app.stopping, true);
	struct http_server *srv;
	static struct api_listener main_l, ops_l;
	if (api_listener_init(&main_l, &app, cfg.listen, true, &e) ||
	    api_listener_init(&ops_l, &app, cfg.metrics_listen, false, &e) ||
	    http_server_start(&main_l.http, api_routes, api_gate, &srv, &e)) {
		cli_error("serve", &e);
		app_release(&app);
		return EXIT_RUNTIME;
	}
	struct http_server *ops = NULL;
	if (cfg.metrics_listen[0] &&
	    http_server_start(&ops_l.http, api_ops_routes, api_ops_gate, &ops, &e)) {
		cli_error("serve (ascolto delle metriche)", &e);
		http_server_stop(srv, 0);
		app_release(&app);
		return EXIT_RUNTIME;
	}
	/* Ports bound, keys and certificates read: root is given up, and the
	 * database must be usable as the service user. */
	struct store *check_s = NULL;
	if (priv_drop(&user, &e) || store_open(cfg.db, &check_s, &e) ||
	    store_shared_open(check_s, cfg.shared_db, &e)) {
		store_close(check_s);
		cli_error("serve", &e);
		http_server_stop(ops, 0);
		http_server_stop(srv, 0);
		app_release(&app);
		return EXIT_RUNTIME;
	}
	store_close(check_s);
	atomic_store(&app.stopping, false);
	if (user.drop)
		log_info("privilegi ridotti",
			 "user=%s uid=%u gid=%u", user.name, (unsigned)user.uid,
			 (unsigned)user.gid);
	atomic_store(&app.serving, true);
	log_info("in ascolto", "url=https://%s db=%s threads=%d test_clock=%s", cfg.listen, cfg.db,
		 cfg.threads, cfg.test_clock ? "sì" : "no");
	if (cfg.test_clock)
		log_warn("TEST CLOCK ON", "warning=\"%s\"",
			 "qualsiasi client può spostare l'orologio di questo server: "
			 "mai in produzione");
	printf("visura in ascolto su https://%s\n", cfg.listen);
	fflush(stdout);
	refresh_keys(&app);
	struct put_off po = {0};
	tick(&app, &po);
	for (;;) {
		/* Mail and event pushes retry on a short period. */
		struct timespec wait = {5, 0};
		int sig = sigtimedwait(&sigs, NULL, &wait);
		if (sig == SIGHUP) {
			if (log_reopen())
				log_error("log non riaperto: resta sul file precedente",
					  "file=%s error=\"%s\"", cfg.log_file, strerror(errno));
			else
				log_info("log riaperto", "%s", "");
			reload_tls(srv, &cfg);
			reload_keys(&app);
			continue;
		}
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig < 0 && errno != EAGAIN && errno != EINTR)
			break;
		refresh_keys(&app);
		tick(&app, &po);
		http_server_log_flush();
	}
	log_info("in arresto", "in_flight=%d", atomic_load(&app.in_flight));
	atomic_store(&app.stopping, true);
	/* the tables and imports waiting answered 503; the table being
	 * computed is finished, the import being done stops (push_work, on
	 * app.stopping: rolled back, 503): each connection is answered before
	 * the server stops */
	runner_stop(app.slow);
	runner_stop(app.imports);
	http_server_stop(srv, 10000);
	http_server_stop(ops, 1000);
	app_duties_release(&app, app_store(&app));
	app_release(&app);
	password_shutdown();
	curl_global_cleanup();
	log_info("arrestato", "%s", "");
	return EXIT_OK;
}
