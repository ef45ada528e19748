/* cidr — IPv4 and IPv6 addresses and networks ("192.0.2.0/24",
 * "2001:db8::/32"), for the allow-lists of bodies and trusted proxies. */
#ifndef VISURA_COMMON_CIDR_H
#define VISURA_COMMON_CIDR_H

#include <stdbool.h>
#include <stddef.h>

/* True when every comma-separated item of list is a valid address or
 * network (an empty list is valid). */
bool cidr_list_valid(const char *list);

/* True when address `ip` (text) lies in one of the list's networks. */
bool cidr_list_contains(const char *list, const char *ip);

#endif
