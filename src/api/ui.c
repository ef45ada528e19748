/* Handlers of the browser interface's files: "/" is its page, "/ui/..." its
 * scripts, style sheets, fonts and icons (see src/web).  The page holds no
 * data; everything personal comes through the API behind the gate. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "api/openapi.h"
#include "app/app.h"
#include "web/web.h"

/* "gzip" in Accept-Encoding, unless refused with q=0. */
static bool takes_gzip(const char *ae)
{
	const char *g = ae ? strstr(ae, "gzip") : NULL;
	if (!g)
		return false;
	const char *end = strchr(g, ',');
	const char *q = strstr(g, "q=");
	if (q && (!end || q < end))
		return strtod(q + 2, NULL) > 0;
	return true;
}

static void send_file(struct http_request *r, const char *path)
{
	const struct web_file *f = web_find(r->app->ui, path);
	if (!f) {
		http_reply_error(r, 404, "not_found", r->app->ui ? "risorsa inesistente"
							       : "questo servizio non ha un'interfaccia web");
		return;
	}
	/* The page itself is always revalidated so that a new release takes
	 * effect at once; assets may be cached and are revalidated by tag. */
	r->cacheable = strcmp(path, "index.html") != 0;
	const char *etag = web_etag(r->app->ui, f);
	http_header_add(r, "ETag", etag);
	const char *inm = http_header(r, "If-None-Match");
	if (inm && !strcmp(inm, etag)) {
		http_reply_static(r, 304, f->content_type, "", 0);
		return;
	}
	/* The compressed copy to whoever takes gzip (every browser). */
	http_header_add(r, "Vary", "Accept-Encoding");
	if (takes_gzip(http_header(r, "Accept-Encoding"))) {
		size_t gz_len;
		const unsigned char *gz = web_gzip(r->app->ui, f, &gz_len);
		if (gz) {
			http_header_add(r, "Content-Encoding", "gzip");
			http_reply_static(r, 200, f->content_type, gz, gz_len);
			return;
		}
	}
	http_reply_static(r, 200, f->content_type, f->data, f->len);
}

void api_ui_index(struct http_request *r)
{
	send_file(r, "index.html");
}

void api_ui_asset(struct http_request *r)
{
	/* Exact names only: the set was fixed at start, so no "..", no
	 * directory listing, nothing else on disk is reachable. */
	send_file(r, r->path + strlen("/ui/"));
}

/* The API's contract, as this build knows it (docs/openapi.yaml). */
void api_openapi(struct http_request *r)
{
	r->cacheable = true;
	http_reply_static(r, 200, "application/json", openapi_json, openapi_json_len);
}

/* GET /api/v1/help: what the interface's help page shows besides the
 * guides, and the heading of its pages (print_heading, as on the printed
 * visura) — configuration, not data: public, as the page is before login. */
void api_help(struct http_request *r)
{
	const struct config *c = &r->app->cfg;
	http_reply_json(r, 200, json_pack("{s:{s:s,s:s},s:s,s:s,s:s,s:b}", "help_desk", "contact",
					  c->help_desk_contact, "hours", c->help_desk_hours,
					  "accessibility_url", c->accessibility_url, "privacy_url",
					  c->privacy_url, "heading", c->print_heading, "spid_cie",
					  r->app->oidc != NULL));
}
