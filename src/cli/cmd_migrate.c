/* visura migrate — moves a deployment to another database (SQLite to
 * PostgreSQL): every record, the access trail and its signed checkpoints,
 * the files kept beside the database (signing key, secrets key, CA). */
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "store/store.h"

static void usage(FILE *out)
{
	fprintf(out,
		"uso: visura migrate --from URI --to URI\n\n"
		"Copia ogni tabella di un database in un altro nuovo (creato e migrato qui;\n"
		"non deve contenere ancora dati), ad es.\n"
		"  visura migrate --from sqlite:/var/lib/visura/visura.db \\\n"
		"                 --to postgres:\"host=db1 dbname=visura user=visura\"\n"
		"Restano gli id, il registro degli accessi con i suoi punti di controllo\n"
		"firmati e i cursori del flusso degli eventi; dopo la copia si confronta il\n"
		"numero di righe di ogni tabella e si verifica il registro degli accessi\n"
		"della destinazione.  La chiave di firma, la chiave dei segreti, la CA delle\n"
		"postazioni e le chiavi SPID/CIE (i file accanto al database) sono copiati\n"
		"accanto alla destinazione (per PostgreSQL: $VISURA_STATE_DIR) se non ci\n"
		"sono già, con modo 0600.\n"
		"Prima fermare ogni `visura serve` sull'origine.\n");
}

static void progress(void *ctx, const char *table, int64_t rows)
{
	(void)ctx;
	if (rows)
		printf("  %-18s %lld righe\n", table, (long long)rows);
}

/* Copies the file beside the source database with this suffix, if any,
 * to the destination's place, unless a file is there already. */
static int copy_beside(const char *from, const char *to, const char *suffix)
{
	char src[4200], dst[4200];
	struct vis_error e = {0};
	if (store_files_path(from, NULL, suffix, src, sizeof src, &e) ||
	    store_files_path(to, NULL, suffix, dst, sizeof dst, &e)) {
		cli_error("migrate", &e);
		return EXIT_USAGE;
	}
	FILE *in = fopen(src, "rb");
	if (!in)
		return EXIT_OK;
	if (access(dst, F_OK) == 0) {
		fclose(in);
		printf("mantenuto %s (già presente)\n", dst);
		return EXIT_OK;
	}
	int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	FILE *out = fd >= 0 ? fdopen(fd, "wb") : NULL;
	if (fd >= 0 && !out)
		close(fd);
	char buf[8192];
	size_t n;
	bool ok = out != NULL;
	while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0)
		ok = fwrite(buf, 1, n, out) == n;
	ok = ok && !ferror(in) && fflush(out) == 0 && fsync(fileno(out)) == 0;
	fclose(in);
	if (out)
		fclose(out);
	if (!ok) {
		fprintf(stderr, "visura: migrate: impossibile copiare %s in %s\n", src, dst);
		return EXIT_RUNTIME;
	}
	printf("copiato %s in %s\n", src, dst);
	return EXIT_OK;
}

int cmd_migrate(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"from", required_argument, NULL, 'f'},
		{"to", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *from = NULL, *to = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': from = optarg; break;
		case 't': to = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (!from || !to || optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	struct store *src = NULL, *dst = NULL;
	int rc = cli_store_open(from, &src);
	if (rc == EXIT_OK)
		rc = cli_store_open(to, &dst);
	struct vis_error e = {0};
	if (rc == EXIT_OK) {
		printf("copia di %s in %s\n", from, to);
		if (store_copy(src, dst, progress, NULL, &e)) {
			cli_error("migrate", &e);
			rc = e.code == VIS_ERR_CONFLICT ? EXIT_INVALID : EXIT_RUNTIME;
		}
	}
	if (rc == EXIT_OK) {
		struct audit_verify_result res;
		if (audit_verify(dst, NULL, &res, &e)) {
			cli_error("migrate: verifica", &e);
			rc = EXIT_RUNTIME;
		} else if (res.first_bad_id) {
			fprintf(stderr, "visura: migrate: il registro degli accessi copiato non supera la "
				"verifica: %s\n", res.why);
			rc = EXIT_INVALID;
		} else {
			printf("registro degli accessi verificato: %lld registrazioni, %lld punti di "
			       "controllo firmati\n", (long long)res.checked, (long long)res.checkpoints);
		}
	}
	/* Every file a deployment keeps beside its database: a move that left
	 * one behind would make a new one at the first start, and break what
	 * the old one was registered for (the SPID/CIE keys: the provider's
	 * and the federation's registration of the relying party). */
	static const char *const beside[] = {".signing-key", ".secrets-key", ".ca-cert.pem",
					     ".ca-key.pem", ".oidc-key", ".oidc-enc-key",
					     ".oidc-federation-key",
					     ".oidc-federation-key.previous"};
	for (size_t i = 0; rc == EXIT_OK && i < sizeof beside / sizeof beside[0]; i++)
		rc = copy_beside(from, to, beside[i]);
	store_close(src);
	store_close(dst);
	return rc;
}
