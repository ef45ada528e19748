/* What the http layer is told about this service: the http_config of a
 * listener (from the app's configuration) and the hook it calls once per
 * response (metrics and the request log). */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "app/app.h"
#include "common/log.h"
#include "common/str.h"
#include "metrics/metrics.h"
#include "store/store.h"

/* The request fields of this service's own that it reads from one line
 * (http_config.single_fields): the session's CSRF token, the end user a
 * service account acts for, and ModI's signature, tracking evidence and
 * the body's digest it signs (one of each, in PDND's interoperability
 * model). */
static const char *const single_fields[] = {
	"X-CSRF-Token", "X-Visura-On-Behalf-Of", "Agid-JWT-Signature",
	"Agid-JWT-TrackingEvidence", "Digest", NULL,
};

static void on_response(struct http_request *r, double seconds)
{
	metrics_request(r->app->metrics, r->route ? r->route : "-", r->status, seconds);
	log_info("richiesta",
		 "request_id=%s method=%s route=%s status=%d ms=%.2f account=%lld ip=%s",
		 r->request_id, r->method, r->route, r->status, seconds * 1e3,
		 (long long)(r->auth->authenticated ? r->auth->account.id : 0), r->ip);
}

vis_err api_listener_init(struct api_listener *l, struct app *a, const char *listen, bool tls,
			  struct vis_error *e)
{
	const struct config *cfg = &a->cfg;
	memset(l, 0, sizeof *l);
	/* Uploads go beside the database (the state directory), not to /tmp. */
	char prefix[CONFIG_PATH_MAX];
	if (store_files_prefix(cfg->db, prefix, sizeof prefix, e))
		return e->code;
	char *slash = strrchr(prefix, '/');
	if (slash)
		*(slash == prefix ? slash + 1 : slash) = '\0';
	STR_COPY_KNOWN(l->upload_dir, slash ? prefix : "."); /* both CONFIG_PATH_MAX */
	/* Workstation certificates: the configured CA (then required), or the
	 * municipality's beside the database when it exists. */
	if (cfg->client_ca[0]) {
		STR_COPY_KNOWN(l->client_ca, cfg->client_ca); /* CONFIG_PATH_MAX, smaller */
	} else if (store_files_path(cfg->db, NULL, ".ca-cert.pem", l->client_ca,
				    sizeof l->client_ca, e)) {
		return e->code;
	}
	l->http = (struct http_config){
		.listen = listen,
		.tls = tls,
		.tls_cert = cfg->tls_cert,
		.tls_key = cfg->tls_key,
		.client_ca = l->client_ca,
		.client_ca_required = cfg->client_ca[0] != '\0',
		.upload_dir = l->upload_dir,
		.max_body = (size_t)cfg->max_body_kb * 1024,
		.max_file_body = (size_t)cfg->max_import_mb << 20,
		.max_uploads = (size_t)cfg->max_uploads_mb << 20,
		.threads = cfg->threads,
		.max_connections = cfg->max_connections,
		.per_ip_connections = cfg->per_ip_connections,
		.connection_timeout = cfg->connection_timeout,
		.trusted_proxies = cfg->trusted_proxies,
		.client_ip_header = cfg->client_ip_header,
		.test_routes = cfg->test_clock,
		.single_fields = single_fields,
		.owner = a,
		.auth_size = sizeof(struct http_auth),
		.in_flight = &a->in_flight,
		.stopping = &a->stopping,
		.on_response = on_response,
		.on_body = api_body_gate,
		.on_send = api_answer_sign,
	};
	return VIS_OK;
}
