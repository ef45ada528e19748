#define _GNU_SOURCE /* pthread_setname_np */
#include "import/import.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/date.h"
#include "common/fsmode.h"
#include "common/strset.h"
#include "refdata/refdata.h"
#include "common/str.h"

#define READ_CHUNK (1u << 20)

/* Splits a stream into lines of at most IMPORT_MAX_LINE bytes; longer lines
 * are reported as such and skipped, never buffered whole. */
struct line_reader {
	FILE *in;
	char *buf;
	size_t start, end;
	bool eof;
	int64_t bytes;
	crypto_hash_sha256_state sha;
};

enum line_status { LINE_OK, LINE_TOO_LONG, LINE_NO_LF, LINE_EOF, LINE_IO };

static enum line_status line_next(struct line_reader *r, const char **line, size_t *len)
{
	bool too_long = false;
	for (;;) {
		char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
		if (nl) {
			*line = r->buf + r->start;
			*len = (size_t)(nl - *line);
			r->start = (size_t)(nl - r->buf) + 1;
			if (too_long || *len > IMPORT_MAX_LINE)
				return LINE_TOO_LONG;
			return LINE_OK;
		}
		if (r->end - r->start > IMPORT_MAX_LINE) {
			/* Drop what we have of an over-long line. */
			too_long = true;
			r->start = r->end;
		}
		if (r->eof) {
			if (r->start == r->end)
				return too_long ? LINE_TOO_LONG : LINE_EOF;
			*line = r->buf + r->start;
			*len = r->end - r->start;
			r->start = r->end;
			return too_long ? LINE_TOO_LONG : LINE_NO_LF;
		}
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
		size_t got = fread(r->buf + r->end, 1, READ_CHUNK - r->end, r->in);
		if (got == 0) {
			if (ferror(r->in))
				return LINE_IO;
			r->eof = true;
		}
		crypto_hash_sha256_update(&r->sha, (unsigned char *)r->buf + r->end, got);
		r->end += got;
		r->bytes += (int64_t)got;
	}
}

static void hex(const unsigned char *d, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * n] = '\0';
}

static vis_err file_sha256(FILE *in, char out[65], struct vis_error *e)
{
	crypto_hash_sha256_state st;
	unsigned char buf[1 << 16], digest[crypto_hash_sha256_BYTES];
	size_t n;
	if (fseek(in, 0, SEEK_SET) != 0)
		return vis_error_set(e, VIS_ERR_IO, "il file di importazione non può essere riletto (non è posizionabile)");
	crypto_hash_sha256_init(&st);
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		crypto_hash_sha256_update(&st, buf, n);
	if (ferror(in))
		return vis_error_set(e, VIS_ERR_IO, "errore di lettura");
	crypto_hash_sha256_final(&st, digest);
	hex(digest, sizeof digest, out);
	return VIS_OK;
}

static void progress(const struct import_options *opt, int64_t bytes, int64_t records, bool last)
{
	if (!opt->progress)
		return;
	int64_t total = opt->size_hint;
	int pct = total > 0 ? (int)(bytes * 100 / total) : 0;
	if (last)
		pct = 100;
	char bar[41];
	int fill = pct * 40 / 100;
	for (int i = 0; i < 40; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[40] = '\0';
	fprintf(stderr, "\rimport [%s] %3d%%  %lld records", bar, pct, (long long)records);
	if (last)
		fputc('\n', stderr);
	fflush(stderr);
}

/* The file is read by two threads: the reader (parsing, per-record rules,
 * duplicates, order, the END count: everything that needs no database) and
 * the writer (the caller's thread: the header's checks against the feed,
 * the look-ups in the register, the writes, the reject report).  The reader
 * hands the writer one item per line, in line order, through a bounded
 * ring, so the writer sees what a single pass would see and every problem
 * is reported in line order by the writer alone. */

enum item_kind {
	ITEM_RECORD,   /* a record that passed the reader's rules */
	ITEM_PROBLEM,  /* a problem of that line */
	ITEM_STOP,     /* nothing more: the reader has finished */
	ITEM_ERROR,    /* the reader failed (read error, memory) */
};

struct item {
	enum item_kind kind;
	int64_t line;
	bool unknown_ref;  /* PER: household not in the file; EVT: person not in the file */
	union {
		struct record rec;
		struct {
			char type[4];
			char field[32];
			char reason[200];
		} prob;
		struct {
			vis_err code;
			char msg[sizeof(((struct vis_error *)0)->msg)];
		} err;
	} u;
};

#define RING_ITEMS 2048u  /* power of two: about 1.5 MB of records in flight */
#define RING_BATCH 64u    /* items published or released at once */

/* One producer (the reader), one consumer (the writer). */
struct ring {
	pthread_mutex_t mu;
	pthread_cond_t can_put, can_take;
	struct item *items;
	uint64_t head;      /* items published */
	uint64_t tail;      /* items released */
	bool stop;          /* the writer is done: the reader stops */
	int verdict;        /* after the header: 0 pending, 1 go on, -1 stop */
	/* reader side, unlocked */
	uint64_t next, tail_seen;
	/* writer side, unlocked */
	uint64_t pos, head_seen;
};

/* The reader's state: everything it owns while it walks the file. */
struct reader {
	struct line_reader lr;
	const struct refdata *rd;
	const struct import_options *opt;
	struct ring *q;
	struct record_header hdr;
	bool have_header;
	bool ended;
	int phase;               /* highest record type seen so far */
	int64_t lineno;
	int64_t records;
	int64_t families, persons, events;  /* records counted, as in the result */
	struct strset ids[3], cfs;          /* families, persons, events */
};

/* A slot for the next item, or NULL when the writer has stopped. */
static struct item *ring_slot(struct ring *q)
{
	if (q->next - q->tail_seen >= RING_ITEMS) {
		pthread_mutex_lock(&q->mu);
		q->head = q->next;
		pthread_cond_signal(&q->can_take);
		while (q->next - q->tail >= RING_ITEMS && !q->stop)
			pthread_cond_wait(&q->can_put, &q->mu);
		q->tail_seen = q->tail;
		pthread_mutex_unlock(&q->mu);
	}
	if (__atomic_load_n(&q->stop, __ATOMIC_RELAXED))
		return NULL;
	return &q->items[q->next & (RING_ITEMS - 1)];
}

static void ring_publish(struct ring *q)
{
	pthread_mutex_lock(&q->mu);
	q->head = q->next;
	pthread_cond_signal(&q->can_take);
	pthread_mutex_unlock(&q->mu);
}

/* Commits the slot of ring_slot(). */
static void ring_put(struct ring *q)
{
	q->next++;
	if (q->next % RING_BATCH == 0)
		ring_publish(q);
}

/* The next item for the writer (waits for the reader). */
static const struct item *ring_take(struct ring *q)
{
	if (q->pos == q->head_seen) {
		pthread_mutex_lock(&q->mu);
		q->tail = q->pos;
		pthread_cond_signal(&q->can_put);
		while (q->head == q->pos)
			pthread_cond_wait(&q->can_take, &q->mu);
		q->head_seen = q->head;
		pthread_mutex_unlock(&q->mu);
	}
	return &q->items[q->pos & (RING_ITEMS - 1)];
}

static void ring_done(struct ring *q)
{
	q->pos++;
	if (q->pos % RING_BATCH == 0) {
		pthread_mutex_lock(&q->mu);
		q->tail = q->pos;
		pthread_cond_signal(&q->can_put);
		pthread_mutex_unlock(&q->mu);
	}
}

/* The writer tells the reader to stop (after an error or a refused header). */
static void ring_stop(struct ring *q)
{
	pthread_mutex_lock(&q->mu);
	__atomic_store_n(&q->stop, true, __ATOMIC_RELAXED);
	if (q->verdict == 0)
		q->verdict = -1;
	pthread_cond_broadcast(&q->can_put);
	pthread_mutex_unlock(&q->mu);
}

/* ---- the reader ---- */

static bool rd_problem(struct reader *d, int64_t line, const char *type, const char *field,
		       const char *reason)
{
	struct item *it = ring_slot(d->q);
	if (!it)
		return false;
	it->kind = ITEM_PROBLEM;
	it->line = line;
	STR_COPY_KNOWN(it->u.prob.type, type);   /* record tags, at most 3 bytes */
	STR_COPY_KNOWN(it->u.prob.field, field); /* field names of the format */
	STR_COPY_KNOWN(it->u.prob.reason, reason); /* reasons are built in 200 bytes */
	ring_put(d->q);
	return true;
}

static void rd_error(struct reader *d, vis_err code, const char *msg)
{
	struct item *it = ring_slot(d->q);
	if (!it)
		return;
	it->kind = ITEM_ERROR;
	it->line = d->lineno;
	it->u.err.code = code;
	STR_COPY_KNOWN(it->u.err.msg, msg); /* short messages of this file */
	ring_put(d->q);
}

/* Adds s to set: 1 added, 0 a duplicate (problem recorded), -1 out of memory. */
static int rd_unique(struct reader *d, struct strset *set, const char *s, const char *type,
		     const char *field, const char *reason)
{
	int added = strset_add(set, s, strlen(s));
	if (added < 0)
		rd_error(d, VIS_ERR_NOMEM, "memoria esaurita");
	else if (added == 0)
		rd_problem(d, d->lineno, type, field, reason);
	return added;
}

/* The reader's rules for one record; false to stop. */
static bool rd_record(struct reader *d, struct record *rec)
{
	bool unknown = false;
	int added;
	switch (rec->type) {
	case REC_FAM:
		added = rd_unique(d, &d->ids[0], rec->u.fam.id, "FAM", "identificativo della famiglia",
				  "identificativo di famiglia duplicato nel file");
		if (added <= 0)
			return added == 0;
		d->families++;
		break;
	case REC_PER: {
		const struct store_person *p = &rec->u.per;
		added = rd_unique(d, &d->ids[1], p->id, "PER", "identificativo della persona",
				  "identificativo di persona duplicato nel file");
		if (added > 0)
			added = rd_unique(d, &d->cfs, p->cf, "PER", "codice fiscale",
					  "codice fiscale duplicato nel file");
		if (added <= 0)
			return added == 0;
		d->persons++;
		unknown = p->family_id[0] &&
			  !strset_has(&d->ids[0], p->family_id, strlen(p->family_id));
		break;
	}
	case REC_EVT:
		added = rd_unique(d, &d->ids[2], rec->u.evt.id, "EVT", "identificativo dell'evento",
				  "identificativo di evento duplicato nel file");
		if (added <= 0)
			return added == 0;
		d->events++;
		unknown = !strset_has(&d->ids[1], rec->u.evt.person_id,
				      strlen(rec->u.evt.person_id));
		break;
	case REC_HDR:
	case REC_END:
		break;
	}
	struct item *it = ring_slot(d->q);
	if (!it)
		return false;
	it->kind = ITEM_RECORD;
	it->line = d->lineno;
	it->unknown_ref = unknown;
	it->u.rec = *rec;
	ring_put(d->q);
	return true;
}

/* Waits for the writer's verdict on the header: true to go on. */
static bool rd_header_verdict(struct reader *d)
{
	struct ring *q = d->q;
	ring_publish(q);
	pthread_mutex_lock(&q->mu);
	while (q->verdict == 0)
		pthread_cond_wait(&q->can_put, &q->mu);
	bool go = q->verdict > 0;
	pthread_mutex_unlock(&q->mu);
	return go;
}

/* One line; false when the walk is over. */
static bool rd_line(struct reader *d)
{
	const char *line;
	size_t len;
	enum line_status ls = line_next(&d->lr, &line, &len);
	if (ls == LINE_EOF) {
		if (!d->have_header && d->lineno == 0)
			rd_problem(d, 0, "", "", "il file è vuoto");
		else if (!d->ended)
			rd_problem(d, d->lineno, "", "", "manca il record END: il file è troncato");
		return false;
	}
	if (ls == LINE_IO) {
		char msg[64];
		snprintf(msg, sizeof msg, "errore di lettura dopo la riga %lld", (long long)d->lineno);
		rd_error(d, VIS_ERR_IO, msg);
		return false;
	}
	d->lineno++;
	if ((d->lineno & 0xFFFF) == 0)
		progress(d->opt, d->lr.bytes, d->records, false);
	if (ls == LINE_TOO_LONG) {
		char msg[64];
		snprintf(msg, sizeof msg, "riga più lunga di %d byte", IMPORT_MAX_LINE);
		return rd_problem(d, d->lineno, "", "", msg) && d->have_header;
	}
	if (ls == LINE_NO_LF) {
		rd_problem(d, d->lineno, "", "", "l'ultima riga non termina con LF: il file è troncato");
		return false;
	}
	if (d->ended) {
		rd_problem(d, d->lineno, "", "", "dati dopo il record END");
		return false;
	}
	struct record rec;
	struct record_problem why;
	if (!record_parse(line, len, d->rd, d->have_header ? &d->hdr : NULL, &rec, &why)) {
		const char *type = d->have_header ? "" : "HDR";
		char tag[4] = "";
		if (len >= 3 && (len == 3 || line[3] == '\t')) {
			memcpy(tag, line, 3);
			type = tag;
		}
		return rd_problem(d, d->lineno, type, why.field, why.reason) && d->have_header;
	}
	if (rec.type == REC_HDR) {
		d->hdr = rec.u.hdr;
		d->have_header = true;
		struct item *it = ring_slot(d->q);
		if (!it)
			return false;
		it->kind = ITEM_RECORD;
		it->line = d->lineno;
		it->u.rec = rec;
		ring_put(d->q);
		return rd_header_verdict(d);
	}
	if ((int)rec.type < d->phase) {
		char msg[96];
		/* record types' names, constants */
		STR_FMT_KNOWN(msg, "i record %s devono precedere i record %s",
			      record_type_name(rec.type),
			      record_type_name((enum record_type)d->phase));
		return rd_problem(d, d->lineno, record_type_name(rec.type), "", msg);
	}
	d->phase = (int)rec.type;
	if (rec.type == REC_END) {
		d->ended = true;
		if (rec.u.end_count != d->records) {
			char msg[128];
			snprintf(msg, sizeof msg,
				 "il record END conta %lld record ma il file ne ha %lld: file troncato o alterato",
				 (long long)rec.u.end_count, (long long)d->records);
			return rd_problem(d, d->lineno, "END", "numero di record", msg);
		}
		return true;
	}
	d->records++;
	return rd_record(d, &rec);
}

/* Everything one import run keeps while it walks the file. */
struct run {
	struct store *s;
	const struct refdata *rd;
	const struct import_options *opt;
	struct import_result *res;
	struct vis_error *e;
	FILE *in;                /* the file, re-read to recognise one already loaded */
	FILE *rejects;
	bool in_txn;
	bool bulk;
	int64_t import_id;
	struct store_import imp;
	/* A bulk load's persons, held (in line order) until their codici
	 * fiscali are looked up in other municipalities at once (held_flush):
	 * on PostgreSQL one round trip, and one end of the load's COPY, for
	 * STORE_CF_BATCH persons instead of one for each.  Not where the store
	 * looks them up one at a time anyway (SQLite: holding them measured
	 * 15% slower, docs/performance.md).  In an import that is not a bulk
	 * load, the persons are held the same way until the owners of their
	 * codici fiscali in the municipality (owner), where those are
	 * registered elsewhere (other) and their current versions (pcur) are
	 * looked up at once (held_flush_current): three round trips for
	 * STORE_CF_BATCH persons instead of three for each; and the
	 * households until their current versions are (families_flush). */
	struct held_person {
		int64_t line;
		struct store_person p;
	} *held;
	int nheld;
	char (*other)[7];
	char (*owner)[STORE_ID_MAX];
	struct store_person_current *pcur;
	bool *wrote;             /* held person i was written (held_flush_current) */
	struct held_family {
		int64_t line;
		struct store_family f;
	} *held_fam;
	int nheld_fam;
	struct store_family_current *fcur;
	/* The events of an import that is not a bulk load, held the same way
	 * until their ids, and the persons not in the file, are looked up at
	 * once (events_flush): on PostgreSQL two round trips at most for
	 * STORE_EVENT_BATCH events instead of one or two each.  The look-ups
	 * read stored events and persons of this municipality; the events
	 * come after every person of the file, and the import writes no event
	 * with the id of another of its file (the reader refuses a repeated
	 * id), so holding the writes changes no answer.  A bulk load looks no
	 * event up (store_event_put). */
	struct held_event {
		int64_t line;
		bool unknown_person;   /* its person is not in the file */
		struct store_event ev;
	} *held_ev;
	int nheld_ev;
	struct store_event *stored;
	bool *person_found;
};

static void problem(struct run *r, int64_t line, const char *type, const char *field,
		    const char *reason)
{
	r->res->problems++;
	if (r->res->problems > IMPORT_MAX_PROBLEMS)
		return;
	if (r->opt->on_problem)
		r->opt->on_problem(r->opt->problem_ctx, line, type, field, reason);
	if (!r->opt->rejects_path)
		return;
	if (!r->rejects) {
		/* checked before the import began (fsmode_replaceable); opened
		 * here without following a link or blocking on a FIFO */
		struct vis_error oe = {0};
		if (r->res->rejects_error[0])
			return;
		r->rejects = fsmode_fopen_write(r->opt->rejects_path, "--rejects", &oe);
		if (!r->rejects) {
			STR_COPY_KNOWN(r->res->rejects_error, oe.msg); /* both 512 */
			return;
		}
		fputs("riga\trecord\tcampo\tmotivo\n", r->rejects);
	}
	fprintf(r->rejects, "%lld\t%s\t%s\t%s\n", (long long)line, type, field, reason);
}

/* A file named after the convention COMUNE-SEQUENCE-KIND.tsv (as `visura
 * gen` writes them; a name that starts with 6 digits and '-' is taken to
 * follow it) must say in its header what its name says.  False after
 * recording a problem. */
static bool name_agrees(struct run *r)
{
	const struct record_header *h = &r->res->hdr;
	const char *name = r->opt->source ? r->opt->source : "";
	char msg[200];
	if (strlen(name) < 7 || strspn(name, "0123456789") != 6 || name[6] != '-')
		return true;
	if (memcmp(name, h->comune, 6)) {
		STR_FMT_KNOWN(msg,
			      "il nome del file indica il comune %.6s, l'intestazione il comune %s",
			      name, h->comune); /* %.6s and comune[7] */
		problem(r, 1, "HDR", "comune", msg);
		return false;
	}
	const char *p = name + 7;
	size_t digits = strspn(p, "0123456789");
	if (!digits || digits > 9 || p[digits] != '-')
		return true;
	long long seq = strtoll(p, NULL, 10);
	const char *kind = p + digits + 1;
	bool full = !strncmp(kind, "FULL.", 5), delta = !strncmp(kind, "DELTA.", 6);
	if (seq != h->seq) {
		snprintf(msg, sizeof msg, "il nome del file indica la sequenza %lld, l'intestazione la sequenza %lld", seq,
			 (long long)h->seq);
		problem(r, 1, "HDR", "sequenza", msg);
		return false;
	}
	if ((full || delta) && full != h->full) {
		/* fixed words */
		STR_FMT_KNOWN(msg, "il nome del file indica un file %s, l'intestazione un file %s",
			      full ? "FULL" : "DELTA", h->full ? "FULL" : "DELTA");
		problem(r, 1, "HDR", "tipo di file", msg);
		return false;
	}
	return true;
}

/* Checks the header against the feed state.  Returns VIS_OK to go on,
 * VIS_ERR_INVALID after recording a problem, or a store error. */
static vis_err check_sequence(struct run *r, FILE *in)
{
	const struct record_header *h = &r->res->hdr;
	struct store_feed feed;
	bool found;
	char msg[200];
	if (store_feed_get(r->s, h->comune, &feed, &found, r->e))
		return VIS_ERR_STORE;
	if (!found) {
		if (h->full)
			return VIS_OK;
		problem(r, 1, "HDR", "tipo di file", "il primo file di un comune deve essere FULL");
		return VIS_ERR_INVALID;
	}
	if (h->seq <= feed.last_seq) {
		char stored[65], mine[65];
		bool loaded;
		if (store_import_sha(r->s, h->comune, h->seq, stored, &loaded, r->e))
			return VIS_ERR_STORE;
		if (loaded) {
			if (file_sha256(in, mine, r->e))
				return VIS_ERR_IO;
			if (!strcmp(stored, mine)) {
				r->res->already_loaded = true;
				memcpy(r->res->sha256, mine, sizeof mine);
				return VIS_OK;
			}
			snprintf(msg, sizeof msg,
				 "la sequenza %lld è già stata caricata con un contenuto diverso",
				 (long long)h->seq);
		} else {
			snprintf(msg, sizeof msg,
				 "la sequenza %lld è precedente a quelle già caricate (ultima sequenza %lld)",
				 (long long)h->seq, (long long)feed.last_seq);
		}
		problem(r, 1, "HDR", "sequenza", msg);
		return VIS_ERR_INVALID;
	}
	if (!h->full && h->seq != feed.last_seq + 1) {
		snprintf(msg, sizeof msg,
			 "sequenza interrotta: attesa la %lld, ricevuta la %lld (caricare prima i file mancanti)",
			 (long long)feed.last_seq + 1, (long long)h->seq);
		problem(r, 1, "HDR", "sequenza", msg);
		return VIS_ERR_INVALID;
	}
	if (h->extract < feed.last_extract) {
		problem(r, 1, "HDR", "ora dell'estrazione",
			"l'ora di estrazione è precedente a quella dell'ultimo file caricato");
		return VIS_ERR_INVALID;
	}
	return VIS_OK;
}

static vis_err start(struct run *r)
{
	const struct record_header *h = &r->res->hdr;
	memcpy(r->imp.comune, h->comune, sizeof r->imp.comune);
	r->imp.seq = h->seq;
	r->imp.extract = h->extract;
	r->imp.full = h->full;
	if (STR_SET(r->imp.source, r->opt->source ? r->opt->source : "", "nome del file", r->e))
		return VIS_ERR_LIMIT;
	bool empty;
	r->in_txn = true;
	if (store_import_start(r->s, &r->imp, &r->import_id, &empty, r->e))
		return VIS_ERR_STORE;
	r->bulk = empty && h->full;
	if (!store_batched(r->s))
		return VIS_OK;
	if (!(r->held = malloc(STORE_CF_BATCH * sizeof *r->held)) ||
	    !(r->other = malloc(STORE_CF_BATCH * sizeof *r->other)) ||
	    (!r->bulk &&
	     (!(r->owner = malloc(STORE_CF_BATCH * sizeof *r->owner)) ||
	      !(r->pcur = malloc(STORE_CF_BATCH * sizeof *r->pcur)) ||
	      !(r->wrote = malloc(STORE_CF_BATCH * sizeof *r->wrote)) ||
	      !(r->held_fam = malloc(STORE_CF_BATCH * sizeof *r->held_fam)) ||
	      !(r->fcur = malloc(STORE_CF_BATCH * sizeof *r->fcur)) ||
	      !(r->held_ev = malloc(STORE_EVENT_BATCH * sizeof *r->held_ev)) ||
	      !(r->stored = malloc(STORE_EVENT_BATCH * sizeof *r->stored)) ||
	      !(r->person_found = malloc(STORE_EVENT_BATCH * sizeof *r->person_found)))))
		return vis_error_set(r->e, VIS_ERR_NOMEM, "memoria esaurita");
	return VIS_OK;
}

static void count(struct run *r, enum store_put_result pr)
{
	struct store_import_counts *c = &r->res->counts;
	if (pr == STORE_INSERTED)
		c->inserted++;
	else if (pr == STORE_UPDATED)
		c->updated++;
	else
		c->unchanged++;
}

/* Store errors that are about the record (a constraint) become problems of
 * that line; anything else stops the run. */
static vis_err put_result(struct run *r, vis_err rc, int64_t line, const char *type,
			  struct vis_error *local)
{
	if (rc == VIS_OK)
		return VIS_OK;
	if (rc == VIS_ERR_CONFLICT || rc == VIS_ERR_INVALID) {
		problem(r, line, type, "", local->msg);
		return VIS_OK;
	}
	vis_error_set(r->e, rc, "%s", local->msg);
	return rc;
}


/* ---- the writer ---- */

/* A household, its current version looked up (cur; NULL: the put looks
 * it up, or none in a bulk load). */
static vis_err family_write(struct run *r, int64_t line, const struct store_family *f,
			    const struct store_family_current *cur)
{
	if (r->res->problems)
		return VIS_OK;
	struct vis_error local = {0};
	enum store_put_result pr;
	vis_err rc = store_family_put(r->s, r->import_id, r->bulk, f, cur, &pr, &local);
	if (rc == VIS_OK)
		count(r, pr);
	return put_result(r, rc, line, "FAM", &local);
}

/* The households held: their current versions looked up at once, then
 * each taken in line order, as if one at a time (a current version is
 * the row of the household's own id, which only that record writes: the
 * reader refuses an id repeated in a file). */
static vis_err families_flush(struct run *r)
{
	const char *ids[STORE_CF_BATCH] = {NULL};
	int n = r->nheld_fam;
	r->nheld_fam = 0;
	for (int i = 0; i < n; i++)
		ids[i] = r->held_fam[i].f.id;
	if (!r->res->problems &&
	    store_families_current(r->s, r->held_fam[0].f.comune, n, ids, r->fcur, r->e))
		return VIS_ERR_STORE;
	for (int i = 0; i < n; i++) {
		vis_err rc = family_write(r, r->held_fam[i].line, &r->held_fam[i].f, &r->fcur[i]);
		if (rc != VIS_OK)
			return rc;
	}
	return VIS_OK;
}

static vis_err take_family(struct run *r, int64_t line, const struct store_family *f)
{
	vis_err rc;
	if (r->nheld_fam && (r->nheld_fam == STORE_CF_BATCH ||
			     strcmp(r->held_fam[0].f.comune, f->comune)) &&
	    (rc = families_flush(r)) != VIS_OK)
		return rc;
	if (r->held_fam) {
		r->held_fam[r->nheld_fam++] = (struct held_family){line, *f};
		return VIS_OK;
	}
	return family_write(r, line, f, NULL);
}

/* A person whose codice fiscale was looked up in other municipalities
 * (other: where it is registered; "" nowhere, or not looked up because
 * the person is cancelled here); cur: its current version looked up
 * (NULL: the put looks it up, or none in a bulk load); *wrote, when
 * wrote is given, tells whether it was written. */
static vis_err person_write(struct run *r, int64_t line, const struct store_person *p,
			    const char *other, const struct store_person_current *cur,
			    bool *wrote)
{
	if (*other) {
		const struct ref_comune *c = refdata_comune_by_istat(r->rd, other, 0);
		char msg[360]; /* the sentence, 6 digits and a name of the reference table */
		/* 6 digits and a name of the reference table */
		STR_FMT_KNOWN(msg,
			      "codice fiscale iscritto nel comune %s%s%s%s: occorre prima la "
			      "cancellazione in quel comune (emigrazione)",
			      other, c ? " (" : "", c ? c->name : "", c ? ")" : "");
		problem(r, line, "PER", "codice fiscale", msg);
		return VIS_OK;
	}
	if (r->res->problems)
		return VIS_OK;
	struct vis_error local = {0};
	enum store_put_result pr;
	vis_err rc = store_person_put(r->s, r->import_id, r->bulk, p, cur, &pr, &local);
	if (rc == VIS_OK) {
		count(r, pr);
		if (wrote)
			*wrote = true;
	}
	return put_result(r, rc, line, "PER", &local);
}

/* The persons held: the codici fiscali of those registered here looked up
 * at once, then each person taken in line order, as if one at a time
 * (the look-up reads other municipalities only, which the import does not
 * write). */
static vis_err held_flush(struct run *r)
{
	const char *cfs[STORE_CF_BATCH];
	int n = r->nheld, m = 0;
	r->nheld = 0;
	for (int i = 0; i < n; i++)
		if (!r->held[i].p.canc_reason)
			cfs[m++] = r->held[i].p.cf;
	if (m && store_person_cf_elsewhere(r->s, r->held[0].p.comune, m, cfs, r->other, r->e))
		return VIS_ERR_STORE;
	m = 0;
	for (int i = 0; i < n; i++) {
		const struct held_person *h = &r->held[i];
		vis_err rc = person_write(r, h->line, &h->p, h->p.canc_reason ? "" : r->other[m++],
					  NULL, NULL);
		if (rc != VIS_OK)
			return rc;
	}
	return VIS_OK;
}

/* Whether held person i's codice fiscale belongs to another person of
 * the municipality, as a look-up of its own after the batch's earlier
 * writes would answer: owner[i] is its owner before them.  No earlier
 * person of the file takes it (the reader refuses a codice fiscale
 * repeated in a file); one may give it up: the owner, written earlier in
 * the batch, now holds the codice fiscale of its record. */
static bool cf_taken(const struct run *r, int i)
{
	const char *owner = r->owner[i];
	const struct store_person *p = &r->held[i].p;
	if (!*owner || !strcmp(owner, p->id))
		return false;
	for (int j = 0; j < i; j++)
		if (r->wrote[j] && !strcmp(r->held[j].p.id, owner))
			return !strcmp(r->held[j].p.cf, p->cf);
	return true;
}

/* The persons held in an import that is not a bulk load: the owners of
 * their codici fiscali here, where those are registered elsewhere, and
 * their current versions looked up at once, then each person taken in
 * line order as take_person takes one.  The answers are the register's
 * before the batch's writes, and each is what the person's own look-up
 * would read after the earlier ones: the current version is the row of
 * the person's own id, which only that record writes (the reader refuses
 * an id repeated in a file); other municipalities are not written by the
 * import; the owner is corrected by the batch's writes (cf_taken). */
/* The refusal of a codice fiscale another person of the municipality has,
 * one at a time (take_person) or a batch at a time (held_flush_current). */
#define CF_TAKEN "codice fiscale già attribuito a un'altra persona del comune"

static vis_err held_flush_current(struct run *r)
{
	const char *cfs[STORE_CF_BATCH] = {NULL}, *ids[STORE_CF_BATCH] = {NULL}, *live[STORE_CF_BATCH] = {NULL};
	int n = r->nheld, m = 0;
	r->nheld = 0;
	const char *comune = r->held[0].p.comune;
	for (int i = 0; i < n; i++) {
		cfs[i] = r->held[i].p.cf;
		ids[i] = r->held[i].p.id;
		if (!r->held[i].p.canc_reason)
			live[m++] = r->held[i].p.cf;
	}
	if (store_person_cf_owners(r->s, comune, n, cfs, r->owner, r->e) ||
	    store_person_cf_elsewhere(r->s, comune, m, live, r->other, r->e) ||
	    (!r->res->problems && store_persons_current(r->s, comune, n, ids, r->pcur, r->e)))
		return VIS_ERR_STORE;
	m = 0;
	for (int i = 0; i < n; i++) {
		const struct held_person *h = &r->held[i];
		const char *other = h->p.canc_reason ? "" : r->other[m++];
		r->wrote[i] = false;
		if (cf_taken(r, i)) {
			problem(r, h->line, "PER", "codice fiscale", CF_TAKEN);
			continue;
		}
		vis_err rc = person_write(r, h->line, &h->p, other, &r->pcur[i], &r->wrote[i]);
		if (rc != VIS_OK)
			return rc;
	}
	return VIS_OK;
}

static vis_err take_person(struct run *r, int64_t line, const struct store_person *p,
			   bool unknown_family)
{
	vis_err rc;
	if (r->nheld && (r->nheld == STORE_CF_BATCH || unknown_family ||
			 strcmp(r->held[0].p.comune, p->comune)) &&
	    (rc = r->bulk ? held_flush(r) : held_flush_current(r)) != VIS_OK)
		return rc;
	if (r->held && !unknown_family) {
		r->held[r->nheld++] = (struct held_person){line, *p};
		return VIS_OK;
	}
	if (unknown_family) {
		bool found = false;
		if (!r->res->hdr.full &&
		    store_family_exists(r->s, p->comune, p->family_id, &found, r->e))
			return VIS_ERR_STORE;
		if (!found) {
			problem(r, line, "PER", "identificativo della famiglia",
				r->res->hdr.full ? "famiglia assente dal file"
						 : "famiglia assente sia dal file sia dall'anagrafe");
			return VIS_OK;
		}
	}
	if (!r->bulk) {
		char owner[STORE_ID_MAX];
		bool found;
		if (store_person_cf_owner(r->s, p->comune, p->cf, owner, &found, r->e))
			return VIS_ERR_STORE;
		if (found && strcmp(owner, p->id)) {
			problem(r, line, "PER", "codice fiscale", CF_TAKEN);
			return VIS_OK;
		}
	}
	/* Registered here: not registered in another municipality too. */
	char other[1][7] = {""};
	const char *cf = p->cf;
	if (!p->canc_reason && store_person_cf_elsewhere(r->s, p->comune, 1, &cf, other, r->e))
		return VIS_ERR_STORE;
	return person_write(r, line, p, other[0], NULL, NULL);
}

/* An event, its person found in the file or the register (found), its
 * stored namesake looked up (stored; NULL: the put looks it up, or none
 * in a bulk load). */
static vis_err event_write(struct run *r, int64_t line, const struct store_event *ev, bool found,
			   const struct store_event *stored)
{
	if (!found) {
		problem(r, line, "EVT", "identificativo della persona",
			"persona assente sia dal file sia dall'anagrafe");
		return VIS_OK;
	}
	if (r->res->problems)
		return VIS_OK;
	struct vis_error local = {0};
	enum store_put_result pr;
	vis_err rc = store_event_put(r->s, r->import_id, r->bulk, ev, stored, &pr, &local);
	if (rc == VIS_OK)
		count(r, pr);
	return put_result(r, rc, line, "EVT", &local);
}

/* The events held: the persons not in the file and the events' ids looked
 * up at once, then each event taken in line order, as if one at a time. */
static vis_err events_flush(struct run *r)
{
	const char *ids[STORE_EVENT_BATCH] = {NULL}, *persons[STORE_EVENT_BATCH] = {NULL};
	int n = r->nheld_ev, m = 0;
	r->nheld_ev = 0;
	const char *comune = r->held_ev[0].ev.comune;
	for (int i = 0; i < n; i++) {
		ids[i] = r->held_ev[i].ev.id;
		if (r->held_ev[i].unknown_person)
			persons[m++] = r->held_ev[i].ev.person_id;
	}
	if (store_persons_exist(r->s, comune, m, persons, r->person_found, r->e) ||
	    (!r->res->problems && store_events_get(r->s, comune, n, ids, r->stored, r->e)))
		return VIS_ERR_STORE;
	m = 0;
	for (int i = 0; i < n; i++) {
		const struct held_event *h = &r->held_ev[i];
		bool found = h->unknown_person ? r->person_found[m++] : true;
		vis_err rc = event_write(r, h->line, &h->ev, found, &r->stored[i]);
		if (rc != VIS_OK)
			return rc;
	}
	return VIS_OK;
}

static vis_err take_event(struct run *r, int64_t line, const struct store_event *ev,
			  bool unknown_person)
{
	vis_err rc;
	if (r->nheld_ev && (r->nheld_ev == STORE_EVENT_BATCH ||
			    strcmp(r->held_ev[0].ev.comune, ev->comune)) &&
	    (rc = events_flush(r)) != VIS_OK)
		return rc;
	if (r->held_ev) {
		r->held_ev[r->nheld_ev++] = (struct held_event){line, unknown_person, *ev};
		return VIS_OK;
	}
	bool found = !unknown_person;
	const char *person = ev->person_id;
	if (unknown_person && !r->bulk &&
	    store_persons_exist(r->s, ev->comune, 1, &person, &found, r->e))
		return VIS_ERR_STORE;
	return event_write(r, line, ev, found, NULL);
}

/* The header's checks against the feed; tells the reader whether to go on. */
static vis_err take_header(struct run *r, struct ring *q, const struct record_header *h)
{
	r->res->hdr = *h;
	vis_err rc = VIS_OK;
	bool go = name_agrees(r);
	if (go) {
		rc = check_sequence(r, r->in);
		go = rc == VIS_OK && !r->res->already_loaded;
		if (rc == VIS_ERR_INVALID)
			rc = VIS_OK;
		if (go && (rc = start(r)) != VIS_OK)
			go = false;
	}
	pthread_mutex_lock(&q->mu);
	q->verdict = go ? 1 : -1;
	pthread_cond_broadcast(&q->can_put);
	pthread_mutex_unlock(&q->mu);
	return rc;
}

/* The caller asks the import to stop (import_options' stop). */
static bool stop_asked(const struct run *r)
{
	return stop_now(&r->opt->stop);
}

static vis_err stopped(struct run *r)
{
	r->res->stopped = true;
	return vis_error_set(r->e, VIS_ERR_BUSY, "importazione interrotta perché il servizio si "
				 "arresta: nulla è stato scritto, il file va importato di nuovo");
}

/* Takes the reader's items in line order.  Returns a runtime error, or
 * VIS_OK with problems recorded in r->res. */
static vis_err write_all(struct run *r, struct ring *q)
{
	for (int64_t n = 1;; n++) {
		if (n % IMPORT_STOP_EVERY == 0 && stop_asked(r))
			return stopped(r);
		const struct item *it = ring_take(q);
		vis_err rc = VIS_OK;
		/* The households, persons or events held are taken before
		 * anything else of the file. */
		bool rec = it->kind == ITEM_RECORD;
		if (r->nheld_fam && !(rec && it->u.rec.type == REC_FAM) &&
		    (rc = families_flush(r)) != VIS_OK)
			return rc;
		if (r->nheld && !(rec && it->u.rec.type == REC_PER) &&
		    (rc = r->bulk ? held_flush(r) : held_flush_current(r)) != VIS_OK)
			return rc;
		if (r->nheld_ev && !(rec && it->u.rec.type == REC_EVT) &&
		    (rc = events_flush(r)) != VIS_OK)
			return rc;
		switch (it->kind) {
		case ITEM_STOP:
			return VIS_OK;
		case ITEM_ERROR:
			return vis_error_set(r->e, it->u.err.code, "%s", it->u.err.msg);
		case ITEM_PROBLEM:
			problem(r, it->line, it->u.prob.type, it->u.prob.field, it->u.prob.reason);
			break;
		case ITEM_RECORD:
			switch (it->u.rec.type) {
			case REC_HDR:
				rc = take_header(r, q, &it->u.rec.u.hdr);
				break;
			case REC_FAM:
				rc = take_family(r, it->line, &it->u.rec.u.fam);
				break;
			case REC_PER:
				rc = take_person(r, it->line, &it->u.rec.u.per, it->unknown_ref);
				break;
			case REC_EVT:
				rc = take_event(r, it->line, &it->u.rec.u.evt, it->unknown_ref);
				break;
			case REC_END:
				break;
			}
			break;
		}
		if (rc != VIS_OK)
			return rc;
		ring_done(q);
	}
}

static void *reader_main(void *arg)
{
	struct reader *d = arg;
	pthread_setname_np(pthread_self(), "import-reader");
	while (rd_line(d))
		;
	struct item *it = ring_slot(d->q);
	if (it) {
		it->kind = ITEM_STOP;
		it->line = d->lineno;
		ring_put(d->q);
	}
	ring_publish(d->q);
	return NULL;
}

vis_err import_stream(struct store *s, const struct refdata *rd, FILE *in,
		      const struct import_options *opt, struct import_result *res,
		      struct vis_error *e)
{
	if (sodium_init() < 0)
		return vis_error_set(e, VIS_ERR_INTERNAL, "avvio di libsodium non riuscito");
	memset(res, 0, sizeof *res);
	struct run r = {.s = s, .rd = rd, .opt = opt, .res = res, .e = e, .in = in};
	struct ring q = {.items = malloc(RING_ITEMS * sizeof(struct item))};
	struct reader d = {.lr = {.in = in, .buf = malloc(READ_CHUNK)}, .rd = rd, .opt = opt,
			   .q = &q};
	for (int i = 0; i < 3; i++)
		strset_init(&d.ids[i]);
	strset_init(&d.cfs);
	vis_err rc;
	if (!d.lr.buf || !q.items) {
		free(d.lr.buf);
		free(q.items);
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	}
	crypto_hash_sha256_init(&d.lr.sha);
	pthread_mutex_init(&q.mu, NULL);
	pthread_cond_init(&q.can_put, NULL);
	pthread_cond_init(&q.can_take, NULL);
	pthread_t reader;
	if (pthread_create(&reader, NULL, reader_main, &d) != 0) {
		rc = vis_error_set(e, VIS_ERR_INTERNAL, "impossibile avviare il thread di lettura dell'importazione");
		goto out;
	}
	rc = write_all(&r, &q);
	ring_stop(&q);
	pthread_join(reader, NULL);
	res->lines = d.lineno;
	res->counts.families = d.families;
	res->counts.persons = d.persons;
	res->counts.events = d.events;
	if (rc != VIS_OK || res->already_loaded)
		goto out;
	progress(opt, d.lr.bytes, d.records, true);
	if (res->problems) {
		rc = vis_error_set(e, VIS_ERR_INVALID, "file respinto (problemi: %lld)",
				   (long long)res->problems);
		goto out;
	}
	unsigned char digest[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_final(&d.lr.sha, digest);
	hex(digest, sizeof digest, res->sha256);
	memcpy(r.imp.sha256, res->sha256, sizeof r.imp.sha256);
	if (stop_asked(&r)) { /* before the indexes' build and the commit */
		rc = stopped(&r);
		goto out;
	}
	if (store_import_finish(s, r.import_id, &r.imp, res->hdr.extract_date, &res->counts,
				&opt->stop, e)) {
		/* the indexes' build interrupted by the stop (SQLite) */
		rc = stop_asked(&r) ? stopped(&r) : VIS_ERR_STORE;
		goto out;
	}
	if (store_commit(s, e)) {
		rc = VIS_ERR_STORE;
		goto out;
	}
	r.in_txn = false;
	res->applied = true;
out:
	if (r.in_txn)
		store_rollback(s);
	/* the path when it fits the message, else the message without it */
	if (r.rejects && (ferror(r.rejects) | fclose(r.rejects)) && !res->rejects_error[0] &&
	    !STR_FMT(res->rejects_error, "--rejects: impossibile scrivere '%s'", opt->rejects_path))
		STR_COPY_KNOWN(res->rejects_error, "--rejects: impossibile scrivere il file");
	pthread_cond_destroy(&q.can_take);
	pthread_cond_destroy(&q.can_put);
	pthread_mutex_destroy(&q.mu);
	free(q.items);
	free(r.held);
	free(r.other);
	free(r.owner);
	free(r.pcur);
	free(r.wrote);
	free(r.held_fam);
	free(r.fcur);
	free(r.held_ev);
	free(r.stored);
	free(r.person_found);
	free(d.lr.buf);
	for (int i = 0; i < 3; i++)
		strset_release(&d.ids[i]);
	strset_release(&d.cfs);
	return rc;
}
