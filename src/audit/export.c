#include "audit/export.h"

#include <stdio.h>

#include "common/date.h"

const char audit_export_csv_header[] =
	"id,at,at_ms,account_id,username,ente_id,purpose_id,case_ref,on_behalf_of,ip,operation,"
	"query,subjects,categories,outcome,status,flags,prev_hash,hash\n";

bool audit_export_csv_row(struct strbuf *sb, const struct store_access *a)
{
	char num[6][24], at[21];
	timestamp_format(a->at / 1000, at);
	snprintf(num[0], sizeof num[0], "%lld", (long long)a->id);
	snprintf(num[1], sizeof num[1], "%lld", (long long)a->at);
	snprintf(num[2], sizeof num[2], "%lld", (long long)a->account_id);
	snprintf(num[3], sizeof num[3], "%lld", (long long)a->ente_id);
	snprintf(num[4], sizeof num[4], "%lld", (long long)a->purpose_id);
	snprintf(num[5], sizeof num[5], "%d", a->status);
	const char *f[] = {num[0], at, num[1], num[2], a->username, num[3], num[4], a->case_ref,
			   a->on_behalf_of, a->ip, a->operation, a->query,
			   a->subjects ? a->subjects : "", a->categories, a->outcome, num[5],
			   a->flags, a->prev_hash, a->hash};
	size_t nf = sizeof f / sizeof f[0];
	for (size_t i = 0; i < nf; i++)
		strbuf_add_csv(sb, f[i], i == nf - 1);
	return !sb->err;
}
