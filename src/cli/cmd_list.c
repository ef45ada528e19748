/* visura list-extract — the registry office extracts an approved formal
 * list request as a file; every person in it is recorded in the access
 * trail (in records of up to 100 persons, all pointing at the request).
 * The columns are those the agreement's profile may see (policy_may_see);
 * an agreement in verify_only mode, or without identity data, gets no list. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "audit/audit.h"
#include "audit/subjects.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "common/config.h"
#include "common/date.h"
#include "common/fsmode.h"
#include "common/str.h"
#include "listreq/listreq.h"
#include "policy/policy.h"
#include "store/store.h"

#define CHUNK 100

struct extract {
	FILE *out;
	int today;
	const char *comune;
	int age_from, age_to;
	char sex;
	int citizenship;      /* 0 any, 1 italian, 2 foreign */
	struct store_access rec;
	struct subjects subjects;   /* the persons of the chunk not yet recorded */
	bool with_comune;           /* the profile sees residence */
	int in_chunk;
	int64_t persons;
	struct store *s;
	const struct audit_key *key;   /* signs the trail's heads, when readable */
	bool failed;
};

static vis_err flush(struct extract *x)
{
	if (!x->in_chunk)
		return VIS_OK;
	struct vis_error e = {0};
	struct timeval tv;
	gettimeofday(&tv, NULL);
	x->rec.at = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
	x->rec.subjects = subjects_text(&x->subjects);
	vis_err rc = audit_append(x->s, x->key, &x->rec, &e);
	subjects_release(&x->subjects);
	x->rec.subjects = NULL;
	x->in_chunk = 0;
	return rc;
}

static int person(void *ctx, const struct store_person *p)
{
	struct extract *x = ctx;
	if (strcmp(p->comune, x->comune) || p->canc_reason || p->reg_date > x->today)
		return 0;
	int age = date_age(p->birth_date, x->today);
	bool italian = strstr(p->citizenships, "100") != NULL;
	if (age < x->age_from || age > x->age_to || (x->sex && p->sex != x->sex) ||
	    (x->citizenship == 1 && !italian) || (x->citizenship == 2 && italian))
		return 0;
	char bd[11];
	date_format(p->birth_date, bd);
	struct vis_error e = {0};
	if (subjects_add(&x->subjects, p->cf, &e) != VIS_OK) {
		fprintf(stderr, "visura: list-extract: %s\n", e.msg);
		x->failed = true;
		return 1;
	}
	char sex[2] = {p->sex, '\0'};
	const char *row[] = {p->cf, p->surname, p->name, sex, bd, p->comune};
	size_t cols = x->with_comune ? 6 : 5;
	struct strbuf line;
	strbuf_init(&line, 4096); /* a register record's fields are far shorter */
	for (size_t i = 0; i < cols; i++)
		strbuf_add_csv(&line, row[i], i == cols - 1);
	bool written = !line.err && fputs(line.buf, x->out) != EOF;
	strbuf_release(&line);
	if (!written) {
		x->failed = true;
		return 1;
	}
	x->persons++;
	if (++x->in_chunk == CHUNK && flush(x) != VIS_OK) {
		x->failed = true;
		return 1;
	}
	return 0;
}

int cmd_list_extract(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'}, {"out", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'}, {0, 0, 0, 0},
	};
	const char *db = NULL, *out = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'd') {
			db = optarg;
		} else if (c == 'o') {
			out = optarg;
		} else {
			fprintf(c == 'h' ? stdout : stderr,
				"uso: visura list-extract [--db URI] --out FILE ID_RICHIESTA\n\n"
				"Estrae in CSV una richiesta formale di elenco approvata (vedere\n"
				"docs/api.md); ogni persona dell'elenco è registrata nel registro degli\n"
				"accessi.\n");
			return c == 'h' ? EXIT_OK : EXIT_USAGE;
		}
	}
	if (!out || optind != argc - 1) {
		fprintf(stderr, "uso: visura list-extract [--db URI] --out FILE ID_RICHIESTA\n");
		return EXIT_USAGE;
	}
	long long id;
	if (!cli_int(argv[optind], "list-extract: ID_RICHIESTA", 1, INT64_MAX, &id))
		return EXIT_USAGE;
	struct store *s;
	int rc = cli_store_open(cli_db_uri(db), &s);
	if (rc)
		return rc;
	static struct listreq_extraction lx;
	struct vis_error e = {0};
	vis_err lrc = listreq_extraction_open(s, id, &lx, &e);
	if (lrc) {
		cli_error("list-extract", &e);
		store_close(s);
		return vis_err_store(lrc) ? EXIT_RUNTIME : EXIT_INVALID;
	}
	/* The database's signing key, when this user may read it: the records
	 * go under a signed head now, else at the server's next commit. */
	static struct audit_key key;
	char kp[CONFIG_PATH_MAX + 32];
	uint8_t pk[32];
	bool keyed = !audit_key_path(cli_db_uri(db), kp, sizeof kp, NULL) &&
		     !audit_key_load(kp, &key, NULL) && audit_public_key(s, pk) &&
		     !memcmp(pk, key.pk, sizeof pk);
	struct store_list_request q = lx.q;
	unsigned cats = lx.cats;
	const struct listreq_criteria *crit = &lx.criteria;
	struct extract x = {.today = date_today(), .s = s, .key = keyed ? &key : NULL,
			    .comune = crit->comune,
			    .age_from = crit->age_from, .age_to = crit->age_to, .sex = crit->sex,
			    .citizenship = crit->citizenship,
			    .with_comune = policy_may_see(cats, FIELD_COMUNE)};
	subjects_init(&x.subjects);
	x.rec.ente_id = q.ente_id;
	x.rec.convenzione_id = lx.purpose.convenzione_id;
	x.rec.purpose_id = q.purpose_id;
	snprintf(x.rec.username, sizeof x.rec.username, "registry-office");
	snprintf(x.rec.case_ref, sizeof x.rec.case_ref, "list-request %lld", (long long)q.id);
	snprintf(x.rec.ip, sizeof x.rec.ip, "cli");
	snprintf(x.rec.operation, sizeof x.rec.operation, "list_extract");
	STR_FMT_KNOWN(x.rec.query, "%.500s", q.criteria); /* its precision bounds it */
	policy_categories_format(cats & (x.with_comune ? CAT_IDENTITY | CAT_RESIDENCE : CAT_IDENTITY),
				 x.rec.categories, sizeof x.rec.categories);
	snprintf(x.rec.outcome, sizeof x.rec.outcome, "ok");
	x.rec.status = 200;
	/* removed below when the extract fails: never a device or a link */
	struct vis_error oe = {0};
	x.out = fsmode_fopen_write(out, "--out", &oe);
	if (!x.out) {
		cli_error("list-extract", &oe);
		store_close(s);
		return oe.code == VIS_ERR_INVALID ? EXIT_USAGE : EXIT_RUNTIME;
	}
	fprintf(x.out, x.with_comune ? "codice_fiscale,surname,name,sex,birth_date,comune\n"
				     : "codice_fiscale,surname,name,sex,birth_date\n");
	if (store_person_each_at(s, crit->comune, x.today, person, &x, &e) || x.failed ||
	    flush(&x) != VIS_OK) {
		subjects_release(&x.subjects);
		fclose(x.out);
		remove(out);
		cli_error("list-extract (nulla è stato consegnato)", &e);
		store_close(s);
		return EXIT_RUNTIME;
	}
	int closed = fclose(x.out);
	if (closed || listreq_extracted(s, &q, x.persons, (int64_t)time(NULL), &e)) {
		cli_error("list-extract", &e);
		store_close(s);
		return EXIT_RUNTIME;
	}
	printf("%lld persone scritte in %s e registrate nel registro degli accessi\n",
	       (long long)x.persons, out);
	store_close(s);
	return EXIT_OK;
}
