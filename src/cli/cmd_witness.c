/* visura witness — a small HTTPS service that cosigns other deployments'
 * signed tree heads while they stay consistent (witness/witness.h), and
 * its key. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/fsmode.h"
#include "common/log.h"
#include "common/str.h"
#include "common/priv.h"
#include "http/http.h"
#include "http/tls.h"
#include "witness/witness.h"

static void usage(FILE *out)
{
	fprintf(out,
		"uso: visura witness keygen --key FILE\n"
		"     visura witness serve --listen INDIRIZZO:PORTA --key FILE --name NOME\n"
		"                          --state CARTELLA --log-key ORIGINE=FILE_CHIAVE\n"
		"                          [--log-key ...] [--tls-cert FILE --tls-key FILE]\n"
		"                          [--user UTENTE]\n\n"
		"  keygen  crea la chiave Ed25519 del testimone in FILE (0600, mai sopra una\n"
		"          esistente) e la sua metà pubblica in FILE.pub (64 cifre\n"
		"          esadecimali, anche stampate): da dare alle installazioni servite da\n"
		"          questo testimone (opzione trail_witnesses)\n"
		"  serve   risponde a POST /add-checkpoint (C2SP tlog-witness): controfirma\n"
		"          una testa di un registro che segue (--log-key: l'origine, la prima\n"
		"          riga delle sue teste, e un file con la sua chiave pubblica, da\n"
		"          `visura audit key`) quando la sua firma è valida ed estende la testa\n"
		"          controfirmata per ultima (prova di coerenza); rifiuta un ritorno\n"
		"          indietro o una biforcazione.  CARTELLA conserva l'ultima testa\n"
		"          controfirmata di ogni registro (witness.state: da conservare, con la\n"
		"          chiave) e, senza --tls-cert, un certificato autofirmato.  NOME è il\n"
		"          nome della chiave nelle righe di controfirma.  Avviato come root\n"
		"          richiede --user, l'utente che diventa una volta aperta la porta e\n"
		"          lette le chiavi (gli è data CARTELLA)\n"
		"codice di uscita: 0 riuscito, 2 uso errato, 3 errore durante l'esecuzione\n");
}

static int keygen(const char *path)
{
	uint8_t pk[32], sk[64];
	char pub[4096], hex[65];
	struct vis_error e = {0};
	if (!path || snprintf(pub, sizeof pub, "%s.pub", path) >= (int)sizeof pub) {
		usage(stderr);
		return EXIT_USAGE;
	}
	crypto_sign_keypair(pk, sk);
	int rc = EXIT_OK;
	if (fsmode_key_write(path, sk, sizeof sk, "la chiave del testimone", &e) ||
	    fsmode_key_write(pub, pk, sizeof pk, "la chiave pubblica del testimone", &e)) {
		cli_error("witness keygen", &e);
		rc = EXIT_RUNTIME;
	} else {
		sodium_bin2hex(hex, sizeof hex, pk, sizeof pk);
		printf("%s\n", hex);
	}
	sodium_memzero(sk, sizeof sk);
	return rc;
}

static struct witness_service svc;

static void add_checkpoint(struct http_request *r)
{
	static _Thread_local char out[CHECKPOINT_TEXT_MAX + 512];
	int status;
	const char *type;
	witness_add_checkpoint(&svc, r->body ? r->body : "", r->body_len, &status, out, sizeof out,
			       &type);
	if (status != 200)
		log_info("add-checkpoint rifiutato", "status=%d ip=%s why=\"%.*s\"", status, r->ip,
			 (int)strcspn(out, "\n"), out);
	http_reply_bytes(r, status, type, out, strlen(out));
}

static const struct http_route routes[] = {
	{"POST", "/add-checkpoint", add_checkpoint, ROUTE_PUBLIC, WITNESS_BODY_MAX, NULL},
	{NULL, NULL, NULL, 0, 0, NULL},
};

static bool gate(struct http_request *r, const struct http_route *route)
{
	(void)r;
	(void)route;
	return true;   /* anyone may ask; only a log's own signature gets a cosignature */
}

static bool log_key_add(const char *arg)
{
	const char *eq = strchr(arg, '=');
	struct vis_error e = {0};
	if (svc.nlogs == WITNESS_LOGS_MAX) {
		fprintf(stderr, "visura: witness: al massimo %d registri\n", WITNESS_LOGS_MAX);
		return false;
	}
	struct witness_log *g = &svc.logs[svc.nlogs];
	memset(g, 0, sizeof *g);
	if (!eq || (size_t)(eq - arg) > CHECKPOINT_NAME_MAX) {
		fprintf(stderr, "visura: witness: --log-key ORIGINE=FILE_CHIAVE\n");
		return false;
	}
	memcpy(g->origin, arg, (size_t)(eq - arg));
	if (!checkpoint_name_ok(g->origin)) {
		fprintf(stderr, "visura: witness: '%s' non è un'origine valida\n", g->origin);
		return false;
	}
	for (int i = 0; i < svc.nlogs; i++)
		if (!strcmp(svc.logs[i].origin, g->origin)) {
			fprintf(stderr, "visura: witness: origine '%s' indicata due volte\n", g->origin);
			return false;
		}
	if (witness_pubkey_read(eq + 1, g->pk, &e)) {
		cli_error("witness", &e);
		return false;
	}
	svc.nlogs++;
	return true;
}

static int serve(const char *listen, const char *key, const char *name, const char *dir,
		 const char *cert, const char *tkey, const char *user)
{
	char certbuf[4096], keybuf[4096];
	struct vis_error e = {0};
	struct priv_user pu;
	if (!listen || !key || !name || !dir || !svc.nlogs || (!cert != !tkey)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	/* As the server: started as root, it must be told whom to become. */
	if (priv_user_resolve(user ? user : "", &pu, &e)) {
		cli_error("witness", &e);
		return EXIT_USAGE;
	}
	if (!checkpoint_name_ok(name) || !STR_COPY(svc.name, name)) {
		fprintf(stderr, "visura: witness: --name: ASCII stampabile senza spazi, al massimo "
			"%d byte\n", CHECKPOINT_NAME_MAX);
		return EXIT_USAGE;
	}
	if (!cli_dir_ensure(dir, 0700))
		return EXIT_RUNTIME;
	if (snprintf(svc.state_path, sizeof svc.state_path, "%s/witness.state", dir) >=
	    (int)sizeof svc.state_path) {
		fprintf(stderr, "visura: witness: --state: percorso troppo lungo\n");
		return EXIT_USAGE;
	}
	if (fsmode_key_read(key, svc.sk, sizeof svc.sk, "la chiave del testimone", &e) ||
	    witness_state_load(svc.state_path, svc.logs, svc.nlogs, &e) ||
	    priv_chown(&pu, dir, &e) ||
	    (access(svc.state_path, F_OK) == 0 && priv_chown(&pu, svc.state_path, &e))) {
		cli_error("witness", &e);
		return EXIT_RUNTIME;
	}
	if (!cert) {
		/* dir fit above with "/witness.state", longer */
		STR_FMT_KNOWN(certbuf, "%s/cert.pem", dir);
		STR_FMT_KNOWN(keybuf, "%s/key.pem", dir);
		if ((access(certbuf, R_OK) || access(keybuf, R_OK)) &&
		    tls_selfsigned_write(certbuf, keybuf, "localhost", &e)) {
			cli_error("witness", &e);
			return EXIT_RUNTIME;
		}
		cert = certbuf;
		tkey = keybuf;
	}
	pthread_mutex_init(&svc.lock, NULL);
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	static atomic_int in_flight;
	static atomic_bool stopping;
	struct http_config hc = {
		.listen = listen,
		.tls = true,
		.tls_cert = cert,
		.tls_key = tkey,
		.upload_dir = dir,
		.max_body = WITNESS_BODY_MAX,
		.max_file_body = WITNESS_BODY_MAX,
		.max_uploads = WITNESS_BODY_MAX,
		.threads = 2,
		.max_connections = 256,
		.per_ip_connections = 32,
		.connection_timeout = 30,
		.trusted_proxies = "",
		.client_ip_header = "",
		.auth_size = 8,
		.in_flight = &in_flight,
		.stopping = &stopping,
	};
	/* Until root is given up, requests get 503 (the listener's threads
	 * accept as soon as it starts): none is ever answered as root. */
	atomic_store(&stopping, true);
	struct http_server *srv;
	if (http_server_start(&hc, routes, gate, &srv, &e)) {
		cli_error("witness", &e);
		return EXIT_RUNTIME;
	}
	/* Port bound, keys and certificates read: root is given up for good,
	 * then requests are answered. */
	if (priv_drop(&pu, &e)) {
		cli_error("witness", &e);
		http_server_stop(srv, 0);
		sodium_memzero(svc.sk, sizeof svc.sk);
		return EXIT_RUNTIME;
	}
	atomic_store(&stopping, false);
	log_info("testimone in ascolto", "url=https://%s name=%s logs=%d", listen, svc.name,
		 svc.nlogs);
	printf("visura witness in ascolto su https://%s\n", listen);
	fflush(stdout);
	int sig;
	while (sigwait(&sigs, &sig) != 0 || (sig != SIGTERM && sig != SIGINT))
		;
	http_server_stop(srv, 5000);
	sodium_memzero(svc.sk, sizeof svc.sk);
	return EXIT_OK;
}

int cmd_witness(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"key", required_argument, NULL, 'k'},
		{"name", required_argument, NULL, 'n'},
		{"state", required_argument, NULL, 's'},
		{"log-key", required_argument, NULL, 'L'},
		{"tls-cert", required_argument, NULL, 'c'},
		{"tls-key", required_argument, NULL, 'K'},
		{"user", required_argument, NULL, 'u'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	const char *listen = NULL, *key = NULL, *name = NULL, *dir = NULL, *cert = NULL,
		   *tkey = NULL, *user = NULL;
	int c;
	optind = 1;
	svc.nlogs = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': listen = optarg; break;
		case 'k': key = optarg; break;
		case 'n': name = optarg; break;
		case 's': dir = optarg; break;
		case 'L':
			if (!log_key_add(optarg))
				return EXIT_USAGE;
			break;
		case 'c': cert = optarg; break;
		case 'K': tkey = optarg; break;
		case 'u': user = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind == argc - 1 && !strcmp(argv[optind], "keygen"))
		return keygen(key);
	if (optind == argc - 1 && !strcmp(argv[optind], "serve"))
		return serve(listen, key, name, dir, cert, tkey, user);
	usage(stderr);
	return EXIT_USAGE;
}
