/* seed — the smallest world the corridor's modules need, for unit tests:
 * bodies, accounts, agreements with their purposes, and a municipality's
 * register (households and persons), written through the store.
 *
 * Owns: nothing but the test data; every helper fails the running cmocka
 * test when the store refuses. */
#ifndef VISURA_TESTS_SEED_H
#define VISURA_TESTS_SEED_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

/* The register's municipality (Modena) and one no agreement covers. */
#define SEED_COMUNE "036023"
#define SEED_OTHER_COMUNE "037006"

int64_t seed_body(struct store *s, const char *name);
/* An active operator of the body (role "operator"). */
void seed_account(struct store *s, int64_t ente_id, const char *username,
		  struct store_account *out);
/* An active consultation agreement of the body on SEED_COMUNE from 2020,
 * open-ended, generous limits, break-glass allowed; `profile` lists its
 * categories.  Returns its id; *purpose is the id of its one purpose. */
int64_t seed_agreement(struct store *s, int64_t ente_id, const char *profile, int64_t *purpose);
/* Rewrites an agreement through `edit`. */
void seed_agreement_edit(struct store *s, int64_t id,
			 void (*edit)(struct store_convenzione *c, void *ctx), void *ctx);

/* The persons of the register (codici fiscali). */
#define SEED_ANNA "BNCNNA82C55F257X"   /* head of household F1, SEED_COMUNE */
#define SEED_LUCA "RSSLCU12L30F257M"   /* her son, F1 */
#define SEED_ELSA "VRDLSE90A41A944R"   /* in SEED_OTHER_COMUNE */
/* Imports the register above; with `crowd` > 0 also a convivenza "C1" of
 * that many more persons in SEED_COMUNE, whose first member's codice
 * fiscale is written to crowd_cf (17 bytes). */
void seed_register(struct store *s, int crowd, char *crowd_cf);

#endif
