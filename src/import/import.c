#include "import/import.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/date.h"
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
		return vis_error_set(e, VIS_ERR_IO, "the import file cannot be re-read (not seekable)");
	crypto_hash_sha256_init(&st);
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		crypto_hash_sha256_update(&st, buf, n);
	if (ferror(in))
		return vis_error_set(e, VIS_ERR_IO, "read error");
	crypto_hash_sha256_final(&st, digest);
	hex(digest, sizeof digest, out);
	return VIS_OK;
}

/* Everything one import run keeps while it walks the file. */
struct run {
	struct store *s;
	const struct refdata *rd;
	const struct import_options *opt;
	struct import_result *res;
	struct vis_error *e;
	FILE *rejects;
	bool have_header;
	bool in_txn;
	bool bulk;
	int64_t import_id;
	struct store_import imp;
	int phase;               /* highest record type seen so far */
	int64_t records;
	struct strset families, persons, events, cfs;
};

static void problem(struct run *r, int64_t line, const char *type, const char *field,
		    const char *reason)
{
	r->res->problems++;
	if (!r->opt->rejects_path || r->res->problems > IMPORT_MAX_PROBLEMS)
		return;
	if (!r->rejects) {
		r->rejects = fopen(r->opt->rejects_path, "w");
		if (!r->rejects)
			return;
		fputs("line\trecord\tfield\treason\n", r->rejects);
	}
	fprintf(r->rejects, "%lld\t%s\t%s\t%s\n", (long long)line, type, field, reason);
}

static void progress(struct run *r, int64_t bytes, bool last)
{
	if (!r->opt->progress)
		return;
	int64_t total = r->opt->size_hint;
	int pct = total > 0 ? (int)(bytes * 100 / total) : 0;
	if (last)
		pct = 100;
	char bar[41];
	int fill = pct * 40 / 100;
	for (int i = 0; i < 40; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[40] = '\0';
	fprintf(stderr, "\rimport [%s] %3d%%  %lld records", bar, pct, (long long)r->records);
	if (last)
		fputc('\n', stderr);
	fflush(stderr);
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
		snprintf(msg, sizeof msg, "the file name names municipality %.6s, the header %s",
			 name, h->comune);
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
		snprintf(msg, sizeof msg, "the file name names sequence %lld, the header %lld", seq,
			 (long long)h->seq);
		problem(r, 1, "HDR", "sequence", msg);
		return false;
	}
	if ((full || delta) && full != h->full) {
		snprintf(msg, sizeof msg, "the file name says %s, the header %s",
			 full ? "FULL" : "DELTA", h->full ? "FULL" : "DELTA");
		problem(r, 1, "HDR", "kind", msg);
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
		problem(r, 1, "HDR", "kind", "the first file of a municipality must be FULL");
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
				 "sequence %lld was already loaded with different content",
				 (long long)h->seq);
		} else {
			snprintf(msg, sizeof msg,
				 "sequence %lld is older than what is loaded (last sequence %lld)",
				 (long long)h->seq, (long long)feed.last_seq);
		}
		problem(r, 1, "HDR", "sequence", msg);
		return VIS_ERR_INVALID;
	}
	if (!h->full && h->seq != feed.last_seq + 1) {
		snprintf(msg, sizeof msg,
			 "sequence gap: expected %lld, got %lld (load the missing files first)",
			 (long long)feed.last_seq + 1, (long long)h->seq);
		problem(r, 1, "HDR", "sequence", msg);
		return VIS_ERR_INVALID;
	}
	if (h->extract < feed.last_extract) {
		problem(r, 1, "HDR", "extract time",
			"the extract time is older than the last file loaded");
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

static vis_err take_family(struct run *r, int64_t line, const struct store_family *f)
{
	int added = strset_add(&r->families, f->id, strlen(f->id));
	if (added < 0)
		return vis_error_set(r->e, VIS_ERR_NOMEM, "out of memory");
	if (added == 0) {
		problem(r, line, "FAM", "family id", "duplicate family id in the file");
		return VIS_OK;
	}
	r->res->counts.families++;
	if (r->res->problems)
		return VIS_OK;
	struct vis_error local = {0};
	enum store_put_result pr;
	vis_err rc = store_family_put(r->s, r->import_id, r->bulk, f, &pr, &local);
	if (rc == VIS_OK)
		count(r, pr);
	return put_result(r, rc, line, "FAM", &local);
}

static vis_err take_person(struct run *r, int64_t line, const struct store_person *p)
{
	int added = strset_add(&r->persons, p->id, strlen(p->id));
	if (added < 0)
		return vis_error_set(r->e, VIS_ERR_NOMEM, "out of memory");
	if (added == 0) {
		problem(r, line, "PER", "person id", "duplicate person id in the file");
		return VIS_OK;
	}
	added = strset_add(&r->cfs, p->cf, strlen(p->cf));
	if (added < 0)
		return vis_error_set(r->e, VIS_ERR_NOMEM, "out of memory");
	if (added == 0) {
		problem(r, line, "PER", "codice fiscale", "duplicate codice fiscale in the file");
		return VIS_OK;
	}
	r->res->counts.persons++;
	if (p->family_id[0] && !strset_has(&r->families, p->family_id, strlen(p->family_id))) {
		bool found = false;
		if (!r->res->hdr.full &&
		    store_family_exists(r->s, p->comune, p->family_id, &found, r->e))
			return VIS_ERR_STORE;
		if (!found) {
			problem(r, line, "PER", "family id",
				r->res->hdr.full ? "household not in the file"
						 : "household neither in the file nor in the register");
			return VIS_OK;
		}
	}
	if (!r->bulk) {
		char owner[STORE_ID_MAX];
		bool found;
		if (store_person_cf_owner(r->s, p->comune, p->cf, owner, &found, r->e))
			return VIS_ERR_STORE;
		if (found && strcmp(owner, p->id)) {
			problem(r, line, "PER", "codice fiscale",
				"codice fiscale held by another person of the municipality");
			return VIS_OK;
		}
	}
	if (!p->canc_reason) {
		/* Registered here: not registered in another municipality too. */
		char other[7];
		bool found;
		if (store_person_cf_elsewhere(r->s, p->comune, p->cf, other, &found, r->e))
			return VIS_ERR_STORE;
		if (found) {
			const struct ref_comune *c = refdata_comune_by_istat(r->rd, other, 0);
			char msg[200];
			snprintf(msg, sizeof msg,
				 "codice fiscale registered in municipality %s%s%s%s: it must be "
				 "cancelled there (emigration) first", other, c ? " (" : "",
				 c ? c->name : "", c ? ")" : "");
			problem(r, line, "PER", "codice fiscale", msg);
			return VIS_OK;
		}
	}
	if (r->res->problems)
		return VIS_OK;
	struct vis_error local = {0};
	enum store_put_result pr;
	vis_err rc = store_person_put(r->s, r->import_id, r->bulk, p, &pr, &local);
	if (rc == VIS_OK)
		count(r, pr);
	return put_result(r, rc, line, "PER", &local);
}

static vis_err take_event(struct run *r, int64_t line, const struct store_event *ev)
{
	int added = strset_add(&r->events, ev->id, strlen(ev->id));
	if (added < 0)
		return vis_error_set(r->e, VIS_ERR_NOMEM, "out of memory");
	if (added == 0) {
		problem(r, line, "EVT", "event id", "duplicate event id in the file");
		return VIS_OK;
	}
	r->res->counts.events++;
	if (!strset_has(&r->persons, ev->person_id, strlen(ev->person_id))) {
		bool found = false;
		if (!r->bulk && store_person_exists(r->s, ev->comune, ev->person_id, &found, r->e))
			return VIS_ERR_STORE;
		if (!found) {
			problem(r, line, "EVT", "person id",
				"person neither in the file nor in the register");
			return VIS_OK;
		}
	}
	if (r->res->problems)
		return VIS_OK;
	struct vis_error local = {0};
	enum store_put_result pr;
	vis_err rc = store_event_put(r->s, r->import_id, ev, &pr, &local);
	if (rc == VIS_OK)
		count(r, pr);
	return put_result(r, rc, line, "EVT", &local);
}

/* Walks every line.  Returns a runtime error, or VIS_OK with problems
 * recorded in r->res. */
static vis_err walk(struct run *r, struct line_reader *lr)
{
	const char *line;
	size_t len;
	int64_t lineno = 0;
	bool ended = false;
	for (;;) {
		enum line_status ls = line_next(lr, &line, &len);
		if (ls == LINE_EOF)
			break;
		if (ls == LINE_IO)
			return vis_error_set(r->e, VIS_ERR_IO, "read error after line %lld",
					     (long long)lineno);
		lineno++;
		r->res->lines = lineno;
		if ((lineno & 0xFFFF) == 0)
			progress(r, lr->bytes, false);
		if (ls == LINE_TOO_LONG) {
			char msg[64];
			snprintf(msg, sizeof msg, "line longer than %d bytes", IMPORT_MAX_LINE);
			problem(r, lineno, "", "", msg);
			if (!r->have_header)
				return VIS_OK;
			continue;
		}
		if (ls == LINE_NO_LF) {
			problem(r, lineno, "", "", "the last line has no LF: the file is truncated");
			return VIS_OK;
		}
		if (ended) {
			problem(r, lineno, "", "", "data after the END record");
			return VIS_OK;
		}
		struct record rec;
		struct record_problem why;
		if (!record_parse(line, len, r->rd, r->have_header ? &r->res->hdr : NULL, &rec, &why)) {
			const char *type = r->have_header ? "" : "HDR";
			char tag[4] = "";
			if (len >= 3 && (len == 3 || line[3] == '\t')) {
				memcpy(tag, line, 3);
				type = tag;
			}
			problem(r, lineno, type, why.field, why.reason);
			if (!r->have_header)
				return VIS_OK; /* nothing can be read without a header */
			continue;
		}
		if (rec.type == REC_HDR) {
			r->res->hdr = rec.u.hdr;
			r->have_header = true;
			if (!name_agrees(r))
				return VIS_OK;
			vis_err rc = check_sequence(r, lr->in);
			if (rc == VIS_ERR_INVALID || r->res->already_loaded)
				return VIS_OK;
			if (rc != VIS_OK || (rc = start(r)) != VIS_OK)
				return rc;
			continue;
		}
		if ((int)rec.type < r->phase) {
			char msg[96];
			snprintf(msg, sizeof msg, "%s records must come before %s records",
				 record_type_name(rec.type), record_type_name((enum record_type)r->phase));
			problem(r, lineno, record_type_name(rec.type), "", msg);
			continue;
		}
		r->phase = (int)rec.type;
		vis_err rc = VIS_OK;
		switch (rec.type) {
		case REC_FAM:
			rc = take_family(r, lineno, &rec.u.fam);
			break;
		case REC_PER:
			rc = take_person(r, lineno, &rec.u.per);
			break;
		case REC_EVT:
			rc = take_event(r, lineno, &rec.u.evt);
			break;
		case REC_END:
			ended = true;
			if (rec.u.end_count != r->records) {
				char msg[128];
				snprintf(msg, sizeof msg,
					 "END counts %lld records but the file has %lld: truncated or altered",
					 (long long)rec.u.end_count, (long long)r->records);
				problem(r, lineno, "END", "record count", msg);
			}
			break;
		case REC_HDR:
			break;
		}
		if (rc != VIS_OK)
			return rc;
		if (rec.type != REC_END)
			r->records++;
	}
	if (!r->have_header && lineno == 0)
		problem(r, 0, "", "", "the file is empty");
	else if (!ended)
		problem(r, lineno, "", "", "no END record: the file is truncated");
	return VIS_OK;
}

vis_err import_stream(struct store *s, const struct refdata *rd, FILE *in,
		      const struct import_options *opt, struct import_result *res,
		      struct vis_error *e)
{
	if (sodium_init() < 0)
		return vis_error_set(e, VIS_ERR_INTERNAL, "libsodium failed to start");
	memset(res, 0, sizeof *res);
	struct run r = {.s = s, .rd = rd, .opt = opt, .res = res, .e = e};
	strset_init(&r.families);
	strset_init(&r.persons);
	strset_init(&r.events);
	strset_init(&r.cfs);
	struct line_reader lr = {.in = in, .buf = malloc(READ_CHUNK)};
	vis_err rc;
	if (!lr.buf) {
		rc = vis_error_set(e, VIS_ERR_NOMEM, "out of memory");
		goto out;
	}
	crypto_hash_sha256_init(&lr.sha);
	rc = walk(&r, &lr);
	if (rc != VIS_OK || res->already_loaded)
		goto out;
	progress(&r, lr.bytes, true);
	if (res->problems) {
		rc = vis_error_set(e, VIS_ERR_INVALID, "file refused: %lld problem(s)",
				   (long long)res->problems);
		goto out;
	}
	unsigned char digest[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_final(&lr.sha, digest);
	hex(digest, sizeof digest, res->sha256);
	memcpy(r.imp.sha256, res->sha256, sizeof r.imp.sha256);
	if (store_import_finish(s, r.import_id, &r.imp, res->hdr.extract_date, &res->counts, e) ||
	    store_commit(s, e)) {
		rc = VIS_ERR_STORE;
		goto out;
	}
	r.in_txn = false;
	res->applied = true;
out:
	if (r.in_txn)
		store_rollback(s);
	if (r.rejects)
		fclose(r.rejects);
	free(lr.buf);
	strset_release(&r.families);
	strset_release(&r.persons);
	strset_release(&r.events);
	strset_release(&r.cfs);
	return rc;
}
