/* GET /.well-known/openid-federation: the relying party's entity
 * configuration (OpenID Federation, the SPID/CIE profile; oidc/oidc.h),
 * signed with its federation key; public.  404 when SPID/CIE is not
 * configured. */
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
	struct vis_error e = {0};
	char *jwt = oidc_entity_configuration(r->app->oidc, api_now(r), &e);
	if (!jwt) {
		api_fail(r, &e);
		return;
	}
	http_reply_bytes(r, 200, "application/entity-statement+jwt", jwt, strlen(jwt));
	free(jwt);
}
