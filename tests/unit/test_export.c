/* Unit tests: the one CSV of the access trail (audit/export) — its column
 * set, one line per record in that order, every cell quoted (RFC 4180)
 * and formulas neutralised. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "audit/export.h"

static int cells(const char *line)
{
	int n = 1;
	bool quoted = false;
	for (const char *p = line; *p && *p != '\n'; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (*p == ',' && !quoted)
			n++;
	}
	return n;
}

static void test_header(void **state)
{
	(void)state;
	assert_string_equal(audit_export_csv_header,
			    "id,at,at_ms,account_id,username,ente_id,purpose_id,case_ref,on_behalf_of,"
			    "ip,operation,query,subjects,categories,outcome,status,flags,prev_hash,hash\n");
	assert_int_equal(cells(audit_export_csv_header), 19);
}

static void test_row(void **state)
{
	(void)state;
	struct store_access a = {.id = 42, .at = 1790000000123, .account_id = 7, .ente_id = 3,
				 .purpose_id = 5, .status = 200,
				 .subjects = "RSSMRA80A01F257X,BNCNNA82C55F257Y"};
	strcpy(a.username, "op1");
	strcpy(a.case_ref, "=1+1");
	strcpy(a.ip, "192.0.2.1");
	strcpy(a.operation, "person_get");
	strcpy(a.query, "cf=RSSMRA80A01F257X");
	strcpy(a.categories, "identity");
	strcpy(a.outcome, "ok");
	strcpy(a.prev_hash, "aa");
	strcpy(a.hash, "bb");
	struct strbuf sb;
	strbuf_init(&sb, 1 << 16);
	assert_true(audit_export_csv_row(&sb, &a));
	assert_string_equal(sb.buf, "\"42\",\"2026-09-21T14:13:20Z\",\"1790000000123\",\"7\","
				    "\"op1\",\"3\",\"5\",\"'=1+1\",\"\",\"192.0.2.1\",\"person_get\","
				    "\"cf=RSSMRA80A01F257X\",\"RSSMRA80A01F257X,BNCNNA82C55F257Y\","
				    "\"identity\",\"ok\",\"200\",\"\",\"aa\",\"bb\"\n");
	assert_int_equal(cells(sb.buf), 19);
	strbuf_release(&sb);
	/* a line that does not fit its buffer fails, never cut */
	strbuf_init(&sb, 32);
	assert_false(audit_export_csv_row(&sb, &a));
	strbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_row),
	};
	return cmocka_run_group_tests_name("audit export", tests, NULL, NULL);
}
