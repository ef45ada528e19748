/* A strict reader of the log's lines (common/log.h), for the tests that
 * check no value can end its field or start another: unit.test_log and
 * fuzz/fuzz_log.c.  Header-only: each includes it once. */
#ifndef VISURA_TESTS_LOGFMT_H
#define VISURA_TESTS_LOGFMT_H

#include <stddef.h>
#include <string.h>

struct logfmt_field {
	char key[32];
	char val[4096];
	size_t val_len;
};

/* The byte of an escape "u00XX" at p (lowercase hex), or -1. */
static int logfmt_u00(const char *p)
{
	if (strncmp(p, "u00", 3))
		return -1;
	int x = 0;
	for (int d = 3; d < 5; d++) {
		char hc = p[d];
		int h = hc >= '0' && hc <= '9'	 ? hc - '0'
			: hc >= 'a' && hc <= 'f' ? hc - 'a' + 10
						 : -1;
		if (h < 0)
			return -1;
		x = x * 16 + h;
	}
	return x;
}

/* A strict reader of "k=v k=\"…\" …": keys [a-z0-9_], a bare value of
 * bytes other than space, '"', '=' and controls, and \u00XX for those and
 * '\' (a value inside a longer token), a quoted one with the escapes
 * \" \\ \n \r \t \u00XX.  Returns the fields read, -1 when the
 * text is not of that shape. */
static int logfmt_read(const char *p, struct logfmt_field *out, int max)
{
	int n = 0;
	while (*p) {
		if (n == max)
			return -1;
		struct logfmt_field *f = &out[n++];
		size_t k = 0;
		while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_') {
			if (k + 1 >= sizeof f->key)
				return -1;
			f->key[k++] = *p++;
		}
		f->key[k] = '\0';
		if (!k || *p++ != '=')
			return -1;
		f->val_len = 0;
		if (*p == '"') {
			p++;
			while (*p != '"') {
				unsigned char c = (unsigned char)*p;
				if (!c || c < 0x20 || c == 0x7f)
					return -1;
				char v = *p;
				if (c == '\\') {
					p++;
					if (*p == '"' || *p == '\\')
						v = *p;
					else if (*p == 'n')
						v = '\n';
					else if (*p == 'r')
						v = '\r';
					else if (*p == 't')
						v = '\t';
					else if (logfmt_u00(p) >= 0) {
						v = (char)logfmt_u00(p);
						p += 4;
					} else
						return -1;
				}
				p++;
				if (f->val_len + 1 >= sizeof f->val)
					return -1;
				f->val[f->val_len++] = v;
			}
			p++;
		} else {
			while (*p && *p != ' ') {
				unsigned char c = (unsigned char)*p;
				if (c < 0x20 || c == 0x7f || c == '"' || c == '=')
					return -1;
				if (c == '\\') { /* within a token: \u00XX only */
					if (logfmt_u00(p + 1) < 0 ||
					    f->val_len + 1 >= sizeof f->val)
						return -1;
					f->val[f->val_len++] = (char)logfmt_u00(p + 1);
					p += 6;
					continue;
				}
				if (f->val_len + 1 >= sizeof f->val)
					return -1;
				f->val[f->val_len++] = *p++;
			}
		}
		f->val[f->val_len] = '\0';
		if (*p == ' ')
			p++;
		else if (*p)
			return -1;
	}
	return n;
}

#endif
