/* The province's map of a bulletin: the boundaries the interface draws
 * (web/src/geo/comuni-PPP.topo.json: ISTAT's, simplified and converted to
 * TopoJSON by openpolis, CC-BY 4.0; see its SOURCE.md), decoded here and
 * projected onto a box (equirectangular, longitudes shortened by the
 * cosine of the middle latitude: at a province's size close to what the
 * interface's Mercator draws), the municipality highlighted.  Both
 * renderings draw the result: the page as inline SVG, the PDF as paths. */
#include "bollettino/bollettino.h"
#include "common/str.h"
#include "web/web.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAP_W 400.0
#define MAP_H 300.0
#define MAP_PAD 6.0

struct topo {
	json_t *arcs;
	double sx, sy, tx, ty;
	double min_x, min_y, max_x, max_y;   /* lon, lat */
};

/* The points of arc i (negative: ~i reversed), appended to ring as
 * lon, lat pairs; the first point dropped when the ring has some. */
static void arc_append(struct topo *t, json_int_t i, json_t *ring)
{
	bool rev = i < 0;
	json_t *arc = json_array_get(t->arcs, (size_t)(rev ? ~i : i));
	size_t n = json_array_size(arc);
	if (!n)
		return;
	double *pts = malloc(n * 2 * sizeof *pts);
	if (!pts)
		return;
	json_int_t x = 0, y = 0;
	for (size_t k = 0; k < n; k++) {
		json_t *p = json_array_get(arc, k);
		x += json_integer_value(json_array_get(p, 0));
		y += json_integer_value(json_array_get(p, 1));
		pts[2 * k] = (double)x * t->sx + t->tx;
		pts[2 * k + 1] = (double)y * t->sy + t->ty;
	}
	for (size_t k = json_array_size(ring) ? 1 : 0; k < n; k++) {
		size_t j = rev ? n - 1 - k : k;
		json_array_append_new(ring, json_real(pts[2 * j]));
		json_array_append_new(ring, json_real(pts[2 * j + 1]));
	}
	free(pts);
}

/* The rings of a polygon (an array of arc lists). */
static void polygon(struct topo *t, json_t *arcs, json_t *rings)
{
	size_t i, j;
	json_t *list, *a;
	json_array_foreach(arcs, i, list) {
		json_t *ring = json_array();
		json_array_foreach(list, j, a)
			arc_append(t, json_integer_value(a), ring);
		for (size_t k = 0; k + 1 < json_array_size(ring); k += 2) {
			double lon = json_real_value(json_array_get(ring, k));
			double lat = json_real_value(json_array_get(ring, k + 1));
			t->min_x = fmin(t->min_x, lon);
			t->max_x = fmax(t->max_x, lon);
			t->min_y = fmin(t->min_y, lat);
			t->max_y = fmax(t->max_y, lat);
		}
		json_array_append_new(rings, ring);
	}
}

json_t *bollettino_map(const struct web_assets *ui, const char *comune)
{
	char path[40];
	STR_FMT_KNOWN(path, "geo/comuni-%.3s.topo.json", comune); /* its precision bounds it */
	const struct web_file *f = ui ? web_find(ui, path) : NULL;
	if (!f)
		return NULL;
	json_t *topo = json_loadb((const char *)f->data, f->len, 0, NULL);
	json_t *tr = json_object_get(topo, "transform");
	json_t *geoms = json_object_get(json_object_get(json_object_get(topo, "objects"), "comuni"),
					"geometries");
	if (!json_is_array(geoms) || !json_is_object(tr)) {
		json_decref(topo);
		return NULL;
	}
	struct topo t = {
		.arcs = json_object_get(topo, "arcs"),
		.sx = json_number_value(json_array_get(json_object_get(tr, "scale"), 0)),
		.sy = json_number_value(json_array_get(json_object_get(tr, "scale"), 1)),
		.tx = json_number_value(json_array_get(json_object_get(tr, "translate"), 0)),
		.ty = json_number_value(json_array_get(json_object_get(tr, "translate"), 1)),
		.min_x = 1e9, .min_y = 1e9, .max_x = -1e9, .max_y = -1e9,
	};
	json_t *units = json_array();
	bool found = false;
	size_t i, j;
	json_t *g, *poly;
	json_array_foreach(geoms, i, g) {
		const char *type = json_string_value(json_object_get(g, "type"));
		json_t *props = json_object_get(g, "properties");
		const char *code = json_string_value(json_object_get(props, "com_istat_code"));
		const char *name = json_string_value(json_object_get(props, "name"));
		json_t *rings = json_array();
		if (type && !strcmp(type, "Polygon"))
			polygon(&t, json_object_get(g, "arcs"), rings);
		else if (type && !strcmp(type, "MultiPolygon"))
			json_array_foreach(json_object_get(g, "arcs"), j, poly)
				polygon(&t, poly, rings);
		bool mine = code && !strcmp(code, comune);
		found |= mine;
		json_array_append_new(units, json_pack("{s:s,s:s,s:b,s:o}", "codice", code ? code : "",
						       "nome", name ? name : "", "evidenziato", mine,
						       "anelli", rings));
	}
	json_decref(topo);
	if (!found || t.max_x <= t.min_x || t.max_y <= t.min_y) {
		json_decref(units);
		return NULL;
	}
	/* lon, lat into the box: north up, the aspect kept */
	double k = cos((t.min_y + t.max_y) / 2 * M_PI / 180);
	double w = (t.max_x - t.min_x) * k, hgt = t.max_y - t.min_y;
	double scale = fmin((MAP_W - 2 * MAP_PAD) / w, (MAP_H - 2 * MAP_PAD) / hgt);
	double ox = (MAP_W - w * scale) / 2, oy = (MAP_H - hgt * scale) / 2;
	json_t *u, *ring;
	json_array_foreach(units, i, u) {
		json_array_foreach(json_object_get(u, "anelli"), j, ring) {
			for (size_t p = 0; p + 1 < json_array_size(ring); p += 2) {
				double lon = json_real_value(json_array_get(ring, p));
				double lat = json_real_value(json_array_get(ring, p + 1));
				json_array_set_new(ring, p, json_real(round((ox + (lon - t.min_x) * k * scale) * 10) / 10));
				json_array_set_new(ring, p + 1, json_real(round((oy + (t.max_y - lat) * scale) * 10) / 10));
			}
		}
	}
	return json_pack("{s:f,s:f,s:o,s:s}", "larghezza", MAP_W, "altezza", MAP_H, "comuni", units,
			 "fonte", "Confini: ISTAT (CC-BY 4.0), elaborazione openpolis");
}
