#include "common/qr.h"

#include <errno.h>
#include <qrencode.h>
#include <string.h>

#define QR_QUIET 4

static void svg_open(struct strbuf *sb, int n, const char *label)
{
	strbuf_addf(sb, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
		    "class=\"qr\" role=\"img\" aria-label=\"", n, n);
	strbuf_add_html(sb, label);
	strbuf_adds(sb, "\"><path d=\"");
}

static const char svg_close[] = "\"/></svg>";

vis_err qr_svg(struct strbuf *sb, const char *text, const char *label)
{
	errno = 0;
	QRcode *q = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_L);
	if (!q)
		return errno == ENOMEM ? VIS_ERR_NOMEM : VIS_ERR_INVALID;
	int w = q->width, n = w + 2 * QR_QUIET;
	svg_open(sb, n, label);
	/* One run of dark modules of a row: "M x y h len v1 h -len z". */
	for (int y = 0; y < w; y++)
		for (int x = 0; x < w;) {
			if (!(q->data[y * w + x] & 1)) {
				x++;
				continue;
			}
			int run = 0;
			while (x + run < w && (q->data[y * w + x + run] & 1))
				run++;
			strbuf_addf(sb, "M%d %dh%dv1h-%dz", x + QR_QUIET, y + QR_QUIET, run, run);
			x += run;
		}
	QRcode_free(q);
	return strbuf_adds(sb, svg_close);
}

bool qr_svg_shape_ok(const char *s, size_t len, const char *label)
{
	struct strbuf head;
	strbuf_init(&head, 4096);
	svg_open(&head, 0, label);
	/* The head with "0 0 N N": compare the parts around the numbers. */
	const char *vb = strstr(head.buf, "0 0 0 0");
	bool ok = !head.err && vb;
	size_t pre = ok ? (size_t)(vb - head.buf) + 4 : 0;
	ok = ok && len > pre && !memcmp(s, head.buf, pre);
	size_t i = pre, d1 = 0, d2 = 0;
	while (ok && i < len && s[i] >= '0' && s[i] <= '9')
		i++, d1++;
	ok = ok && d1 >= 2 && d1 <= 3 && i < len && s[i++] == ' ';
	while (ok && i < len && s[i] >= '0' && s[i] <= '9')
		i++, d2++;
	ok = ok && d2 == d1 && !memcmp(s + pre, s + pre + d1 + 1, d1);
	const char *rest = vb + 7; /* after "0 0 0 0" */
	size_t rl = strlen(rest);
	ok = ok && len - i >= rl && !memcmp(s + i, rest, rl);
	i += rl;
	size_t cl = sizeof svg_close - 1;
	ok = ok && len - i >= cl && !memcmp(s + len - cl, svg_close, cl);
	for (size_t j = i; ok && j < len - cl; j++)
		ok = strchr("0123456789 Mhvz-", s[j]) && s[j];
	strbuf_release(&head);
	return ok;
}
