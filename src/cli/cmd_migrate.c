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
		"usage: visura migrate --from URI --to URI\n\n"
		"Copies every table of one database into another that is new (created\n"
		"and migrated here; it must hold no data yet), e.g.\n"
		"  visura migrate --from sqlite:/var/lib/visura/visura.db \\\n"
		"                 --to postgres:\"host=db1 dbname=visura user=visura\"\n"
		"Ids, the access trail and its signed checkpoints and the event feed's\n"
		"cursors are kept; every table's row count is compared after the copy\n"
		"and the access trail of the destination is verified.  The signing key,\n"
		"the secrets key, the workstation CA and the SPID/CIE keys (the files\n"
		"beside the database) are copied next to the destination (for\n"
		"PostgreSQL: $VISURA_STATE_DIR) unless present, mode 0600.\n"
		"Stop every `visura serve` on the source first.\n");
}

static void progress(void *ctx, const char *table, int64_t rows)
{
	(void)ctx;
	if (rows)
		printf("  %-18s %lld rows\n", table, (long long)rows);
}

/* Copies the file beside the source database with this suffix, if any,
 * to the destination's place, unless a file is there already. */
static int copy_beside(const char *from, const char *to, const char *suffix)
{
	char src[4200], dst[4200], pf[4096], pt[4096];
	store_files_prefix(from, pf, sizeof pf);
	store_files_prefix(to, pt, sizeof pt);
	snprintf(src, sizeof src, "%s%s", pf, suffix);
	snprintf(dst, sizeof dst, "%s%s", pt, suffix);
	FILE *in = fopen(src, "rb");
	if (!in)
		return EXIT_OK;
	if (access(dst, F_OK) == 0) {
		fclose(in);
		printf("kept %s (already there)\n", dst);
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
		fprintf(stderr, "visura: migrate: cannot copy %s to %s\n", src, dst);
		return EXIT_RUNTIME;
	}
	printf("copied %s to %s\n", src, dst);
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
		printf("copying %s to %s\n", from, to);
		if (store_copy(src, dst, progress, NULL, &e)) {
			cli_error("migrate", &e);
			rc = e.code == VIS_ERR_CONFLICT ? EXIT_INVALID : EXIT_RUNTIME;
		}
	}
	if (rc == EXIT_OK) {
		struct audit_verify_result res;
		if (audit_verify(dst, NULL, &res, &e)) {
			cli_error("migrate: verify", &e);
			rc = EXIT_RUNTIME;
		} else if (res.first_bad_id) {
			fprintf(stderr, "visura: migrate: the copied access trail does not verify: %s\n",
				res.why);
			rc = EXIT_INVALID;
		} else {
			printf("access trail verified: %lld records, %lld signed checkpoints\n",
			       (long long)res.checked, (long long)res.checkpoints);
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
