/* visura list-extract — the registry office extracts an approved formal
 * list request as a file; every person in it is recorded in the access
 * trail (in records of up to 100 persons, all pointing at the request).
 * The columns are those the agreement's profile may see (policy_may_see);
 * an agreement in verify_only mode, or without identity data, gets no list. */
#include <getopt.h>
#include <jansson.h>
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
#include "common/str.h"
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
				"usage: visura list-extract [--db URI] --out FILE REQUEST_ID\n\n"
				"Extracts an approved formal list request (see docs/api.md) as CSV; every\n"
				"person in it is recorded in the access trail.\n");
			return c == 'h' ? EXIT_OK : EXIT_USAGE;
		}
	}
	if (!out || optind != argc - 1) {
		fprintf(stderr, "usage: visura list-extract [--db URI] --out FILE REQUEST_ID\n");
		return EXIT_USAGE;
	}
	struct store *s;
	int rc = cli_store_open(cli_db_uri(db), &s);
	if (rc)
		return rc;
	struct store_list_request q;
	struct store_purpose purpose;
	bool found = false, pfound = false;
	struct vis_error e = {0};
	if (store_rec_get(s, STORE_LIST_REQUEST, "id", NULL, atoll(argv[optind]), &q, &found, &e) ||
	    !found || strcmp(q.state, "approved") ||
	    store_rec_get(s, STORE_PURPOSE, "id", NULL, q.purpose_id, &purpose, &pfound, &e) || !pfound) {
		fprintf(stderr, "visura: list-extract: no approved request %s\n", argv[optind]);
		store_close(s);
		return EXIT_INVALID;
	}
	/* The agreement decides what the list may hold, now, not at approval. */
	struct store_convenzione conv;
	bool cfound = false;
	unsigned cats = 0;
	if (store_rec_get(s, STORE_CONVENZIONE, "id", NULL, purpose.convenzione_id, &conv, &cfound,
			  &e) || !cfound || !policy_categories_parse(conv.profile, &cats) ||
	    !strcmp(conv.mode, "verify_only") || !policy_may_see(cats, FIELD_IDENTITY)) {
		fprintf(stderr, "visura: list-extract: the agreement of request %s allows no list "
			"(verify_only, or no identity data in its profile)\n", argv[optind]);
		store_close(s);
		return EXIT_INVALID;
	}
	json_error_t jerr;
	json_t *crit = json_loads(q.criteria, 0, &jerr);
	/* The database's signing key, when this user may read it: the records
	 * go under a signed head now, else at the server's next commit. */
	static struct audit_key key;
	char kp[CONFIG_PATH_MAX + 32];
	uint8_t pk[32];
	audit_key_path(cli_db_uri(db), kp, sizeof kp);
	bool keyed = !audit_key_load(kp, &key, NULL) && audit_public_key(s, pk) &&
		     !memcmp(pk, key.pk, sizeof pk);
	struct extract x = {.today = date_today(), .s = s, .key = keyed ? &key : NULL, .age_to = 200,
			    .with_comune = policy_may_see(cats, FIELD_COMUNE)};
	subjects_init(&x.subjects);
	const char *cz = json_string_value(json_object_get(crit, "citizenship"));
	const char *sex = json_string_value(json_object_get(crit, "sex"));
	x.comune = json_string_value(json_object_get(crit, "comune"));
	if (json_is_integer(json_object_get(crit, "age_from")))
		x.age_from = (int)json_integer_value(json_object_get(crit, "age_from"));
	if (json_is_integer(json_object_get(crit, "age_to")))
		x.age_to = (int)json_integer_value(json_object_get(crit, "age_to"));
	x.sex = sex ? sex[0] : 0;
	x.citizenship = !cz ? 0 : !strcmp(cz, "italian") ? 1 : 2;
	x.rec.ente_id = q.ente_id;
	x.rec.convenzione_id = purpose.convenzione_id;
	x.rec.purpose_id = q.purpose_id;
	snprintf(x.rec.username, sizeof x.rec.username, "registry-office");
	snprintf(x.rec.case_ref, sizeof x.rec.case_ref, "list-request %lld", (long long)q.id);
	snprintf(x.rec.ip, sizeof x.rec.ip, "cli");
	snprintf(x.rec.operation, sizeof x.rec.operation, "list_extract");
	snprintf(x.rec.query, sizeof x.rec.query, "%.500s", q.criteria);
	policy_categories_format(cats & (x.with_comune ? CAT_IDENTITY | CAT_RESIDENCE : CAT_IDENTITY),
				 x.rec.categories, sizeof x.rec.categories);
	snprintf(x.rec.outcome, sizeof x.rec.outcome, "ok");
	x.rec.status = 200;
	x.out = x.comune ? fopen(out, "w") : NULL;
	if (!x.out) {
		fprintf(stderr, "visura: list-extract: cannot write '%s'\n", out);
		json_decref(crit);
		store_close(s);
		return EXIT_RUNTIME;
	}
	fprintf(x.out, x.with_comune ? "codice_fiscale,surname,name,sex,birth_date,comune\n"
				     : "codice_fiscale,surname,name,sex,birth_date\n");
	char comune[7];
	if (!CLI_COPY(comune, x.comune, "comune of the request")) {
		fclose(x.out);
		remove(out);
		json_decref(crit);
		store_close(s);
		return EXIT_INVALID;
	}
	if (store_person_each_at(s, comune, x.today, person, &x, &e) || x.failed ||
	    flush(&x) != VIS_OK) {
		subjects_release(&x.subjects);
		fclose(x.out);
		remove(out);
		json_decref(crit);
		cli_error("list-extract (nothing released)", &e);
		store_close(s);
		return EXIT_RUNTIME;
	}
	int closed = fclose(x.out);
	json_decref(crit);
	q.extracted_at = (int64_t)time(NULL);
	q.persons = x.persons;
	snprintf(q.state, sizeof q.state, "extracted");
	if (closed || store_rec_update(s, STORE_LIST_REQUEST, &q, &e)) {
		cli_error("list-extract", &e);
		store_close(s);
		return EXIT_RUNTIME;
	}
	printf("%lld persons written to %s and recorded in the access trail\n", (long long)x.persons,
	       out);
	store_close(s);
	return EXIT_OK;
}
