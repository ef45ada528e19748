#include "common/cidr.h"

#include "common/str.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct net {
	int family;
	unsigned char addr[16];
	int prefix;
};

static bool parse_addr(const char *s, int *family, unsigned char out[16])
{
	if (inet_pton(AF_INET, s, out) == 1) {
		*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, out) == 1) {
		*family = AF_INET6;
		return true;
	}
	return false;
}

static bool parse_net(const char *item, size_t n, struct net *out)
{
	char buf[64];
	if (n == 0 || n >= sizeof buf)
		return false;
	memcpy(buf, item, n);
	buf[n] = '\0';
	char *slash = strchr(buf, '/');
	int max;
	if (slash)
		*slash = '\0';
	if (!parse_addr(buf, &out->family, out->addr))
		return false;
	max = out->family == AF_INET ? 32 : 128;
	out->prefix = max;
	if (slash) {
		int64_t p; /* digits only: strtol alone took "/ 8" and "/+8" */
		if (!str_uint(slash + 1, max, &p))
			return false;
		out->prefix = (int)p;
	}
	return true;
}

static bool in_net(const struct net *n, int family, const unsigned char *a)
{
	if (n->family != family)
		return false;
	int full = n->prefix / 8, rest = n->prefix % 8;
	if (memcmp(n->addr, a, (size_t)full))
		return false;
	if (rest) {
		unsigned char mask = (unsigned char)(0xff << (8 - rest));
		return (n->addr[full] & mask) == (a[full] & mask);
	}
	return true;
}

bool cidr_list_valid(const char *list)
{
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		while (n && p[0] == ' ') {
			p++;
			n--;
		}
		struct net net;
		if (!parse_net(p, n, &net))
			return false;
		p += n;
		if (*p == ',' && !*++p)
			return false;
	}
	return true;
}

bool cidr_list_contains(const char *list, const char *ip)
{
	unsigned char a[16];
	int family;
	if (!parse_addr(ip, &family, a))
		return false;
	/* An IPv4 client seen through an IPv6 socket (::ffff:a.b.c.d). */
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	unsigned char v4[16];
	bool is_mapped = family == AF_INET6 && !memcmp(a, mapped, 12);
	if (is_mapped)
		memcpy(v4, a + 12, 4);
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		while (n && p[0] == ' ') {
			p++;
			n--;
		}
		struct net net;
		if (parse_net(p, n, &net) &&
		    (in_net(&net, family, a) || (is_mapped && in_net(&net, AF_INET, v4))))
			return true;
		p += n + (p[n] == ',');
	}
	return false;
}
