#include "import/record.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cf/cf.h"
#include "common/date.h"
#include "common/text.h"
#include "refdata/refdata.h"
#include "common/str.h"

const char *const record_event_types[] = {
	"NASCITA", "IMMIGRAZIONE", "DECESSO", "EMIGRAZIONE", "CAMBIO_INDIRIZZO",
	"MATRIMONIO", "DIVORZIO", "VEDOVANZA", "UNIONE_CIVILE",
	"SCIOGLIMENTO_UNIONE", "CITTADINANZA", NULL,
};

const char *record_type_name(enum record_type t)
{
	static const char *const names[] = {"HDR", "FAM", "PER", "EVT", "END"};
	return (unsigned)t < 5 ? names[t] : "?";
}

/* A field as a slice of the line. */
struct field {
	const char *p;
	size_t n;
};

struct ctx {
	const struct refdata *rd;
	const struct record_header *hdr;
	struct record_problem *why;
	struct field f[IMPORT_MAX_FIELDS];
	int nf;
};

__attribute__((format(printf, 3, 4)))
static bool fail(struct ctx *c, const char *field, const char *fmt, ...)
{
	STR_COPY_KNOWN(c->why->field, field); /* the parsers' field names, short constants */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->why->reason, sizeof c->why->reason, fmt, ap);
	va_end(ap);
	return false;
}

static bool is(const struct field *f, const char *lit)
{
	return f->n == strlen(lit) && !memcmp(f->p, lit, f->n);
}

static bool all_digits(const struct field *f)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->p[i] < '0' || f->p[i] > '9')
			return false;
	return f->n > 0;
}

/* Text of 0..max bytes (min 1 when required), copied with its NUL. */
static bool text(struct ctx *c, int i, const char *name, size_t min, size_t max,
		 char *dst)
{
	const struct field *f = &c->f[i];
	if (f->n < min)
		return fail(c, name, "is required");
	if (f->n > max)
		return fail(c, name, "longer than %zu bytes", max);
	memcpy(dst, f->p, f->n);
	dst[f->n] = '\0';
	return true;
}

static bool local_id(struct ctx *c, int i, const char *name, bool required, char *dst)
{
	const struct field *f = &c->f[i];
	if (f->n == 0 && !required) {
		dst[0] = '\0';
		return true;
	}
	if (f->n == 0 || f->n > 20)
		return fail(c, name, "must be 1 to 20 characters");
	for (size_t k = 0; k < f->n; k++) {
		char ch = f->p[k];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return fail(c, name, "may hold only letters, digits, '-' and '_'");
	}
	memcpy(dst, f->p, f->n);
	dst[f->n] = '\0';
	return true;
}

static bool date(struct ctx *c, int i, const char *name, bool required, int *out)
{
	const struct field *f = &c->f[i];
	if (f->n == 0 && !required) {
		*out = 0;
		return true;
	}
	if (!date_parse(f->p, f->n, out))
		return fail(c, name, "is not a valid date YYYY-MM-DD");
	if (c->hdr && *out > c->hdr->extract_date)
		return fail(c, name, "is after the extract date");
	return true;
}

/* A small decimal in [min, max]; with `allowed`, a member of that list. */
static bool number(struct ctx *c, int i, const char *name, bool required, int min,
		   int max, const int *allowed, int *out)
{
	const struct field *f = &c->f[i];
	*out = 0;
	if (f->n == 0) {
		if (required)
			return fail(c, name, "is required");
		return true;
	}
	if (!all_digits(f) || f->n > 9 || (f->n > 1 && f->p[0] == '0'))
		return fail(c, name, "is not a number");
	int v = 0;
	for (size_t k = 0; k < f->n; k++)
		v = v * 10 + (f->p[k] - '0');
	bool ok = v >= min && v <= max;
	if (ok && allowed) {
		ok = false;
		for (const int *a = allowed; *a; a++)
			ok = ok || *a == v;
	}
	if (!ok)
		return fail(c, name, "unknown code %d", v);
	*out = v;
	return true;
}

/* An ISTAT municipality (6 digits) or state (3 digits) known to the tables. */
static bool place(struct ctx *c, int i, const char *name, bool required, char out[7])
{
	const struct field *f = &c->f[i];
	out[0] = '\0';
	if (f->n == 0)
		return required ? fail(c, name, "is required") : true;
	if (!all_digits(f) || (f->n != 6 && f->n != 3))
		return fail(c, name, "must be an ISTAT municipality (6 digits) or state (3 digits) code");
	memcpy(out, f->p, f->n);
	out[f->n] = '\0';
	if (f->n == 6 ? !refdata_comune_by_istat(c->rd, out, 0)
		      : !refdata_stato_by_istat(c->rd, out))
		return fail(c, name, "unknown ISTAT code %s", out);
	return true;
}

static bool cf_field(struct ctx *c, int i, const char *name, bool required,
		     char out[17], struct cf_decoded *d)
{
	const struct field *f = &c->f[i];
	out[0] = '\0';
	if (f->n == 0)
		return required ? fail(c, name, "is required") : true;
	struct cf_decoded local;
	cf_status st = cf_decode(f->p, f->n, d ? d : &local);
	if (st != CF_OK)
		return fail(c, name, "invalid codice fiscale: %s", cf_status_text(st));
	if (f->n != CF_LEN)
		return fail(c, name, "invalid codice fiscale: %s", cf_status_text(CF_BAD_LENGTH));
	for (size_t k = 0; k < f->n; k++)
		if (f->p[k] >= 'a' && f->p[k] <= 'z')
			return fail(c, name, "must be upper case");
	memcpy(out, f->p, CF_LEN);
	out[CF_LEN] = '\0';
	return true;
}

static bool name_field(struct ctx *c, int i, const char *name, char *dst)
{
	const struct field *f = &c->f[i];
	if (f->n == 0)
		return fail(c, name, "is required");
	if (f->n > STORE_NAME_MAX - 1)
		return fail(c, name, "longer than %d bytes", STORE_NAME_MAX - 1);
	if (!text_name_valid(f->p, f->n))
		return fail(c, name, "may hold only letters, spaces, apostrophes, hyphens and dots");
	memcpy(dst, f->p, f->n);
	dst[f->n] = '\0';
	return true;
}

static bool parse_header(struct ctx *c, struct record_header *h)
{
	if (c->nf != 8)
		return fail(c, "", "HDR has %d fields, 8 expected", c->nf);
	if (!is(&c->f[1], IMPORT_FORMAT_NAME))
		return fail(c, "format name", "not an import file: format name must be %s",
			    IMPORT_FORMAT_NAME);
	if (!is(&c->f[2], IMPORT_FORMAT_VERSION))
		return fail(c, "format version", "unknown format version (this visura reads version %s)",
			    IMPORT_FORMAT_VERSION);
	if (c->f[3].n != 6 || !all_digits(&c->f[3]))
		return fail(c, "comune", "must be a 6-digit ISTAT code");
	memcpy(h->comune, c->f[3].p, 6);
	h->comune[6] = '\0';
	if (!refdata_comune_by_istat(c->rd, h->comune, 0))
		return fail(c, "comune", "unknown ISTAT code %s", h->comune);
	if (!timestamp_parse(c->f[4].p, c->f[4].n, &h->extract))
		return fail(c, "extract time", "must be YYYY-MM-DDTHH:MM:SSZ");
	date_parse(c->f[4].p, 10, &h->extract_date);
	int seq;
	if (!number(c, 5, "sequence", true, 1, 999999999, NULL, &seq))
		return false;
	h->seq = seq;
	if (is(&c->f[6], "FULL"))
		h->full = true;
	else if (is(&c->f[6], "DELTA"))
		h->full = false;
	else
		return fail(c, "kind", "must be FULL or DELTA");
	if (!utf8_valid(c->f[7].p, c->f[7].n))
		return fail(c, "producer", "is not valid text");
	return text(c, 7, "producer", 0, 100, h->producer);
}

static bool parse_family(struct ctx *c, struct store_family *f)
{
	static const int kinds[] = {1, 2, 0};
	if (c->nf != 13)
		return fail(c, "", "FAM has %d fields, 13 expected", c->nf);
	memset(f, 0, sizeof *f);
	memcpy(f->comune, c->hdr->comune, sizeof f->comune);
	if (!local_id(c, 1, "family id", true, f->id) ||
	    !number(c, 2, "kind", true, 1, 2, kinds, &f->kind) ||
	    !date(c, 3, "valid from", true, &f->valid_from) ||
	    !text(c, 4, "DUG", 1, STORE_SHORT_MAX - 1, f->dug) ||
	    !text(c, 5, "street name", 1, STORE_NAME_MAX - 1, f->street) ||
	    !number(c, 6, "civic number", false, 1, 99999, NULL, &f->civic) ||
	    !text(c, 7, "civic letter/exponent", 0, STORE_PART_MAX - 1, f->civic_ext) ||
	    !text(c, 8, "staircase", 0, STORE_PART_MAX - 1, f->scala) ||
	    !text(c, 9, "internal", 0, STORE_PART_MAX - 1, f->interno) ||
	    !text(c, 10, "postcode", 5, 5, f->cap) ||
	    !text(c, 11, "locality", 0, STORE_NAME_MAX - 1, f->locality) ||
	    !text(c, 12, "convivenza name", 0, STORE_NAME_MAX - 1, f->convivenza))
		return false;
	if (!all_digits(&c->f[10]))
		return fail(c, "postcode", "must be 5 digits");
	if (f->kind == 2 && !f->convivenza[0])
		return fail(c, "convivenza name", "is required for a convivenza");
	if (f->kind == 1 && f->convivenza[0])
		return fail(c, "convivenza name", "must be empty for a famiglia");
	return true;
}

/* The birth place's cadastral code must be one the place has held. */
static bool cf_place_consistent(struct ctx *c, const char *birth_place, const char *code)
{
	if (strlen(birth_place) == 6)
		return refdata_comune_had_belfiore(c->rd, birth_place, code);
	const struct ref_stato *s = refdata_stato_by_istat(c->rd, birth_place);
	return s && !strcmp(s->belfiore, code);
}

static bool cf_consistent(struct ctx *c, const struct store_person *p,
			  const struct cf_decoded *d)
{
	char sc[4], nc[4];
	if (!cf_surname_code(p->surname, sc) || strcmp(sc, d->surname))
		return fail(c, "codice fiscale", "does not match the surname");
	if (!cf_name_code(p->name, nc) || strcmp(nc, d->name))
		return fail(c, "codice fiscale", "does not match the name");
	if (d->sex != p->sex)
		return fail(c, "codice fiscale", "does not match the sex");
	if (d->year2 != DATE_YEAR(p->birth_date) % 100 || d->month != DATE_MONTH(p->birth_date) ||
	    d->day != DATE_DAY(p->birth_date))
		return fail(c, "codice fiscale", "does not match the birth date");
	if (!cf_place_consistent(c, p->birth_place, d->place))
		return fail(c, "codice fiscale", "place code %s does not match the birth place %s",
			    d->place, p->birth_place);
	return true;
}

static bool citizenships(struct ctx *c, int i, char out[STORE_CITIZ_MAX])
{
	const struct field *f = &c->f[i];
	if (f->n == 0)
		return fail(c, "citizenships", "at least one is required");
	if (f->n >= STORE_CITIZ_MAX)
		return fail(c, "citizenships", "too many");
	size_t k = 0;
	while (k < f->n) {
		size_t start = k;
		while (k < f->n && f->p[k] != ',')
			k++;
		char code[8];
		struct field one = {f->p + start, k - start};
		if (one.n != 3 || !all_digits(&one))
			return fail(c, "citizenships", "must be 3-digit ISTAT state codes separated by ','");
		memcpy(code, one.p, 3);
		code[3] = '\0';
		if (!refdata_stato_by_istat(c->rd, code))
			return fail(c, "citizenships", "unknown state code %s", code);
		for (size_t prev = 0; prev < start; prev += 4)
			if (!memcmp(f->p + prev, code, 3))
				return fail(c, "citizenships", "state %s repeated", code);
		if (k < f->n && ++k == f->n)
			return fail(c, "citizenships", "ends with ','");
	}
	memcpy(out, f->p, f->n);
	out[f->n] = '\0';
	return true;
}

static bool parse_person(struct ctx *c, struct store_person *p)
{
	static const int civil[] = {1, 2, 3, 4, 6, 7, 8, 9, 0};
	if (c->nf != 21)
		return fail(c, "", "PER has %d fields, 21 expected", c->nf);
	memset(p, 0, sizeof *p);
	memcpy(p->comune, c->hdr->comune, sizeof p->comune);
	struct cf_decoded d;
	if (!local_id(c, 1, "person id", true, p->id) ||
	    !date(c, 2, "valid from", true, &p->valid_from) ||
	    !cf_field(c, 3, "codice fiscale", true, p->cf, &d) ||
	    !name_field(c, 4, "surname", p->surname) ||
	    !name_field(c, 5, "name", p->name))
		return false;
	if (is(&c->f[6], "M") || is(&c->f[6], "F"))
		p->sex = c->f[6].p[0];
	else
		return fail(c, "sex", "must be M or F");
	if (!date(c, 7, "birth date", true, &p->birth_date) ||
	    !place(c, 8, "birth place", true, p->birth_place) ||
	    !citizenships(c, 9, p->citizenships) ||
	    !number(c, 10, "civil status", true, 1, 9, civil, &p->civil_status) ||
	    !date(c, 11, "civil status date", false, &p->civil_status_date) ||
	    !cf_field(c, 12, "father", false, p->father_cf, NULL) ||
	    !cf_field(c, 13, "mother", false, p->mother_cf, NULL) ||
	    !number(c, 14, "registration reason", true, 1, 10, NULL, &p->reg_reason) ||
	    !date(c, 15, "registration date", true, &p->reg_date) ||
	    !number(c, 16, "cancellation reason", false, 1, 13, NULL, &p->canc_reason) ||
	    !date(c, 17, "cancellation date", false, &p->canc_date) ||
	    !place(c, 18, "destination", false, p->destination) ||
	    !local_id(c, 19, "family id", false, p->family_id) ||
	    !number(c, 20, "relationship", false, 1, 99, NULL, &p->relationship))
		return false;
	if (!cf_consistent(c, p, &d))
		return false;
	bool needs_date = p->civil_status != 1 && p->civil_status != 9;
	if (needs_date && !p->civil_status_date)
		return fail(c, "civil status date", "is required with civil status %d", p->civil_status);
	if (!needs_date && p->civil_status_date)
		return fail(c, "civil status date", "must be empty with civil status %d", p->civil_status);
	if (p->civil_status_date && p->civil_status_date < p->birth_date)
		return fail(c, "civil status date", "is before the birth date");
	if (p->valid_from < p->birth_date)
		return fail(c, "valid from", "is before the birth date");
	if (p->reg_date < p->birth_date)
		return fail(c, "registration date", "is before the birth date");
	if (!p->canc_reason != !p->canc_date)
		return fail(c, "cancellation date", "cancellation reason and date go together");
	if (p->canc_date && p->canc_date < p->reg_date)
		return fail(c, "cancellation date", "is before the registration date");
	bool moved = p->canc_reason == 3 || p->canc_reason == 8;
	if (moved && !p->destination[0])
		return fail(c, "destination", "is required with cancellation reason %d", p->canc_reason);
	if (!moved && p->destination[0])
		return fail(c, "destination", "must be empty with this cancellation reason");
	if (moved && (strlen(p->destination) == 6) != (p->canc_reason == 3))
		return fail(c, "destination", "reason 3 takes a municipality, reason 8 a state");
	if (!p->canc_reason && !p->family_id[0])
		return fail(c, "family id", "is required while the person is registered");
	if (p->relationship > 28 && p->relationship != 99)
		return fail(c, "relationship", "unknown code %d", p->relationship);
	if (!p->family_id[0] != !p->relationship)
		return fail(c, "relationship", "family id and relationship go together");
	if (!strcmp(p->cf, p->father_cf) || !strcmp(p->cf, p->mother_cf))
		return fail(c, "father", "a person cannot be their own parent");
	return true;
}

static bool parse_event(struct ctx *c, struct store_event *ev)
{
	if (c->nf != 7)
		return fail(c, "", "EVT has %d fields, 7 expected", c->nf);
	memset(ev, 0, sizeof *ev);
	memcpy(ev->comune, c->hdr->comune, sizeof ev->comune);
	if (!local_id(c, 1, "event id", true, ev->id))
		return false;
	const char *const *t = record_event_types;
	while (*t && !is(&c->f[2], *t))
		t++;
	if (!*t)
		return fail(c, "type", "unknown event type");
	STR_COPY_KNOWN(ev->type, *t); /* record_event_types: the longest has 19 bytes */
	if (!date(c, 3, "date", true, &ev->date) ||
	    !local_id(c, 4, "person id", true, ev->person_id) ||
	    !place(c, 5, "place", false, ev->place) ||
	    !cf_field(c, 6, "other person", false, ev->other_cf, NULL))
		return false;
	bool migration = !strcmp(ev->type, "IMMIGRAZIONE") || !strcmp(ev->type, "EMIGRAZIONE");
	if (migration && !ev->place[0])
		return fail(c, "place", "is required for %s", ev->type);
	if (!migration && ev->place[0])
		return fail(c, "place", "must be empty for %s", ev->type);
	bool couple = !strcmp(ev->type, "MATRIMONIO") || !strcmp(ev->type, "DIVORZIO") ||
		      !strcmp(ev->type, "VEDOVANZA") || !strcmp(ev->type, "UNIONE_CIVILE") ||
		      !strcmp(ev->type, "SCIOGLIMENTO_UNIONE");
	if (!couple && ev->other_cf[0])
		return fail(c, "other person", "must be empty for %s", ev->type);
	return true;
}

bool record_parse(const char *line, size_t len, const struct refdata *rd,
		  const struct record_header *hdr, struct record *out,
		  struct record_problem *why)
{
	struct ctx c = {.rd = rd, .hdr = hdr, .why = why};
	why->field[0] = why->reason[0] = '\0';
	if (len > IMPORT_MAX_LINE)
		return fail(&c, "", "line longer than %d bytes", IMPORT_MAX_LINE);
	if (len && line[len - 1] == '\r')
		return fail(&c, "", "line ends with CR: lines must end with LF only");
	if (!utf8_valid(line, len)) {
		/* TAB is the one control character allowed: check field by field. */
		size_t start = 0;
		int field = 1;
		for (size_t k = 0; k <= len; k++) {
			if (k < len && line[k] != '\t')
				continue;
			uint32_t cp;
			if (text_bidi_find(line + start, k - start, &cp))
				return fail(&c, "", "field %d holds the direction control U+%04X: the "
					    "text would display in another order than stored",
					    field, (unsigned)cp);
			if (!utf8_valid(line + start, k - start))
				return fail(&c, "", "invalid UTF-8 or control character");
			start = k + 1;
			field++;
		}

	}
	size_t start = 0;
	for (size_t k = 0; k <= len; k++) {
		if (k < len && line[k] != '\t')
			continue;
		if (c.nf == IMPORT_MAX_FIELDS)
			return fail(&c, "", "more than %d fields", IMPORT_MAX_FIELDS);
		c.f[c.nf].p = line + start;
		c.f[c.nf].n = k - start;
		c.nf++;
		start = k + 1;
	}
	const struct field *tag = &c.f[0];
	if (!hdr) {
		out->type = REC_HDR;
		if (!is(tag, "HDR"))
			return fail(&c, "", "the file must start with an HDR record");
		return parse_header(&c, &out->u.hdr);
	}
	if (is(tag, "FAM")) {
		out->type = REC_FAM;
		return parse_family(&c, &out->u.fam);
	}
	if (is(tag, "PER")) {
		out->type = REC_PER;
		return parse_person(&c, &out->u.per);
	}
	if (is(tag, "EVT")) {
		out->type = REC_EVT;
		return parse_event(&c, &out->u.evt);
	}
	if (is(tag, "END")) {
		out->type = REC_END;
		int n;
		if (c.nf != 2)
			return fail(&c, "", "END has %d fields, 2 expected", c.nf);
		if (!number(&c, 1, "record count", true, 0, 999999999, NULL, &n))
			return false;
		out->u.end_count = n;
		return true;
	}
	if (is(tag, "HDR"))
		return fail(&c, "", "a second HDR record");
	return fail(&c, "", "unknown record type");
}
