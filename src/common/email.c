/* E-mail addresses as this service takes them: common/email.h. */
#include "common/email.h"

#include <string.h>

static bool atom_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+/=?^_`{|}~-", c));
}

bool email_valid(const char *a)
{
	size_t n = strlen(a);
	const char *at = strchr(a, '@');
	if (!n || n > EMAIL_MAX || !at || strchr(at + 1, '@'))
		return false;
	size_t local = (size_t)(at - a);
	if (!local || local > 64 || a[0] == '.' || at[-1] == '.')
		return false;
	for (const char *c = a; c < at; c++)
		if (!(atom_char(*c) || (*c == '.' && c[1] != '.')))
			return false;
	int labels = 0;
	const char *label = at + 1;
	for (;;) {
		const char *end = strchr(label, '.');
		size_t len = end ? (size_t)(end - label) : strlen(label);
		if (!len || len > 63 || label[0] == '-' || label[len - 1] == '-')
			return false;
		for (size_t i = 0; i < len; i++) {
			char c = label[i];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '-'))
				return false;
		}
		labels++;
		if (!end)
			break;
		label = end + 1;
	}
	return labels >= 2;
}
