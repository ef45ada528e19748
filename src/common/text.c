#include "common/text.h"

#include <stdint.h>
#include <string.h>

size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned char c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	size_t n;
	uint32_t v, min;
	if ((c & 0xE0) == 0xC0) {
		n = 2; v = c & 0x1F; min = 0x80;
	} else if ((c & 0xF0) == 0xE0) {
		n = 3; v = c & 0x0F; min = 0x800;
	} else if ((c & 0xF8) == 0xF0) {
		n = 4; v = c & 0x07; min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return n;
}

bool text_bidi_control(uint32_t cp)
{
	return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) ||
	       cp == 0x200E || cp == 0x200F || cp == 0x061C;
}

bool text_bidi_find(const char *s, size_t len, uint32_t *cp)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		uint32_t c;
		size_t n = p[i] < 0x80 ? 1 : utf8_next(p + i, len - i, &c);
		if (n > 1 && text_bidi_control(c)) {
			*cp = c;
			return true;
		}
		i += n ? n : 1;
	}
	return false;
}

void utf8_scrub(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t len = strlen(s), o = 0;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = p[i] < 0x80 ? 1 : utf8_next(p + i, len - i, &cp);
		if (n == 0 || (n > 1 && text_bidi_control(cp))) {
			p[o++] = '?';
			i += n ? n : 1;
			continue;
		}
		memmove(p + o, p + i, n);
		o += n;
		i += n;
	}
	p[o] = '\0';
}

bool utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		if (p[i] >= 0x20 && p[i] < 0x7F) {
			i++;
			continue;
		}
		uint32_t cp;
		size_t n = utf8_next(p + i, len - i, &cp);
		if (n == 0 || cp < 0x20 || cp == 0x7F || text_bidi_control(cp))
			return false;
		i += n;
	}
	return true;
}

/* Base letter of a Latin-1 Supplement / Latin Extended-A letter, 0 if none. */
static char latin_base(uint32_t cp)
{
	if (cp >= 'a' && cp <= 'z')
		return (char)(cp - 32);
	if (cp >= 'A' && cp <= 'Z')
		return (char)cp;
	if (cp >= 0xC0 && cp <= 0xFF) {
		static const char map[64] =
			"AAAAAAACEEEEIIII" "DNOOOOO\0OUUUUYTS"
			"AAAAAAACEEEEIIII" "DNOOOOO\0OUUUUYTY";
		return map[cp - 0xC0];
	}
	if (cp >= 0x100 && cp <= 0x17F) {
		static const char ext[128] =
			"AAAAAACCCCCCCCDD" "DDEEEEEEEEEEGGGG"
			"GGGGHHHHIIIIIIII" "IIJJJJKKKLLLLLLL"
			"LLLNNNNNNNNNOOOO" "OOOORRRRRRSSSSSS"
			"SSTTTTTTUUUUUUUU" "UUUUWWYYYZZZZZZS";
		return ext[cp - 0x100];
	}
	return 0;
}

int text_fold_letters(const char *s, size_t len, char *out, size_t cap)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, o = 0;
	if (cap == 0)
		return -1;
	while (i < len) {
		uint32_t cp;
		size_t n = utf8_next(p + i, len - i, &cp);
		if (n == 0)
			return -1;
		i += n;
		char b = latin_base(cp);
		if (!b)
			continue;
		if (o + 1 >= cap)
			return -1;
		out[o++] = b;
	}
	out[o] = '\0';
	return (int)o;
}

bool text_name_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	bool letter = false;
	while (i < len) {
		uint32_t cp;
		size_t n = utf8_next(p + i, len - i, &cp);
		if (n == 0)
			return false;
		if (latin_base(cp)) {
			letter = true;
		} else if (cp == ' ' || cp == '\'' || cp == '-' || cp == '.') {
			if (i == 0)
				return false;
		} else {
			return false;
		}
		i += n;
	}
	return letter;
}
