/* libFuzzer harness: the log's line (common/log.h), written by hand so that
 * no value can end its field or start another.  The input is a cut point
 * (its first two bytes: the length of a filler field, so that the 2,048
 * bytes' end falls anywhere in the fields after it) and three values (the
 * rest, apart at NUL bytes), logged bare, quoted, cut by a precision and
 * inside a quoted text and inside a longer bare token.  Whatever the
 * bytes: the line is one line of at most 2,048 bytes (its newline
 * counted) that a strict key=value reader (tests/unit/logfmt.h) reads
 * back; every value read is the one given, or, when the line ends
 * truncated=true, the start of it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "../tests/unit/logfmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *file;

static void prefix_of(const struct logfmt_field *f, const char *want, size_t want_len, int cut)
{
	if (f->val_len > want_len || memcmp(f->val, want, f->val_len) ||
	    (!cut && f->val_len != want_len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	if (!file) {
		snprintf(path, sizeof path, "/tmp/visura-fuzz-log-%ld", (long)getpid());
		if (log_open(path))
			abort();
		file = fopen(path, "rb");
		if (!file)
			abort();
		unlink(path); /* the log keeps it open, and so does this */
	}
	if (size < 2)
		return 0;
	int pad = (data[0] | data[1] << 8) % 2100;
	static char text[4096];
	size_t n = size - 2 < sizeof text - 1 ? size - 2 : sizeof text - 1;
	memcpy(text, data + 2, n);
	text[n] = '\0';
	const char *v[3] = {text, "", ""};
	for (int i = 1; i < 3; i++) { /* the next value after the NUL, if any */
		size_t at = strlen(v[i - 1]);
		const char *next = v[i - 1] + at + 1;
		if (next > text + n)
			break;
		v[i] = next;
	}
	static char filler[2100];
	if (!filler[0])
		memset(filler, 'x', sizeof filler - 1);
	log_warn("prova \"fuzz\"", "p=%.*s a=%s b=\"%s\" c=%.7s d=\"x %s y\" e=pre%spost", pad,
		 filler, v[0], v[1], v[2], v[0], v[1]);
	static char line[8192];
	clearerr(file);
	size_t got = fread(line, 1, sizeof line - 1, file);
	line[got] = '\0';
	if (!got || got > 2048 || line[got - 1] != '\n' || memchr(line, '\n', got - 1))
		abort(); /* one line, at most 2,048 bytes */
	line[got - 1] = '\0';
	static struct logfmt_field f[12];
	int k = logfmt_read(line, f, 12);
	if (k < 3)
		abort();
	int cut = !strcmp(f[k - 1].key, "truncated");
	if (cut && strcmp(f[k - 1].val, "true"))
		abort();
	static const char *const keys[] = {"ts", "level", "msg", "p", "a", "b", "c", "d", "e"};
	if (k - cut > 9 || (!cut && k != 9))
		abort();
	for (int i = 0; i < k - cut; i++)
		if (strcmp(f[i].key, keys[i]))
			abort();
	prefix_of(&f[2], "prova \"fuzz\"", 12, cut && k - cut == 3);
	static char d[4200], e[4200];
	int dn = snprintf(d, sizeof d, "x %s y", v[0]);
	int en = snprintf(e, sizeof e, "pre%spost", v[1]);
	const struct {
		const char *s;
		size_t n;
	} want[] = {{filler, (size_t)pad},    {v[0], strlen(v[0])}, {v[1], strlen(v[1])},
		    {v[2], strnlen(v[2], 7)}, {d, (size_t)dn},	    {e, (size_t)en}};
	for (int i = 3; i < k - cut; i++)
		prefix_of(&f[i], want[i - 3].s, want[i - 3].n, cut && i == k - cut - 1);
	return 0;
}
