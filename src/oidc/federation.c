/* OpenID Federation (oidc.h): the relying party's entity configuration,
 * and the provider's metadata from a trust chain to the configured trust
 * anchor.  Statements are fetched through the outbound rules (oidc_http),
 * checked with libjose (oidc_verified). */
#define _GNU_SOURCE /* asprintf */
#include <curl/curl.h>
#include <jose/jwk.h>
#include <jose/b64.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "common/config.h"
#include "common/monotime.h"
#include "common/str.h"
#include "oidc/internal.h"

#define FED_TYP "entity-statement+jwt"
#define FED_CTYPE "application/entity-statement+jwt"
#define JWKS_TYP "jwk-set+jwt"
#define JWKS_CTYPE "application/jwk-set+jwt"
#define STATEMENT_MAX (64u << 10)  /* one statement, bytes */
#define CHAIN_DEPTH 4              /* superiors above the provider, at most */
#define FETCHES_MAX 12             /* fetches for one resolution, at most */
#define RESOLVE_SECONDS 20         /* no new fetch after this long */
#define RETRY_SECONDS 30           /* a failed resolution is kept this long */
#define REFRESH_AHEAD 300          /* a chain refreshed this long before its exp, at most */
#define MARKS_MAX (64u << 10)

/* "a, b,c" → ["a","b","c"] (empty items skipped). */
static json_t *list_array(const char *list)
{
	json_t *out = json_array();
	const char *p = list;
	while (*p) {
		p += strspn(p, " ,");
		size_t n = strcspn(p, ",");
		size_t k = n;
		while (k && p[k - 1] == ' ')
			k--;
		if (k)
			json_array_append_new(out, json_stringn(p, k));
		p += n;
	}
	return out;
}

vis_err oidc_federation_open(struct oidc *o, struct vis_error *e)
{
	const char *path = o->cfg->oidc_trust_marks;
	if (!path[0])
		return VIS_OK;
	struct stat st;
	json_t *marks = NULL;
	if (!stat(path, &st) && st.st_size <= (off_t)MARKS_MAX)
		marks = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
	size_t i;
	json_t *m;
	bool ok = json_is_array(marks);
	json_array_foreach(marks, i, m) {
		if (!json_is_string(json_object_get(m, "id")) ||
		    !json_is_string(json_object_get(m, "trust_mark")))
			ok = false;
	}
	if (!ok) {
		json_decref(marks);
		return vis_error_set(e, VIS_ERR_INVALID,
				     "oidc_trust_marks: '%s' non è un array JSON di {\"id\", "
				     "\"trust_mark\"} (al massimo %u byte)", path, MARKS_MAX);
	}
	o->trust_marks = marks;
	return VIS_OK;
}

/* ---- the entity configuration ---- */

char *oidc_entity_configuration(struct oidc *o, int64_t now, struct vis_error *e)
{
	const struct config *c = o->cfg;
	json_t *fed = json_deep_copy(o->fed_key);
	json_t *rp_jwks = oidc_rp_jwks(o);
	if (!fed || !jose_jwk_pub(NULL, fed) || !rp_jwks) {
		json_decref(fed);
		json_decref(rp_jwks);
		vis_error_set(e, VIS_ERR_INTERNAL, "impossibile leggere le chiavi del relying "
						   "party");
		return NULL;
	}
	json_t *rp = json_pack(
		"{s:s,s:[s],s:[s],s:o,s:[s],s:[s],s:s,s:s,s:s,s:s,s:s,s:s,s:o}", "client_id",
		c->oidc_client_id, "client_registration_types", "automatic", "redirect_uris",
		c->oidc_redirect_uri, "jwks", rp_jwks, "grant_types", "authorization_code",
		"response_types", "code", "token_endpoint_auth_method", "private_key_jwt",
		"token_endpoint_auth_signing_alg", "ES256", "request_object_signing_alg", "ES256",
		"id_token_signed_response_alg", "RS256", "userinfo_signed_response_alg", "RS256",
		"application_type", "web", "contacts", list_array(c->oidc_contacts));
	json_object_set_new(rp, "userinfo_encrypted_response_alg", json_string("RSA-OAEP-256"));
	json_object_set_new(rp, "userinfo_encrypted_response_enc", json_string("A256CBC-HS512"));
	json_t *entity = json_pack("{s:o}", "contacts", list_array(c->oidc_contacts));
	if (c->oidc_organization_name[0]) {
		json_object_set_new(rp, "organization_name", json_string(c->oidc_organization_name));
		json_object_set_new(rp, "client_name", json_string(c->oidc_organization_name));
		json_object_set_new(entity, "organization_name",
				    json_string(c->oidc_organization_name));
	}
	json_t *claims = json_pack("{s:s,s:s,s:I,s:I,s:{s:[o]},s:{s:o,s:o}}", "iss",
				   c->oidc_client_id, "sub", c->oidc_client_id, "iat", (json_int_t)now,
				   "exp", (json_int_t)(now + c->oidc_entity_lifetime), "jwks", "keys",
				   fed, "metadata", "federation_entity", entity,
				   "openid_relying_party", rp);
	/* The key rotated away, still published until its grace ends. */
	if (claims && o->fed_prev && now < o->fed_prev_until)
		json_array_append(json_object_get(json_object_get(claims, "jwks"), "keys"),
				  o->fed_prev);
	json_t *hints = list_array(c->oidc_authority_hints);
	if (claims && json_array_size(hints))
		json_object_set(claims, "authority_hints", hints);
	json_decref(hints);
	if (claims && o->trust_marks)
		json_object_set(claims, "trust_marks", o->trust_marks);
	char *out = claims ? oidc_sign(o->fed_key, o->fed_kid, FED_TYP, claims) : NULL;
	if (!out)
		vis_error_set(e, VIS_ERR_INTERNAL, "impossibile firmare la entity configuration");
	return out;
}

/* ---- the trust chain ---- */

struct climb {
	struct oidc *o;
	int64_t now;
	int fetches;
	int64_t started;       /* monotime_s() */
	int64_t until;         /* the earliest exp seen */
	json_t *policies;      /* openid_provider policies, the lowest superior's first */
	json_t *over;          /* the provider's superior's metadata for it, or NULL */
	json_t *ta_ec;         /* the trust anchor's entity configuration, once reached */
	json_t *op_fed_keys;   /* the provider's federation keys its superior vouches for */
	bool mark;             /* what failed is a trust mark of the provider */
	char why[200];
};

/* What failed (what), and about whom. */
static bool no(struct climb *c, const char *what, const char *who)
{
	STR_FMT_KNOWN(c->why, "%.110s: %.85s", what, who); /* its precisions bound it (197 bytes) */
	return false;
}

/* A document of content type ctype fetched: malloc'd text, or NULL with
 * c->why. */
static char *fetch_typed(struct climb *c, const char *url, const char *want)
{
	if (++c->fetches > FETCHES_MAX || monotime_s() - c->started > RESOLVE_SECONDS) {
		no(c, "troppi scaricamenti o troppo tempo per una catena", "al massimo 12 in 20 s");
		return NULL;
	}
	char *buf = malloc(STATEMENT_MAX + 1), net[160] = "", ctype[128] = "";
	char accept[160];
	STR_FMT_KNOWN(accept, "Accept: %s", want); /* a media type, a constant */
	const char *const hdrs[] = {accept, NULL};
	long st = buf ? oidc_http(c->o, url, hdrs, NULL, buf, STATEMENT_MAX + 1, ctype, net,
				  sizeof net)
		      : 0;
	size_t n = strlen(want);
	if (st != 200 || strncasecmp(ctype, want, n) || (ctype[n] && ctype[n] != ';')) {
		char not[80];
		STR_FMT_KNOWN(not, "non %s", want); /* a media type, a constant */
		/* its precisions bound it (192 bytes) */
		STR_FMT_KNOWN(c->why, "%.120s: %.70s", url,
			      !st         ? net
			      : st != 200 ? "non 200"
					  : not );
		free(buf);
		return NULL;
	}
	buf[strcspn(buf, " \r\n")] = '\0';
	return buf;
}

/* A statement fetched: malloc'd text, or NULL with c->why. */
static char *fetch(struct climb *c, const char *url)
{
	return fetch_typed(c, url, FED_CTYPE);
}

/* iss, sub and times of a statement; its exp counted. */
static bool statement_ok(struct climb *c, const json_t *p, const char *iss, const char *sub)
{
	const char *i = json_string_value(json_object_get(p, "iss"));
	const char *s = json_string_value(json_object_get(p, "sub"));
	json_t *exp = json_object_get(p, "exp"), *iat = json_object_get(p, "iat");
	int skew = c->o->cfg->oidc_clock_skew;
	if (!i || !s || strcmp(i, iss) || strcmp(s, sub))
		return no(c, "uno statement nomina un iss o un sub diverso da quello atteso; "
			     "riguardo a", sub);
	if (!json_is_integer(exp) || !json_is_integer(iat) ||
	    json_integer_value(iat) > c->now + skew)
		return no(c, "uno statement non ha iat/exp validi; riguardo a", sub);
	if (json_integer_value(exp) + skew <= c->now)
		return no(c, "uno statement è scaduto; riguardo a", sub);
	if (json_integer_value(exp) < c->until)
		c->until = json_integer_value(exp);
	return true;
}

/* The claims of a compact JWS, not verified (to learn which keys to
 * verify it with); NULL when not JSON. */
static json_t *unverified_claims(const char *token)
{
	const char *d1 = strchr(token, '.');
	const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	json_t *b = d2 ? json_stringn(d1 + 1, (size_t)(d2 - d1 - 1)) : NULL;
	json_t *claims = b ? jose_b64_dec_load(b) : NULL;
	json_decref(b);
	return claims;
}

/* The entity configuration of id, checked with set (the trust anchor's
 * configured keys) or, NULL, with its own; *token keeps its text. */
static json_t *configuration(struct climb *c, const char *id, struct jwks *set, char **token)
{
	char *url = NULL;
	size_t n = strlen(id);
	*token = NULL;
	if (asprintf(&url, "%.*s/.well-known/openid-federation", (int)(n && id[n - 1] == '/' ? n - 1 : n),
		     id) < 0)
		return NULL;
	char *t = fetch(c, url);
	free(url);
	if (!t)
		return NULL;
	json_t *own = NULL;
	if (!set) {
		/* Its own keys, read before the signature is checked with them. */
		json_t *claims = unverified_claims(t);
		own = oidc_public_sig_keys(json_object_get(claims, "jwks"));
		json_decref(claims);
	}
	json_t *p = oidc_verified(own, set, c->now, t, STATEMENT_MAX, FED_TYP);
	json_decref(own);
	if (!p) {
		free(t);
		no(c, "una entity configuration non è firmata dalle chiavi attese; di", id);
		return NULL;
	}
	if (!statement_ok(c, p, id, id)) {
		json_decref(p);
		free(t);
		return NULL;
	}
	*token = t;
	return p;
}

static bool climb(struct climb *c, const char *id, const json_t *ec, const char *ec_token,
		  int depth);

/* What superior sup (its configuration sup_ec, its keys sup_keys, or the
 * trust anchor's configured set) states about id, from its fetch
 * endpoint, verified; NULL with c->why. */
static json_t *subordinate(struct climb *c, const char *sup, const json_t *sup_ec,
			   const json_t *sup_keys, struct jwks *sup_set, const char *id)
{
	const char *ep = json_string_value(json_object_get(
		json_object_get(json_object_get(sup_ec, "metadata"), "federation_entity"),
		"federation_fetch_endpoint"));
	char *q = curl_easy_escape(NULL, id, 0), *url = NULL;
	if (!ep || !q || asprintf(&url, "%s%csub=%s", ep, strchr(ep, '?') ? '&' : '?', q) < 0) {
		curl_free(q);
		no(c, "un superiore non ha federation_fetch_endpoint", sup);
		return NULL;
	}
	curl_free(q);
	char *token = fetch(c, url);
	free(url);
	json_t *ss = token ? oidc_verified(sup_keys, sup_set, c->now, token, STATEMENT_MAX, FED_TYP)
			   : NULL;
	if (token && !ss)
		no(c, "uno statement subordinato non è firmato dalle chiavi del suo superiore; "
		      "riguardo a", id);
	free(token);
	if (ss && !statement_ok(c, ss, sup, id)) {
		json_decref(ss);
		return NULL;
	}
	return ss;
}

/* From entity id (its configuration ec, ec_token) to its superior sup. */
static bool via(struct climb *c, const char *id, const char *ec_token, const char *sup, int depth)
{
	struct oidc *o = c->o;
	bool anchor = !strcmp(sup, o->cfg->oidc_trust_anchor);
	char *sup_token = NULL;
	json_t *sup_ec = configuration(c, sup, anchor ? o->ta_keys : NULL, &sup_token);
	json_t *sup_keys = NULL, *ss = NULL, *id_keys = NULL, *verified = NULL;
	bool ok = false;
	size_t had = json_array_size(c->policies);
	if (!sup_ec)
		goto out;
	sup_keys = anchor ? NULL : oidc_public_sig_keys(json_object_get(sup_ec, "jwks"));
	if (!(ss = subordinate(c, sup, sup_ec, sup_keys, anchor ? o->ta_keys : NULL, id)))
		goto out;
	if (anchor) {
		json_decref(c->ta_ec);
		c->ta_ec = json_incref(sup_ec);
	}
	/* The keys the superior vouches for must be the ones that signed
	 * the configuration below. */
	id_keys = oidc_public_sig_keys(json_object_get(ss, "jwks"));
	if (!(verified = oidc_verified(id_keys, NULL, 0, ec_token, STATEMENT_MAX, FED_TYP))) {
		no(c, "una entity configuration non è firmata dalle chiavi che il suo superiore "
		      "indica; di", id);
		goto out;
	}
	size_t i;
	json_t *op;
	json_array_foreach(json_object_get(ss, "metadata_policy_crit"), i, op) {
		if (!json_is_string(op) || !oidc_policy_operator_known(json_string_value(op))) {
			no(c, "uno statement richiede un operatore di policy non compreso; "
			      "riguardo a", id);
			goto out;
		}
	}
	json_t *pol = json_object_get(json_object_get(ss, "metadata_policy"), "openid_provider");
	json_array_append(c->policies, pol ? pol : json_null());
	if (depth == 0) {
		json_decref(c->op_fed_keys);
		c->op_fed_keys = json_incref(id_keys);
		json_decref(c->over);
		c->over = json_incref(
			json_object_get(json_object_get(ss, "metadata"), "openid_provider"));
	}
	ok = anchor || climb(c, sup, sup_ec, sup_token, depth + 1);
	while (!ok && json_array_size(c->policies) > had)
		json_array_remove(c->policies, json_array_size(c->policies) - 1);
out:
	json_decref(verified);
	json_decref(id_keys);
	json_decref(ss);
	json_decref(sup_keys);
	json_decref(sup_ec);
	free(sup_token);
	return ok;
}

static bool climb(struct climb *c, const char *id, const json_t *ec, const char *ec_token,
		  int depth)
{
	json_t *hints = json_object_get(ec, "authority_hints");
	if (!json_array_size(hints))
		return no(c, "nessun authority_hints e non è il trust anchor", id);
	if (depth >= CHAIN_DEPTH)
		return no(c, "la catena è troppo lunga, a partire da", c->o->cfg->oidc_issuer);
	const char *ta = c->o->cfg->oidc_trust_anchor;
	size_t i;
	json_t *h;
	/* The trust anchor first when it is named. */
	json_array_foreach(hints, i, h) {
		if (json_is_string(h) && !strcmp(json_string_value(h), ta))
			return via(c, id, ec_token, ta, depth);
	}
	json_array_foreach(hints, i, h) {
		if (json_is_string(h) && via(c, id, ec_token, json_string_value(h), depth))
			return true;
	}
	return false;
}

/* ---- the provider's trust marks ---- */

/* Whether the trust anchor lets iss issue trust marks of id: the anchor
 * itself, or one its trust_mark_issuers lists for id. */
static bool issuer_listed(struct climb *c, const char *id, const char *iss)
{
	if (!strcmp(iss, c->o->cfg->oidc_trust_anchor))
		return true;
	json_t *all = json_object_get(c->ta_ec, "trust_mark_issuers");
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(all, id), i, v) {
		if (json_is_string(v) && !strcmp(json_string_value(v), iss))
			return true;
	}
	return false;
}

/* One trust mark (a compact JWS) of id for the provider: its issuer
 * listed, its signature by the issuer's federation keys (the anchor's
 * configured ones, or those the anchor's subordinate statement about the
 * issuer names), sub the provider, id, iat and exp.  Its exp counted. */
static bool mark_ok(struct climb *c, const char *id, const char *token)
{
	const char *ta = c->o->cfg->oidc_trust_anchor;
	json_t *claims = unverified_claims(token);
	const char *iss = json_string_value(json_object_get(claims, "iss"));
	json_t *keys = NULL, *p = NULL;
	struct jwks *set = NULL;
	bool ok = false;
	if (!iss || !issuer_listed(c, id, iss)) {
		no(c, "l'emittente di un trust mark non è il trust anchor né è indicato da questo "
		      "per", id);
		goto out;
	}
	if (!strcmp(iss, ta)) {
		set = c->o->ta_keys;
	} else {
		json_t *ss = subordinate(c, ta, c->ta_ec, NULL, c->o->ta_keys, iss);
		if (!ss)
			goto out;
		keys = oidc_public_sig_keys(json_object_get(ss, "jwks"));
		json_decref(ss);
	}
	if (!(p = oidc_verified(keys, set, c->now, token, STATEMENT_MAX, NULL))) {
		no(c, "un trust mark non è firmato dalle chiavi di federazione del suo emittente; "
		      "di", id);
		goto out;
	}
	const char *vi = json_string_value(json_object_get(p, "iss"));
	const char *sub = json_string_value(json_object_get(p, "sub"));
	const char *pid = json_string_value(json_object_get(p, "id"));
	json_t *iat = json_object_get(p, "iat"), *exp = json_object_get(p, "exp");
	int skew = c->o->cfg->oidc_clock_skew;
	if (!vi || strcmp(vi, iss) || !pid || strcmp(pid, id)) {
		no(c, "un trust mark nomina un iss o un id diverso da quello atteso; di", id);
		goto out;
	}
	if (!sub || strcmp(sub, c->o->cfg->oidc_issuer)) {
		no(c, "un trust mark è per un'entità diversa dal provider; di", id);
		goto out;
	}
	if (!json_is_integer(iat) || !json_is_integer(exp) ||
	    json_integer_value(iat) > c->now + skew) {
		no(c, "un trust mark non ha iat/exp validi; di", id);
		goto out;
	}
	if (json_integer_value(exp) + skew <= c->now) {
		no(c, "un trust mark è scaduto; di", id);
		goto out;
	}
	if (json_integer_value(exp) < c->until)
		c->until = json_integer_value(exp);
	ok = true;
out:
	json_decref(p);
	json_decref(keys);
	json_decref(claims);
	return ok;
}

/* Every trust mark id of oidc_op_trust_marks held by the provider (its
 * configuration leaf): one valid mark of that id each. */
static bool marks_ok(struct climb *c, const json_t *leaf)
{
	const char *want = c->o->cfg->oidc_op_trust_marks;
	if (!strcmp(want, "none"))
		return true;
	json_t *ids = list_array(want);
	size_t i, j;
	json_t *id, *m;
	bool ok = true;
	json_array_foreach(ids, i, id) {
		const char *r = json_string_value(id);
		bool held = false, seen = false;
		json_array_foreach(json_object_get(leaf, "trust_marks"), j, m) {
			const char *mid = json_string_value(json_object_get(m, "id"));
			const char *t = json_string_value(json_object_get(m, "trust_mark"));
			if (!mid || strcmp(mid, r) || !t)
				continue;
			seen = true;
			if ((held = mark_ok(c, r, t)))
				break;
		}
		if (!held) {
			if (!seen)
				no(c, "il provider non ha il trust mark", r);
			c->mark = true;
			ok = false;
			break;
		}
	}
	json_decref(ids);
	return ok;
}

/* The provider's metadata once the chain holds: policies merged from the
 * trust anchor down, applied. */
static json_t *resolved_metadata(struct climb *c, const json_t *leaf)
{
	json_t *md = json_deep_copy(json_object_get(json_object_get(leaf, "metadata"),
						    "openid_provider"));
	if (!json_is_object(md)) {
		json_decref(md);
		no(c, "no openid_provider metadata", c->o->cfg->oidc_issuer);
		return NULL;
	}
	if (json_is_object(c->over))
		json_object_update(md, c->over);
	json_t *merged = json_object();
	for (size_t i = json_array_size(c->policies); merged && i-- > 0;) {
		json_t *p = json_array_get(c->policies, i);
		json_t *m = json_is_null(p) ? json_incref(merged)
					    : oidc_policy_merge(merged, p, c->why, sizeof c->why);
		json_decref(merged);
		merged = m;
	}
	json_t *out = merged ? oidc_policy_apply(merged, md, c->why, sizeof c->why) : NULL;
	json_decref(merged);
	json_decref(md);
	return out;
}

/* The provider's signing keys from its metadata md: jwks; else
 * signed_jwks_uri, a JWS (typ jwk-set+jwt) fetched and verified with the
 * provider's federation keys (those its superior vouches for), iss and
 * sub the provider; jwks_uri alone is refused (the profile has the
 * provider publish jwks instead).  A new array, or NULL with c->why. */
static json_t *op_keys(struct climb *c, const json_t *md)
{
	const char *id = c->o->cfg->oidc_issuer;
	if (json_object_get(md, "jwks"))
		return oidc_public_sig_keys(json_object_get(md, "jwks"));
	const char *url = json_string_value(json_object_get(md, "signed_jwks_uri"));
	if (!url) {
		no(c, json_object_get(md, "jwks_uri")
			      ? "i metadati del provider hanno jwks_uri ma né jwks né "
				"signed_jwks_uri (il profilo chiede jwks)"
			      : "i metadati del provider non hanno né jwks né signed_jwks_uri",
		   id);
		return NULL;
	}
	char *t = fetch_typed(c, url, JWKS_CTYPE);
	json_t *p = t ? oidc_verified(c->op_fed_keys, NULL, 0, t, STATEMENT_MAX, JWKS_TYP) : NULL;
	json_t *keys = NULL;
	if (t && !p)
		no(c, "il signed_jwks_uri del provider non è firmato dalle sue chiavi di "
		      "federazione", url);
	else if (p) {
		const char *iss = json_string_value(json_object_get(p, "iss"));
		const char *sub = json_string_value(json_object_get(p, "sub"));
		json_t *exp = json_object_get(p, "exp");
		int skew = c->o->cfg->oidc_clock_skew;
		if (!iss || !sub || strcmp(iss, id) || strcmp(sub, id))
			no(c, "il JWKS firmato del provider nomina un altro iss o sub", url);
		else if (exp && (!json_is_integer(exp) || json_integer_value(exp) + skew <= c->now))
			no(c, "il JWKS firmato del provider è scaduto", url);
		else {
			if (exp && json_integer_value(exp) < c->until)
				c->until = json_integer_value(exp);
			keys = oidc_public_sig_keys(p);
		}
	}
	json_decref(p);
	free(t);
	return keys;
}

/* The provider's metadata in use, from md. */
static json_t *op_from(struct climb *c, const json_t *md)
{
	const char *iss = json_string_value(json_object_get(md, "issuer"));
	if (iss && strcmp(iss, c->o->cfg->oidc_issuer)) {
		no(c, "i metadati del provider nominano un altro emittente", iss);
		return NULL;
	}
	static const char *const EP[] = {"authorization_endpoint", "token_endpoint",
					 "userinfo_endpoint", NULL};
	json_t *op = json_object();
	for (const char *const *k = EP; *k; k++) {
		const char *v = json_string_value(json_object_get(md, *k));
		if (!v || !*v || strlen(v) >= 512) {
			json_decref(op);
			no(c, "i metadati del provider non hanno un endpoint valido", *k);
			return NULL;
		}
		json_object_set_new(op, *k, json_string(v));
	}
	json_t *keys = op_keys(c, md);
	if (!json_array_size(keys)) {
		if (keys)
			no(c, "i metadati del provider non hanno una chiave di firma", "jwks");
		json_decref(keys);
		json_decref(op);
		return NULL;
	}
	json_object_set_new(op, "keys", keys);
	return op;
}

/* The provider's metadata from a chain resolved at now (touching nothing
 * of o but its settings and keys: run without op_lock); *until its
 * earliest exp.  NULL with why (and *mark when a trust mark failed). */
static json_t *chain_resolve(struct oidc *o, int64_t now, int64_t *until, bool *mark,
			     char *why, size_t cap)
{
	struct climb c = {.o = o, .now = now, .until = INT64_MAX, .policies = json_array()};
	c.started = monotime_s();
	char *token = NULL;
	json_t *op = NULL;
	json_t *leaf = configuration(&c, o->cfg->oidc_issuer, NULL, &token);
	if (leaf && climb(&c, o->cfg->oidc_issuer, leaf, token, 0) && marks_ok(&c, leaf)) {
		json_t *md = resolved_metadata(&c, leaf);
		op = md ? op_from(&c, md) : NULL;
		json_decref(md);
	}
	json_decref(leaf);
	json_decref(c.policies);
	json_decref(c.over);
	json_decref(c.ta_ec);
	json_decref(c.op_fed_keys);
	free(token);
	*mark = c.mark;
	*until = c.until;
	if (!op)
		str_copy_cut(why, cap, c.why);
	return op;
}

/* A resolution by the caller, who set o->resolving: done without
 * op_lock, so that logins on a chain still valid do not wait for the
 * federation; the result published under it (a failure keeps a chain
 * still valid, and is not tried again for RETRY_SECONDS).  ahead: a
 * refresh before the chain expires (oidc_tick).  *mark: a trust mark
 * failed. */
static bool chain_refresh(struct oidc *o, int64_t now, bool ahead, bool *mark)
{
	int64_t until = 0;
	char why[sizeof o->op_why] = "";
	json_t *op = chain_resolve(o, now, &until, mark, why, sizeof why);
	pthread_mutex_lock(&o->op_lock);
	if (op) {
		json_decref(o->op);
		o->op = op;
		o->op_from = now;
		o->op_until = until;
	} else {
		o->op_retry = now + RETRY_SECONDS;
	}
	o->op_mark = !op && *mark;
	memcpy(o->op_why, why, sizeof why);
	o->resolving = false;
	pthread_cond_broadcast(&o->op_done);
	pthread_mutex_unlock(&o->op_lock);
	json_t *line = op ? json_pack("{s:s,s:s,s:I}", "outcome", "resolved", "trust_anchor",
				      o->cfg->oidc_trust_anchor, "until", (json_int_t)until)
			  : json_pack("{s:s,s:s,s:s}", "outcome", "refused", "trust_anchor",
				      o->cfg->oidc_trust_anchor, "reason", why);
	if (line && ahead)
		json_object_set_new(line, "ahead", json_true());
	oidc_log(o, now, "trust_chain", line);
	return op != NULL;
}

bool oidc_ready(struct oidc *o, int64_t now, struct oidc_refusal *why)
{
	pthread_mutex_lock(&o->op_lock);
	bool ok;
	/* No chain to use and one resolution under way: its result. */
	while (!(ok = o->op && now < o->op_until) && o->resolving)
		pthread_cond_wait(&o->op_done, &o->op_lock);
	bool go = !ok && now >= o->op_retry;
	if (go) {
		json_decref(o->op);
		o->op = NULL;
		o->resolving = true;
	}
	bool mark = o->op_mark;
	pthread_mutex_unlock(&o->op_lock);
	if (go)
		ok = chain_refresh(o, now, false, &mark);
	if (!ok && mark)
		*why = (struct oidc_refusal){
			502, "spid_trust_mark",
			"il gestore dell'identità non ha i marchi di fiducia (trust mark) che la "
			"federazione SPID/CIE richiede, validi e rilasciati da chi il trust anchor "
			"riconosce: l'accesso con SPID o CIE non è possibile ora"};
	else if (!ok)
		*why = (struct oidc_refusal){
			502, "spid_trust_chain",
			"la catena di fiducia della federazione SPID/CIE verso il gestore "
			"dell'identità non è valida o è scaduta: l'accesso con SPID o CIE non è "
			"possibile ora"};
	return ok;
}

void oidc_tick(struct oidc *o, int64_t now)
{
	if (!o->cfg->oidc_trust_anchor[0])
		return;
	pthread_mutex_lock(&o->op_lock);
	int64_t ahead = (o->op_until - o->op_from) / 4;
	if (ahead > REFRESH_AHEAD)
		ahead = REFRESH_AHEAD;
	bool go = o->op && now < o->op_until && now >= o->op_until - ahead &&
		  now >= o->op_retry && !o->resolving;
	if (go)
		o->resolving = true;
	pthread_mutex_unlock(&o->op_lock);
	bool mark;
	if (go)
		chain_refresh(o, now, true, &mark);
}
