/* openapi — the API's contract as the server serves it.
 *
 * Owns: the bytes of docs/openapi.yaml as compact JSON, generated into the
 * build at compile time (scripts/openapi-c.py), served at
 * GET /api/v1/openapi.json.  The route table and the contract are checked
 * against each other by tests/e2e/test_openapi.py. */
#ifndef VISURA_API_OPENAPI_H
#define VISURA_API_OPENAPI_H

#include <stddef.h>

extern const unsigned char openapi_json[];
extern const size_t openapi_json_len;

#endif
