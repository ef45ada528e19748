/* Fuzzes the JSON writer (common/jsonw) against jansson: the input read as
 * JSON is written by both, and must give the same bytes (reals excepted:
 * jsonw's must read back as the same doubles); the input taken as one
 * string must be refused by jsonw exactly when jansson refuses it as
 * UTF-8, and written the same otherwise.  A difference aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                   \
	do {                          \
		if (!(cond))          \
			abort();      \
	} while (0)

/* Same structure and values, reals compared as doubles. */
static bool same(const json_t *a, const json_t *b)
{
	if (json_typeof(a) != json_typeof(b))
		return false;
	switch (json_typeof(a)) {
	case JSON_REAL: return json_real_value(a) == json_real_value(b);
	case JSON_ARRAY:
		if (json_array_size(a) != json_array_size(b))
			return false;
		for (size_t i = 0; i < json_array_size(a); i++)
			if (!same(json_array_get(a, i), json_array_get(b, i)))
				return false;
		return true;
	case JSON_OBJECT: {
		if (json_object_size(a) != json_object_size(b))
			return false;
		void *ia = json_object_iter((json_t *)a), *ib = json_object_iter((json_t *)b);
		for (; ia && ib; ia = json_object_iter_next((json_t *)a, ia),
				 ib = json_object_iter_next((json_t *)b, ib))
			if (json_object_iter_key_len(ia) != json_object_iter_key_len(ib) ||
			    memcmp(json_object_iter_key(ia), json_object_iter_key(ib),
				   json_object_iter_key_len(ia)) ||
			    !same(json_object_iter_value(ia), json_object_iter_value(ib)))
				return false;
		return true;
	}
	default: return json_equal((json_t *)a, (json_t *)b);
	}
}

static bool has_real(const json_t *v)
{
	if (json_is_real(v))
		return true;
	if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++)
			if (has_real(json_array_get(v, i)))
				return true;
	} else if (json_is_object(v)) {
		for (void *it = json_object_iter((json_t *)v); it;
		     it = json_object_iter_next((json_t *)v, it))
			if (has_real(json_object_iter_value(it)))
				return true;
	}
	return false;
}

static int depth(const json_t *v)
{
	int d = 0;
	if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			int k = depth(json_array_get(v, i));
			d = k > d ? k : d;
		}
		return d + 1;
	}
	if (json_is_object(v)) {
		for (void *it = json_object_iter((json_t *)v); it;
		     it = json_object_iter_next((json_t *)v, it)) {
			int k = depth(json_object_iter_value(it));
			d = k > d ? k : d;
		}
		return d + 1;
	}
	return 0;
}

static void check_tree(const json_t *j)
{
	if (depth(j) > JSONW_DEPTH_MAX) {
		vis_err rc = VIS_OK;
		CHECK(!jsonw_dumps(j, 0, 1 << 22, NULL, &rc) && rc == VIS_ERR_LIMIT);
		return;
	}
	for (int ascii = 0; ascii < 2; ascii++) {
		size_t flags = JSON_COMPACT | JSON_ENCODE_ANY | (ascii ? JSON_ENSURE_ASCII : 0);
		char *theirs = json_dumps(j, flags);
		size_t len = 0;
		vis_err rc;
		char *mine = jsonw_dumps(j, ascii ? JSONW_ASCII : 0, 1 << 22, &len, &rc);
		CHECK(theirs && mine && rc == VIS_OK && len == strlen(mine));
		if (!has_real(j))
			CHECK(!strcmp(theirs, mine));
		json_t *back = json_loads(mine, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		CHECK(back && same(j, back));
		json_decref(back);
		free(theirs);
		free(mine);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size,
			       JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	if (j) {
		check_tree(j);
		json_decref(j);
	}
	/* the bytes as one string */
	json_t *s = json_stringn((const char *)data, size);
	for (int ascii = 0; ascii < 2; ascii++) {
		struct strbuf sb;
		struct jsonw w;
		strbuf_init(&sb, 1 << 22);
		jsonw_init(&w, &sb, ascii ? JSONW_ASCII : 0);
		jsonw_stringn(&w, (const char *)data, size);
		vis_err rc = jsonw_finish(&w);
		CHECK((rc == VIS_OK) == (s != NULL));
		if (s) {
			char *theirs = json_dumps(s, JSON_ENCODE_ANY | (ascii ? JSON_ENSURE_ASCII : 0));
			CHECK(theirs && !strcmp(theirs, sb.buf));
			free(theirs);
		} else {
			CHECK(rc == VIS_ERR_INVALID && sb.len == 0);
		}
		strbuf_release(&sb);
	}
	json_decref(s);
	return 0;
}
