#include "stats/stats.h"

#include <string.h>

vis_err stats_threshold_check(int threshold, int floor, struct vis_error *e)
{
	if (threshold < floor)
		return vis_error_set(e, VIS_ERR_INVALID,
				     "la soglia %d è sotto il minimo di %d fissato dalla configurazione "
				     "(stats_threshold_min): celle più piccole identificherebbero persone",
				     threshold, floor);
	if (threshold > 1000)
		return vis_error_set(e, VIS_ERR_INVALID, "la soglia è al massimo 1000");
	return VIS_OK;
}

bool stats_covered(const char *comuni, const char *comune)
{
	if (!comuni[0])
		return true;
	size_t n = strlen(comune);
	for (const char *p = comuni; (p = strstr(p, comune)); p += n)
		if ((p == comuni || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
	return false;
}
