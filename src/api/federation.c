/* GET /.well-known/openid-federation, and the same under the path of
 * oidc_client_id (where the federation looks for it: the entity id +
 * /.well-known/openid-federation): the relying party's entity
 * configuration (OpenID Federation, the SPID/CIE profile; oidc/oidc.h),
 * signed with its federation key; public.  404 when SPID/CIE is not
 * configured, or under another path. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/internal.h"
#include "app/app.h"
#include "oidc/oidc.h"

void api_oidc_federation(struct http_request *r)
{
	if (!r->app->oidc) {
		http_reply_error(r, 404, "not_found",
				 "nessuna entity configuration è pubblicata: l'accesso con SPID o CIE "
				 "non è configurato");
		return;
	}
	/* Under a path: only oidc_client_id's (without its final '/'). */
	static const char WK[] = "/.well-known/openid-federation";
	if (strcmp(r->path, WK)) {
		const char *id = r->app->cfg.oidc_client_id, *sep = strstr(id, "://");
		const char *path = sep ? strchr(sep + 3, '/') : NULL;
		size_t n = path ? strcspn(path, "?#") : 0, k = strlen(r->path) - (sizeof WK - 1);
		while (n && path[n - 1] == '/')
			n--;
		if (!n || n != k || strncmp(r->path, path, n)) {
			http_reply_error(r, 404, "not_found",
					 "nessuna entity configuration a questo indirizzo: è pubblicata "
					 "sotto il percorso del client_id dell'RP e alla radice");
			return;
		}
	}
	struct vis_error e = {0};
	char *jwt = oidc_entity_configuration(r->app->oidc, api_now(r), &e);
	if (!jwt) {
		api_fail(r, &e);
		return;
	}
	http_reply_bytes(r, 200, "application/entity-statement+jwt", jwt, strlen(jwt));
	free(jwt);
}
