#include "audit/subjects.h"

#include <stdlib.h>
#include <string.h>

void subjects_init(struct subjects *s)
{
	memset(s, 0, sizeof *s);
}

void subjects_release(struct subjects *s)
{
	free(s->text);
	free(s->slots);
	subjects_init(s);
}

static uint32_t hash(const char *c, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)c[i]) * 16777619u;
	return h;
}

/* The code stored at offset off of the text equals c[0..n)? */
static int same(const struct subjects *s, uint32_t off, const char *c, size_t n)
{
	const char *t = s->text + off;
	return !strncmp(t, c, n) && (t[n] == ',' || t[n] == '\0');
}

/* The slot holding c, or the empty slot where it belongs. */
static size_t slot(const struct subjects *s, const char *c, size_t n)
{
	size_t mask = s->nslots - 1, i = hash(c, n) & mask;
	while (s->slots[i] && !same(s, s->slots[i] - 1, c, n))
		i = (i + 1) & mask;
	return i;
}

static vis_err rehash(struct subjects *s, size_t nslots, struct vis_error *e)
{
	uint32_t *old = s->slots;
	size_t oldn = s->nslots;
	s->slots = calloc(nslots, sizeof *s->slots);
	if (!s->slots) {
		s->slots = old;
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	}
	s->nslots = nslots;
	for (size_t i = 0; i < oldn; i++) {
		if (!old[i])
			continue;
		const char *c = s->text + old[i] - 1;
		s->slots[slot(s, c, strcspn(c, ","))] = old[i];
	}
	free(old);
	return VIS_OK;
}

vis_err subjects_add(struct subjects *s, const char *code, struct vis_error *e)
{
	size_t n = strlen(code);
	if (n == 0 || n > SUBJECTS_CODE_MAX)
		return vis_error_set(e, VIS_ERR_INVALID, "il codice di una persona deve avere da 1 "
							 "a %d caratteri",
				     SUBJECTS_CODE_MAX);
	for (size_t i = 0; i < n; i++)
		if (code[i] <= ' ' || code[i] > '~' || code[i] == ',')
			return vis_error_set(e, VIS_ERR_INVALID, "il codice di una persona deve "
								 "essere ASCII stampabile senza "
								 "virgole");
	if (s->nslots && s->slots[slot(s, code, n)])
		return VIS_OK;
	if (s->n >= SUBJECTS_MAX)
		return vis_error_set(e, VIS_ERR_LIMIT, "la risposta nomina più di %d persone",
				     SUBJECTS_MAX);
	if ((size_t)(s->n + 1) * 2 > s->nslots &&
	    rehash(s, s->nslots ? s->nslots * 2 : 64, e) != VIS_OK)
		return VIS_ERR_NOMEM;
	if (s->len + n + 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		while (cap < s->len + n + 2)
			cap *= 2;
		char *t = realloc(s->text, cap);
		if (!t)
			return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
		s->text = t;
		s->cap = cap;
	}
	if (s->len)
		s->text[s->len++] = ',';
	memcpy(s->text + s->len, code, n + 1);
	s->slots[slot(s, code, n)] = (uint32_t)s->len + 1;
	s->len += n;
	s->n++;
	return VIS_OK;
}

const char *subjects_text(const struct subjects *s)
{
	return s->text ? s->text : "";
}

bool subjects_has(const struct subjects *s, const char *code)
{
	return s->nslots && !strchr(code, ',') && s->slots[slot(s, code, strlen(code))];
}

int subjects_count(const struct subjects *s)
{
	return s->n;
}
