#include "import/record.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cf/cf.h"
#include "common/date.h"
#include "common/log.h"
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
	int n = vsnprintf(c->why->reason, sizeof c->why->reason, fmt, ap);
	va_end(ap);
	/* every template with its bounded arguments fits: a cut one is a bug,
	 * said as str_copy_known says it */
	if (n < 0 || (size_t)n >= sizeof c->why->reason)
		log_error("stringa tagliata",
			  "bug=\"messaggio dell'importazione più lungo del suo campo\" "
			  "field=%s cap=%zu",
			  field, sizeof c->why->reason);
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
		return fail(c, name, "è obbligatorio");
	if (f->n > max)
		return fail(c, name, "più lungo di %zu byte", max);
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
		return fail(c, name, "deve avere da 1 a 20 caratteri");
	for (size_t k = 0; k < f->n; k++) {
		char ch = f->p[k];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return fail(c, name, "può contenere solo lettere, cifre, '-' e '_'");
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
		return fail(c, name, "non è una data valida nel formato AAAA-MM-GG");
	if (c->hdr && *out > c->hdr->extract_date)
		return fail(c, name, "è successiva alla data di estrazione");
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
			return fail(c, name, "è obbligatorio");
		return true;
	}
	if (!all_digits(f) || f->n > 9 || (f->n > 1 && f->p[0] == '0'))
		return fail(c, name, "non è un numero");
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
		return fail(c, name, "codice %d sconosciuto", v);
	*out = v;
	return true;
}

/* An ISTAT municipality (6 digits) or state (3 digits) known to the tables. */
static bool place(struct ctx *c, int i, const char *name, bool required, char out[7])
{
	const struct field *f = &c->f[i];
	out[0] = '\0';
	if (f->n == 0)
		return required ? fail(c, name, "è obbligatorio") : true;
	if (!all_digits(f) || (f->n != 6 && f->n != 3))
		return fail(c, name, "deve essere un codice ISTAT di comune (6 cifre) o di stato (3 cifre)");
	memcpy(out, f->p, f->n);
	out[f->n] = '\0';
	if (f->n == 6 ? !refdata_comune_by_istat(c->rd, out, 0)
		      : !refdata_stato_by_istat(c->rd, out))
		return fail(c, name, "codice ISTAT %s sconosciuto", out);
	return true;
}

static bool cf_field(struct ctx *c, int i, const char *name, bool required,
		     char out[17], struct cf_decoded *d)
{
	const struct field *f = &c->f[i];
	out[0] = '\0';
	if (f->n == 0)
		return required ? fail(c, name, "è obbligatorio") : true;
	struct cf_decoded local;
	cf_status st = cf_decode(f->p, f->n, d ? d : &local);
	if (st != CF_OK)
		return fail(c, name, "codice fiscale non valido: %s", cf_status_text(st));
	if (f->n != CF_LEN)
		return fail(c, name, "codice fiscale non valido: %s", cf_status_text(CF_BAD_LENGTH));
	for (size_t k = 0; k < f->n; k++)
		if (f->p[k] >= 'a' && f->p[k] <= 'z')
			return fail(c, name, "deve essere in lettere maiuscole");
	memcpy(out, f->p, CF_LEN);
	out[CF_LEN] = '\0';
	return true;
}

static bool name_field(struct ctx *c, int i, const char *name, char *dst)
{
	const struct field *f = &c->f[i];
	if (f->n == 0)
		return fail(c, name, "è obbligatorio");
	if (f->n > STORE_NAME_MAX - 1)
		return fail(c, name, "più lungo di %d byte", STORE_NAME_MAX - 1);
	if (!text_name_valid(f->p, f->n))
		return fail(c, name, "può contenere solo lettere, spazi, apostrofi, trattini e punti");
	memcpy(dst, f->p, f->n);
	dst[f->n] = '\0';
	return true;
}

static bool parse_header(struct ctx *c, struct record_header *h)
{
	if (c->nf != 8)
		return fail(c, "", "il record HDR ha %d campi invece di 8", c->nf);
	if (!is(&c->f[1], IMPORT_FORMAT_NAME))
		return fail(c, "nome del formato", "non è un file di importazione: il nome del formato deve essere %s",
			    IMPORT_FORMAT_NAME);
	if (!is(&c->f[2], IMPORT_FORMAT_VERSION))
		return fail(c, "versione del formato", "versione del formato sconosciuta (questo visura legge la versione %s)",
			    IMPORT_FORMAT_VERSION);
	if (c->f[3].n != 6 || !all_digits(&c->f[3]))
		return fail(c, "comune", "deve essere un codice ISTAT di 6 cifre");
	memcpy(h->comune, c->f[3].p, 6);
	h->comune[6] = '\0';
	if (!refdata_comune_by_istat(c->rd, h->comune, 0))
		return fail(c, "comune", "codice ISTAT %s sconosciuto", h->comune);
	if (!timestamp_parse(c->f[4].p, c->f[4].n, &h->extract))
		return fail(c, "ora dell'estrazione", "deve avere il formato AAAA-MM-GGThh:mm:ssZ (UTC)");
	date_parse(c->f[4].p, 10, &h->extract_date);
	int seq;
	if (!number(c, 5, "sequenza", true, 1, 999999999, NULL, &seq))
		return false;
	h->seq = seq;
	if (is(&c->f[6], "FULL"))
		h->full = true;
	else if (is(&c->f[6], "DELTA"))
		h->full = false;
	else
		return fail(c, "tipo di file", "deve essere FULL o DELTA");
	if (!utf8_valid(c->f[7].p, c->f[7].n))
		return fail(c, "produttore", "non è un testo valido");
	return text(c, 7, "produttore", 0, 100, h->producer);
}

static bool parse_family(struct ctx *c, struct store_family *f)
{
	static const int kinds[] = {1, 2, 0};
	if (c->nf != 13)
		return fail(c, "", "il record FAM ha %d campi invece di 13", c->nf);
	memset(f, 0, sizeof *f);
	memcpy(f->comune, c->hdr->comune, sizeof f->comune);
	if (!local_id(c, 1, "identificativo della famiglia", true, f->id) ||
	    !number(c, 2, "tipo di famiglia", true, 1, 2, kinds, &f->kind) ||
	    !date(c, 3, "valido dal", true, &f->valid_from) ||
	    !text(c, 4, "DUG", 1, STORE_SHORT_MAX - 1, f->dug) ||
	    !text(c, 5, "toponimo", 1, STORE_NAME_MAX - 1, f->street) ||
	    !number(c, 6, "numero civico", false, 1, 99999, NULL, &f->civic) ||
	    !text(c, 7, "esponente del civico", 0, STORE_PART_MAX - 1, f->civic_ext) ||
	    !text(c, 8, "scala", 0, STORE_PART_MAX - 1, f->scala) ||
	    !text(c, 9, "interno", 0, STORE_PART_MAX - 1, f->interno) ||
	    !text(c, 10, "CAP", 5, 5, f->cap) ||
	    !text(c, 11, "frazione", 0, STORE_NAME_MAX - 1, f->locality) ||
	    !text(c, 12, "denominazione della convivenza", 0, STORE_NAME_MAX - 1, f->convivenza))
		return false;
	if (!all_digits(&c->f[10]))
		return fail(c, "CAP", "deve essere di 5 cifre");
	if (f->kind == 2 && !f->convivenza[0])
		return fail(c, "denominazione della convivenza", "è obbligatorio per una convivenza");
	if (f->kind == 1 && f->convivenza[0])
		return fail(c, "denominazione della convivenza", "deve essere vuoto per una famiglia anagrafica");
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
		return fail(c, "codice fiscale", "non corrisponde al cognome");
	if (!cf_name_code(p->name, nc) || strcmp(nc, d->name))
		return fail(c, "codice fiscale", "non corrisponde al nome");
	if (d->sex != p->sex)
		return fail(c, "codice fiscale", "non corrisponde al sesso");
	if (d->year2 != DATE_YEAR(p->birth_date) % 100 || d->month != DATE_MONTH(p->birth_date) ||
	    d->day != DATE_DAY(p->birth_date))
		return fail(c, "codice fiscale", "non corrisponde alla data di nascita");
	if (!cf_place_consistent(c, p->birth_place, d->place))
		return fail(c, "codice fiscale", "il codice catastale %s non corrisponde al luogo di nascita %s",
			    d->place, p->birth_place);
	return true;
}

static bool citizenships(struct ctx *c, int i, char out[STORE_CITIZ_MAX])
{
	const struct field *f = &c->f[i];
	if (f->n == 0)
		return fail(c, "cittadinanze", "ne è obbligatoria almeno una");
	if (f->n >= STORE_CITIZ_MAX)
		return fail(c, "cittadinanze", "sono troppe");
	size_t k = 0;
	while (k < f->n) {
		size_t start = k;
		while (k < f->n && f->p[k] != ',')
			k++;
		char code[8];
		struct field one = {f->p + start, k - start};
		if (one.n != 3 || !all_digits(&one))
			return fail(c, "cittadinanze", "devono essere codici ISTAT di stato di 3 cifre separati da ','");
		memcpy(code, one.p, 3);
		code[3] = '\0';
		if (!refdata_stato_by_istat(c->rd, code))
			return fail(c, "cittadinanze", "codice di stato %s sconosciuto", code);
		for (size_t prev = 0; prev < start; prev += 4)
			if (!memcmp(f->p + prev, code, 3))
				return fail(c, "cittadinanze", "stato %s ripetuto", code);
		if (k < f->n && ++k == f->n)
			return fail(c, "cittadinanze", "termina con ','");
	}
	memcpy(out, f->p, f->n);
	out[f->n] = '\0';
	return true;
}

static bool parse_person(struct ctx *c, struct store_person *p)
{
	static const int civil[] = {1, 2, 3, 4, 6, 7, 8, 9, 0};
	if (c->nf != 21)
		return fail(c, "", "il record PER ha %d campi invece di 21", c->nf);
	memset(p, 0, sizeof *p);
	memcpy(p->comune, c->hdr->comune, sizeof p->comune);
	struct cf_decoded d;
	if (!local_id(c, 1, "identificativo della persona", true, p->id) ||
	    !date(c, 2, "valido dal", true, &p->valid_from) ||
	    !cf_field(c, 3, "codice fiscale", true, p->cf, &d) ||
	    !name_field(c, 4, "cognome", p->surname) ||
	    !name_field(c, 5, "nome", p->name))
		return false;
	if (is(&c->f[6], "M") || is(&c->f[6], "F"))
		p->sex = c->f[6].p[0];
	else
		return fail(c, "sesso", "deve essere M o F");
	if (!date(c, 7, "data di nascita", true, &p->birth_date) ||
	    !place(c, 8, "luogo di nascita", true, p->birth_place) ||
	    !citizenships(c, 9, p->citizenships) ||
	    !number(c, 10, "stato civile", true, 1, 9, civil, &p->civil_status) ||
	    !date(c, 11, "data dello stato civile", false, &p->civil_status_date) ||
	    !cf_field(c, 12, "padre", false, p->father_cf, NULL) ||
	    !cf_field(c, 13, "madre", false, p->mother_cf, NULL) ||
	    !number(c, 14, "motivo di iscrizione", true, 1, 10, NULL, &p->reg_reason) ||
	    !date(c, 15, "data di iscrizione", true, &p->reg_date) ||
	    !number(c, 16, "motivo di cancellazione", false, 1, 13, NULL, &p->canc_reason) ||
	    !date(c, 17, "data di cancellazione", false, &p->canc_date) ||
	    !place(c, 18, "destinazione", false, p->destination) ||
	    !local_id(c, 19, "identificativo della famiglia", false, p->family_id) ||
	    !number(c, 20, "relazione di parentela", false, 1, 99, NULL, &p->relationship))
		return false;
	if (!cf_consistent(c, p, &d))
		return false;
	bool needs_date = p->civil_status != 1 && p->civil_status != 9;
	if (needs_date && !p->civil_status_date)
		return fail(c, "data dello stato civile", "è obbligatorio con lo stato civile %d", p->civil_status);
	if (!needs_date && p->civil_status_date)
		return fail(c, "data dello stato civile", "deve essere vuoto con lo stato civile %d", p->civil_status);
	if (p->civil_status_date && p->civil_status_date < p->birth_date)
		return fail(c, "data dello stato civile", "è anteriore alla data di nascita");
	if (p->valid_from < p->birth_date)
		return fail(c, "valido dal", "è anteriore alla data di nascita");
	if (p->reg_date < p->birth_date)
		return fail(c, "data di iscrizione", "è anteriore alla data di nascita");
	if (!p->canc_reason != !p->canc_date)
		return fail(c, "data di cancellazione", "motivo e data di cancellazione vanno indicati insieme");
	if (p->canc_date && p->canc_date < p->reg_date)
		return fail(c, "data di cancellazione", "è anteriore alla data di iscrizione");
	bool moved = p->canc_reason == 3 || p->canc_reason == 8;
	if (moved && !p->destination[0])
		return fail(c, "destinazione", "è obbligatorio con il motivo di cancellazione %d", p->canc_reason);
	if (!moved && p->destination[0])
		return fail(c, "destinazione", "deve essere vuoto con questo motivo di cancellazione");
	if (moved && (strlen(p->destination) == 6) != (p->canc_reason == 3))
		return fail(c, "destinazione", "il motivo 3 richiede un comune, il motivo 8 uno stato");
	if (!p->canc_reason && !p->family_id[0])
		return fail(c, "identificativo della famiglia", "è obbligatorio finché la persona è iscritta");
	if (p->relationship > 28 && p->relationship != 99)
		return fail(c, "relazione di parentela", "codice %d sconosciuto", p->relationship);
	if (!p->family_id[0] != !p->relationship)
		return fail(c, "relazione di parentela", "famiglia e rapporto di parentela vanno indicati insieme");
	if (!strcmp(p->cf, p->father_cf) || !strcmp(p->cf, p->mother_cf))
		return fail(c, "padre", "una persona non può essere genitore di sé stessa");
	return true;
}

static bool parse_event(struct ctx *c, struct store_event *ev)
{
	if (c->nf != 7)
		return fail(c, "", "il record EVT ha %d campi invece di 7", c->nf);
	memset(ev, 0, sizeof *ev);
	memcpy(ev->comune, c->hdr->comune, sizeof ev->comune);
	if (!local_id(c, 1, "identificativo dell'evento", true, ev->id))
		return false;
	const char *const *t = record_event_types;
	while (*t && !is(&c->f[2], *t))
		t++;
	if (!*t)
		return fail(c, "tipo di evento", "tipo di evento sconosciuto");
	STR_COPY_KNOWN(ev->type, *t); /* record_event_types: the longest has 19 bytes */
	if (!date(c, 3, "data", true, &ev->date) ||
	    !local_id(c, 4, "identificativo della persona", true, ev->person_id) ||
	    !place(c, 5, "luogo", false, ev->place) ||
	    !cf_field(c, 6, "altra persona", false, ev->other_cf, NULL))
		return false;
	bool migration = !strcmp(ev->type, "IMMIGRAZIONE") || !strcmp(ev->type, "EMIGRAZIONE");
	if (migration && !ev->place[0])
		return fail(c, "luogo", "è obbligatorio per %s", ev->type);
	if (!migration && ev->place[0])
		return fail(c, "luogo", "deve essere vuoto per %s", ev->type);
	bool couple = !strcmp(ev->type, "MATRIMONIO") || !strcmp(ev->type, "DIVORZIO") ||
		      !strcmp(ev->type, "VEDOVANZA") || !strcmp(ev->type, "UNIONE_CIVILE") ||
		      !strcmp(ev->type, "SCIOGLIMENTO_UNIONE");
	if (!couple && ev->other_cf[0])
		return fail(c, "altra persona", "deve essere vuoto per %s", ev->type);
	return true;
}

bool record_parse(const char *line, size_t len, const struct refdata *rd,
		  const struct record_header *hdr, struct record *out,
		  struct record_problem *why)
{
	struct ctx c = {.rd = rd, .hdr = hdr, .why = why};
	why->field[0] = why->reason[0] = '\0';
	if (len > IMPORT_MAX_LINE)
		return fail(&c, "", "riga più lunga di %d byte", IMPORT_MAX_LINE);
	if (len && line[len - 1] == '\r')
		return fail(&c, "", "la riga termina con CR: le righe devono terminare solo con LF");
	if (!utf8_valid(line, len)) {
		/* TAB is the one control character allowed: check field by field. */
		size_t start = 0;
		int field = 1;
		for (size_t k = 0; k <= len; k++) {
			if (k < len && line[k] != '\t')
				continue;
			uint32_t cp;
			if (text_bidi_find(line + start, k - start, &cp))
				return fail(&c, "", "il campo %d contiene il controllo di direzione U+%04X: il "
					    "testo sarebbe mostrato in un ordine diverso da quello registrato",
					    field, (unsigned)cp);
			if (!utf8_valid(line + start, k - start))
				return fail(&c, "", "UTF-8 non valido o carattere di controllo");
			start = k + 1;
			field++;
		}

	}
	size_t start = 0;
	for (size_t k = 0; k <= len; k++) {
		if (k < len && line[k] != '\t')
			continue;
		if (c.nf == IMPORT_MAX_FIELDS)
			return fail(&c, "", "più di %d campi", IMPORT_MAX_FIELDS);
		c.f[c.nf].p = line + start;
		c.f[c.nf].n = k - start;
		c.nf++;
		start = k + 1;
	}
	const struct field *tag = &c.f[0];
	if (!hdr) {
		out->type = REC_HDR;
		if (!is(tag, "HDR"))
			return fail(&c, "", "il file deve iniziare con un record HDR");
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
			return fail(&c, "", "il record END ha %d campi invece di 2", c.nf);
		if (!number(&c, 1, "numero di record", true, 0, 999999999, NULL, &n))
			return false;
		out->u.end_count = n;
		return true;
	}
	if (is(tag, "HDR"))
		return fail(&c, "", "un secondo record HDR");
	return fail(&c, "", "tipo di record sconosciuto");
}
