#include "witness/publish.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/log.h"
#include "common/monotime.h"
#include "common/str.h"
#include "net/outbound.h"
#include "store/store.h"
#include "witness/witness.h"

#define ANSWER_MAX 4096
#define PUBLISH_PERIOD_MS 500
#define PUBLISH_WHY_MAX 256
/* the problem /readyz reports: its text, a witness's name and its whole
 * last failure (never cut) */
#define PROBLEM_TEXT "il testimone %s non ha controfirmato l'ultima testa del registro degli accessi (%s)"
#define PROBLEM_MAX (sizeof PROBLEM_TEXT + CHECKPOINT_NAME_MAX + PUBLISH_WHY_MAX)

struct witness_state {
	struct publish_witness w;
	uint64_t size;              /* the size it cosigned last, as it told us */
	int64_t behind_since;       /* monotonic s since it lacks the newest head; 0 */
	char why[PUBLISH_WHY_MAX];  /* its last failure */
	char logged[PUBLISH_WHY_MAX];           /* the failure last logged, and when: */
	int64_t logged_at;          /* once a minute, or when it changes */
};

struct publisher {
	char db_uri[4096];
	char ca_file[4096];
	struct audit_writer *writer;
	int heads_fd;               /* trail_heads_file, or -1 */
	int grace;
	struct witness_state ws[PUBLISH_WITNESSES_MAX];
	int n;
	pthread_t thread;
	pthread_mutex_t lock;       /* the problem below, and stop */
	pthread_cond_t wake;
	bool stop;
	int64_t behind_since;       /* the oldest lag among witnesses, or 0 */
	char problem[PROBLEM_MAX];
};

vis_err publish_witnesses_parse(const char *spec, struct publish_witness *out, int *n,
				struct vis_error *e)
{
	*n = 0;
	char buf[2048];
	if (!STR_COPY(buf, spec))
		return vis_error_set(e, VIS_ERR_LIMIT, "trail_witnesses: troppo lungo");
	char *save = NULL;
	for (char *item = strtok_r(buf, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
		char name[CHECKPOINT_NAME_MAX + 2], url[sizeof out->url + 1], key[1025], extra[2];
		int k = sscanf(item, " %129s %512s %1024s %1s", name, url, key, extra);
		if (k == -1 || (k == 0 && !item[strspn(item, " \t")]))
			continue;
		if (k != 3)
			return vis_error_set(e, VIS_ERR_INVALID,
					     "trail_witnesses: ogni testimone è 'NOME URL "
					     "FILE_CHIAVE_PUBBLICA' (separati da ';')");
		if (*n == PUBLISH_WITNESSES_MAX)
			return vis_error_set(e, VIS_ERR_LIMIT, "trail_witnesses: al massimo %d",
					     PUBLISH_WITNESSES_MAX);
		struct publish_witness *w = &out[*n];
		if (!checkpoint_name_ok(name) || !STR_COPY(w->name, name))
			return vis_error_set(e, VIS_ERR_INVALID,
					     "trail_witnesses: '%s' non è un nome di "
					     "chiave valido", name);
		for (int i = 0; i < *n; i++)
			if (!strcmp(out[i].name, name))
				return vis_error_set(e, VIS_ERR_INVALID,
						     "trail_witnesses: '%s' indicato due "
						     "volte", name);
		size_t ul = strlen(url);
		while (ul && url[ul - 1] == '/')
			url[--ul] = '\0';
		struct vis_error ue = {0};
		if (!STR_COPY(w->url, url) || outbound_check(url, OUTBOUND_WEBHOOK, false, &ue))
			return vis_error_set(e, VIS_ERR_INVALID,
					     "trail_witnesses: %s: l'URL è rifiutato (%s)", name,
					     ue.msg[0] ? ue.msg : "troppo lungo");
		if (witness_pubkey_read(key, w->pk, e))
			return VIS_ERR_INVALID;
		(*n)++;
	}
	return VIS_OK;
}

struct answer {
	char buf[ANSWER_MAX + 1];
	size_t len;
};

/* POSTs body to the witness; returns the HTTP status (0: no answer, why
 * set). */
static long post(struct publisher *p, struct witness_state *s, const char *body, size_t len,
		 struct answer *a)
{
	char url[sizeof s->w.url + 32];
	STR_FMT_KNOWN(url, "%s/add-checkpoint", s->w.url); /* url fits: sizes above */
	static const char *const headers[] = {"Content-Type: text/plain", NULL};
	struct outbound_post req = {.url = url, .headers = headers, .body = body, .len = len,
				    .ca_file = p->ca_file, .timeout = 10, .answer = a->buf,
				    .answer_cap = sizeof a->buf};
	long status = outbound_post(&req, s->why, sizeof s->why);
	a->len = req.answer_len;
	return status;
}

/* The cosigned note: head's text with the answer's lines, each checked;
 * true when the witness's cosignature verifies. */
static bool cosigned(struct witness_state *s, const struct checkpoint *head,
		     const struct answer *a, struct checkpoint *out)
{
	char text[CHECKPOINT_TEXT_MAX + ANSWER_MAX + 2];
	size_t tl = strlen(head->text);
	if (tl + a->len >= sizeof text || !a->len || a->buf[a->len - 1] != '\n') {
		STR_COPY_KNOWN(s->why, "la risposta del testimone non è una riga di controfirma");
		return false;
	}
	memcpy(text, head->text, tl);
	memcpy(text + tl, a->buf, a->len);
	const char *why = checkpoint_parse(out, text, tl + a->len);
	uint64_t t;
	if (!why && out->size == head->size && !memcmp(out->root, head->root, MERKLE_HASH))
		why = checkpoint_cosigned(out, s->w.name, s->w.pk, &t);
	if (why) {
		/* its precision bounds it; why[256] */
		STR_FMT_KNOWN(s->why, "controfirma non valida: %.150s", why);
		return false;
	}
	return true;
}

/* Publishes head to one witness; true once it is cosigned.  On a
 * cosignature, the cosigned note replaces *note (more witnesses add to it). */
static bool publish_one(struct publisher *p, struct store *st, struct witness_state *s,
			const struct checkpoint *head, struct checkpoint *note)
{
	static _Thread_local struct witness_request r;
	static _Thread_local char body[WITNESS_BODY_MAX + 1];
	static _Thread_local struct answer a;
	static _Thread_local struct checkpoint got;
	for (int attempt = 0; attempt < 2; attempt++) {
		struct vis_error e = {0};
		memset(&r, 0, sizeof r);
		r.old_size = s->size > head->size ? 0 : s->size;
		r.cp = *head;
		if (audit_tree_consistency(st, r.old_size, head->size, r.proof, &r.proof_len, &e)) {
			/* its precision bounds it; why[256] */
			STR_FMT_KNOWN(s->why, "nessuna prova di coerenza: %.150s", e.msg);
			return false;
		}
		size_t len = witness_request_format(&r, body, sizeof body);
		long status = len ? post(p, s, body, len, &a) : 0;
		if (status == 200) {
			if (!cosigned(s, note, &a, &got))
				return false;
			*note = got;
			s->size = head->size;
			return true;
		}
		if (status == 409) {
			char *end;
			unsigned long long v = strtoull(a.buf, &end, 10);
			if (end == a.buf || *end != '\n' || v > head->size) {
				/* its answer up to its first line's end, at most 20 bytes */
				int n = (int)strcspn(a.buf, "\r\n");
				/* numbers and fixed words: < 200 bytes */
				STR_FMT_KNOWN(s->why,
					      "il testimone ha controfirmato %.*s, più delle "
					      "%llu registrazioni di questo registro degli "
					      "accessi: un ritorno indietro, o un altro "
					      "registro con questa origine",
					      n < 20 ? n : 20, a.buf,
					      (unsigned long long)head->size);
				return false;
			}
			s->size = v;
			continue;
		}
		/* its precision bounds it; why[256] */
		if (status)
			STR_FMT_KNOWN(s->why, "HTTP %ld: %.150s", status, a.buf);
		return false;
	}
	STR_COPY_KNOWN(s->why, "il testimone continua a cambiare la sua dimensione");
	return false;
}

static void heads_file_append(struct publisher *p, const struct checkpoint *note)
{
	if (p->heads_fd < 0)
		return;
	size_t len = strlen(note->text);
	if (write(p->heads_fd, note->text, len) != (ssize_t)len || fsync(p->heads_fd) != 0)
		log_warn("testa controfirmata non aggiunta al file delle teste", "size=%llu",
			 (unsigned long long)note->size);
}

/* One round: the newest head to every witness lacking it. */
static void publish_round(struct publisher *p, struct store **st)
{
	static _Thread_local struct store_head h;
	static _Thread_local struct checkpoint head, note;
	struct vis_error e = {0};
	bool found = false;
	int64_t now = monotime_s();
	if (!*st && store_open(p->db_uri, st, &e)) {
		log_warn("pubblicazione delle teste: database non raggiungibile",
			 "why=\"%s\"", e.msg);
		return;
	}
	if (store_head_last(*st, &h, &found, &e) || !found ||
	    checkpoint_parse(&head, h.note, strlen(h.note))) {
		if (e.code) {
			store_close(*st);
			*st = NULL;
		}
		return;
	}
	/* The note as stored (with cosignatures already there) grows by
	 * each new one; the bare head is what is sent. */
	note = head;
	head.nsigs = 1;
	head.text[head.body_len] = '\0';
	if (checkpoint_text_rebuild(&head))
		return;
	bool added = false;
	int64_t oldest = 0;
	for (int i = 0; i < p->n; i++) {
		struct witness_state *s = &p->ws[i];
		uint64_t t;
		if (!checkpoint_cosigned(&note, s->w.name, s->w.pk, &t)) {
			s->size = head.size;
			s->behind_since = 0;
			continue;
		}
		if (!s->behind_since)
			s->behind_since = now;
		if (publish_one(p, *st, s, &head, &note)) {
			added = true;
			s->behind_since = 0;
			s->logged[0] = '\0';
			log_info("testa del registro controfirmata",
				 "witness=%s size=%llu", s->w.name, (unsigned long long)head.size);
		} else if (strcmp(s->logged, s->why) || now - s->logged_at >= 60) {
			log_warn("testa del registro non controfirmata",
				 "witness=%s size=%llu behind_s=%lld why=\"%s\"", s->w.name,
				 (unsigned long long)head.size, (long long)(now - s->behind_since), s->why);
			STR_COPY_KNOWN(s->logged, s->why);
			s->logged_at = now;
		}
		if (s->behind_since && (!oldest || s->behind_since < oldest))
			oldest = s->behind_since;
	}
	if (added) {
		if (store_head_cosigned(*st, h.size, h.root, note.text, &e))
			log_warn("controfirme non salvate con la testa", "size=%lld why=\"%s\"",
				 (long long)h.size, e.msg);
		heads_file_append(p, &note);
	}
	pthread_mutex_lock(&p->lock);
	p->behind_since = oldest;
	p->problem[0] = '\0';
	for (int i = 0; i < p->n; i++)
		if (p->ws[i].behind_since) {
			snprintf(p->problem, sizeof p->problem, PROBLEM_TEXT, p->ws[i].w.name,
				 p->ws[i].why);
			break;
		}
	pthread_mutex_unlock(&p->lock);
}

static void *publisher_main(void *arg)
{
	struct publisher *p = arg;
	struct store *st = NULL;
	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		pthread_mutex_unlock(&p->lock);
		if (p->n)
			publish_round(p, &st);
		pthread_mutex_lock(&p->lock);
		if (p->stop)
			break;
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += PUBLISH_PERIOD_MS * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&p->wake, &p->lock, &until);
	}
	pthread_mutex_unlock(&p->lock);
	if (st)
		store_close(st);
	return NULL;
}

vis_err publish_start(const struct publish_config *cfg, struct audit_writer *w,
		      struct publisher **out, struct vis_error *e)
{
	*out = NULL;
	struct publisher *p = calloc(1, sizeof *p);
	if (!p)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	p->heads_fd = -1;
	struct publish_witness ws[PUBLISH_WITNESSES_MAX];
	if (publish_witnesses_parse(cfg->witnesses ? cfg->witnesses : "", ws, &p->n, e)) {
		free(p);
		return VIS_ERR_INVALID;
	}
	bool file = cfg->heads_file && cfg->heads_file[0];
	if (!p->n && !file) {
		free(p);
		return VIS_OK;
	}
	for (int i = 0; i < p->n; i++)
		p->ws[i].w = ws[i];
	p->writer = w;
	p->grace = cfg->grace;
	if (!STR_COPY(p->db_uri, cfg->db_uri) ||
	    !STR_COPY(p->ca_file, cfg->ca_file ? cfg->ca_file : "")) {
		free(p);
		return vis_error_set(e, VIS_ERR_LIMIT, "trail_witness_ca: percorso troppo lungo");
	}
	if (p->n && file &&
	    (p->heads_fd = open(cfg->heads_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640)) <
		    0) {
		free(p);
		return vis_error_set(e, VIS_ERR_IO, "trail_heads_file: impossibile aprire '%s' in "
						    "aggiunta",
				     cfg->heads_file);
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	if (pthread_create(&p->thread, NULL, publisher_main, p) != 0) {
		if (p->heads_fd >= 0)
			close(p->heads_fd);
		free(p);
		return vis_error_set(e, VIS_ERR_INTERNAL, "impossibile avviare chi pubblica il "
							  "registro degli accessi");
	}
	*out = p;
	return VIS_OK;
}

void publish_stop(struct publisher *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	if (p->heads_fd >= 0)
		close(p->heads_fd);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->wake);
	free(p);
}

const char *publish_problem(struct publisher *p, bool *refuse)
{
	static _Thread_local char why[PROBLEM_MAX];
	*refuse = false;
	if (!p)
		return NULL;
	int64_t now = monotime_s();
	int64_t file = audit_writer_heads_failing(p->writer);
	pthread_mutex_lock(&p->lock);
	int64_t since = p->behind_since;
	if (file) {
		file -= 1;
		STR_COPY_KNOWN(why, "le teste firmate del registro degli accessi non si possono "
			       "aggiungere al file trail_heads_file");
		if (!since || file < since)
			since = file;
	} else if (since) {
		STR_COPY_KNOWN(why, p->problem);
	}
	pthread_mutex_unlock(&p->lock);
	if (!since)
		return NULL;
	*refuse = p->grace > 0 && now - since > p->grace;
	return why;
}
