/* libFuzzer harness: working-hours schedules and network allow-lists, the
 * two small languages admins type into a body's record.  Whatever the
 * input: no crash, and a schedule that parses formats to text that parses
 * again to the same schedule. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/hours.h"
#include "common/cidr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[HOURS_SPEC_MAX + 1];
	if (size > HOURS_SPEC_MAX)
		size = HOURS_SPEC_MAX;
	memcpy(text, data, size);
	text[size] = '\0';
	struct hours_schedule h, again;
	struct vis_error e = {0};
	if (hours_parse(text, &h, &e) == VIS_OK) {
		char canon[HOURS_SPEC_MAX];
		hours_format(&h, canon, sizeof canon);
		if (hours_parse(canon, &again, &e) != VIS_OK)
			abort();
		char twice[HOURS_SPEC_MAX];
		hours_format(&again, twice, sizeof twice);
		if (strcmp(canon, twice))
			abort();
		hours_allows(&h, 1790000000);
	}
	/* The same bytes as a CIDR list and as an address. */
	if (cidr_list_valid(text))
		cidr_list_contains(text, "192.0.2.1");
	cidr_list_contains("10.0.0.0/8,2001:db8::/32", text);
	return 0;
}
