/* seed — see seed.h. */
#include "seed.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "cf/cf.h"
#include "common/str.h"

#define OK(x) assert_int_equal((x), VIS_OK)

int64_t seed_body(struct store *s, const char *name)
{
	struct store_ente en = {.created_at = 1700000000};
	STR_COPY_KNOWN(en.name, name);
	STR_COPY_KNOWN(en.kind, "police");
	STR_COPY_KNOWN(en.state, "active");
	int64_t id;
	struct vis_error e = {0};
	OK(store_ente_insert(s, &en, &id, &e));
	return id;
}

void seed_account(struct store *s, int64_t ente_id, const char *username,
		  struct store_account *out)
{
	struct store_account a = {.ente_id = ente_id, .issued_at = 1700000000,
				  .expires_at = 4000000000, .created_at = 1700000000};
	STR_COPY_KNOWN(a.username, username);
	STR_COPY_KNOWN(a.role, "operator");
	STR_COPY_KNOWN(a.full_name, "Mario Rossi");
	STR_COPY_KNOWN(a.state, "active");
	STR_COPY_KNOWN(a.password_hash, "x");
	struct vis_error e = {0};
	OK(store_account_insert(s, &a, &a.id, &e));
	*out = a;
}

int64_t seed_agreement(struct store *s, int64_t ente_id, const char *profile, int64_t *purpose)
{
	struct store_convenzione c = {
		.ente_id = ente_id, .valid_from = 20200101, .max_results = 10,
		.per_minute = 1000, .per_day = 100000, .body_per_minute = 1000,
		.body_per_day = 100000, .purpose_per_minute = 1000, .purpose_per_day = 100000,
		.break_glass = true, .created_at = 1700000000,
	};
	STR_COPY_KNOWN(c.reference, "CONV-1");
	STR_COPY_KNOWN(c.comuni, SEED_COMUNE);
	STR_COPY_KNOWN(c.state, "active");
	STR_COPY_KNOWN(c.mode, "consult");
	STR_COPY_KNOWN(c.profile, profile);
	STR_COPY_KNOWN(c.event_types, "");
	int64_t id;
	struct vis_error e = {0};
	OK(store_convenzione_insert(s, &c, &id, &e));
	struct store_purpose p = {.convenzione_id = id, .created_at = 1700000000};
	STR_COPY_KNOWN(p.code, "IND-01");
	STR_COPY_KNOWN(p.description, "indagini di polizia giudiziaria");
	STR_COPY_KNOWN(p.legal_basis, "art. 55 c.p.p.");
	OK(store_purpose_insert(s, &p, purpose, &e));
	return id;
}

void seed_agreement_edit(struct store *s, int64_t id,
			 void (*edit)(struct store_convenzione *c, void *ctx), void *ctx)
{
	struct store_convenzione c;
	bool found = false;
	struct vis_error e = {0};
	OK(store_convenzione_get(s, id, &c, &found, &e));
	assert_true(found);
	const struct store_convenzione was = c;
	edit(&c, ctx);
	OK(store_convenzione_update(s, &was, &c, &e));
}

static struct store_person person(const char *comune, const char *id, const char *cf,
				  const char *surname, const char *name, int birth,
				  const char *fam, int relationship)
{
	struct store_person p = {.sex = 'F', .birth_date = birth, .valid_from = 20200101,
				 .civil_status = 1, .reg_reason = 1, .reg_date = birth,
				 .relationship = relationship};
	STR_COPY_KNOWN(p.comune, comune);
	STR_COPY_KNOWN(p.id, id);
	STR_COPY_KNOWN(p.cf, cf);
	STR_COPY_KNOWN(p.surname, surname);
	STR_COPY_KNOWN(p.name, name);
	STR_COPY_KNOWN(p.birth_place, SEED_COMUNE);
	STR_COPY_KNOWN(p.citizenships, "100");
	STR_COPY_KNOWN(p.family_id, fam);
	return p;
}

static int64_t import_begin(struct store *s, const char *comune, struct store_import *imp)
{
	*imp = (struct store_import){.seq = 1, .extract = 1700000000, .full = true};
	STR_COPY_KNOWN(imp->comune, comune);
	snprintf(imp->sha256, sizeof imp->sha256, "%064d", 1);
	STR_COPY_KNOWN(imp->source, "seed");
	int64_t id;
	bool empty;
	struct vis_error e = {0};
	OK(store_import_start(s, imp, &id, &empty, &e));
	return id;
}

static void import_end(struct store *s, int64_t id, struct store_import *imp, int families,
		       int persons)
{
	struct store_import_counts c = {.inserted = families + persons, .families = families,
					.persons = persons};
	struct vis_error e = {0};
	OK(store_import_finish(s, id, imp, 20240101, &c, NULL, &e));
	OK(store_commit(s, &e));
}

static void family(struct store *s, int64_t imp, const char *comune, const char *id, int kind)
{
	struct store_family f = {.kind = kind, .valid_from = 20200101, .civic = 12};
	STR_COPY_KNOWN(f.comune, comune);
	STR_COPY_KNOWN(f.id, id);
	STR_COPY_KNOWN(f.dug, "VIA");
	STR_COPY_KNOWN(f.street, "EMILIA EST");
	STR_COPY_KNOWN(f.cap, "41121");
	if (kind == 2)
		STR_COPY_KNOWN(f.convivenza, "CASA DI RIPOSO");
	enum store_put_result res;
	struct vis_error e = {0};
	OK(store_family_put(s, imp, true, &f, NULL, &res, &e));
}

void seed_register(struct store *s, int crowd, char *crowd_cf)
{
	enum store_put_result res;
	struct vis_error e = {0};
	struct store_import imp;
	int64_t id = import_begin(s, SEED_COMUNE, &imp);
	family(s, id, SEED_COMUNE, "F1", 1);
	struct store_person anna = person(SEED_COMUNE, "P1", SEED_ANNA, "Bianchi", "Anna",
					  19820315, "F1", 1);
	struct store_person luca = person(SEED_COMUNE, "P2", SEED_LUCA, "Rossi", "Luca",
					  20120730, "F1", 3);
	OK(store_person_put(s, id, true, &anna, NULL, &res, &e));
	OK(store_person_put(s, id, true, &luca, NULL, &res, &e));
	if (crowd > 0)
		family(s, id, SEED_COMUNE, "C1", 2);
	for (int i = 0; i < crowd; i++) {
		/* Valid codici fiscali: a fixed stem, the day of birth and a
		 * serial in the name part, the check character computed. */
		char cf[17], pid[STORE_ID_MAX];
		snprintf(cf, sizeof cf, "%c%c%cNNA50A%02dF257", 'A' + i / 676, 'A' + i / 26 % 26,
			 'A' + i % 26, 41 + i % 30);
		cf[15] = cf_check_char(cf);
		cf[16] = '\0';
		if (!i)
			memcpy(crowd_cf, cf, 17);
		snprintf(pid, sizeof pid, "K%d", i);
		struct store_person p = person(SEED_COMUNE, pid, cf, "Ospite", "Anna", 19500101,
					       "C1", 25);
		OK(store_person_put(s, id, true, &p, NULL, &res, &e));
	}
	import_end(s, id, &imp, 1 + (crowd > 0), 2 + crowd);
	id = import_begin(s, SEED_OTHER_COMUNE, &imp);
	family(s, id, SEED_OTHER_COMUNE, "G1", 1);
	struct store_person elsa = person(SEED_OTHER_COMUNE, "P9", SEED_ELSA, "Verdi", "Elsa",
					  19900101, "G1", 1);
	OK(store_person_put(s, id, true, &elsa, NULL, &res, &e));
	import_end(s, id, &imp, 1, 1);
}
