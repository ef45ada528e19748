/* qr — a QR code as an SVG drawing, encoded by libqrencode (Debian's
 * libqrencode-dev): the printed visura carries its receipt in one.
 *
 * Owns: the drawing only.  The picture is one <path> of unit squares, so
 * that a reader can check its shape without parsing SVG (qr_svg_shape_ok). */
#ifndef VISURA_COMMON_QR_H
#define VISURA_COMMON_QR_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "common/str.h"

/* Appends to sb an <svg> of `text` (8-bit mode, error correction L, the
 * smallest version that holds it, a 4-module quiet zone):
 *   <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 N N" class="qr"
 *   role="img" aria-label="LABEL"><path d="M..h1v1h-1z..."/></svg>
 * LABEL is HTML-escaped.  VIS_ERR_INVALID when the text does not fit a QR
 * code (more than 2,953 bytes), VIS_ERR_NOMEM. */
vis_err qr_svg(struct strbuf *sb, const char *text, const char *label);

/* Is s[0..len) exactly what qr_svg writes for some text with this label?
 * (The shape: the fixed parts, a number, and path commands alone.) */
bool qr_svg_shape_ok(const char *s, size_t len, const char *label);

#endif
