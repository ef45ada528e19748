#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>

const char *vis_strerror(vis_err code)
{
	switch (code) {
	case VIS_OK: return "ok";
	case VIS_ERR_INVALID: return "non valido";
	case VIS_ERR_NOTFOUND: return "non trovato";
	case VIS_ERR_CONFLICT: return "conflitto";
	case VIS_ERR_IO: return "errore di I/O";
	case VIS_ERR_STORE: return "errore del database";
	case VIS_ERR_NOMEM: return "memoria esaurita";
	case VIS_ERR_LIMIT: return "limite superato";
	case VIS_ERR_INTERNAL: return "errore interno";
	case VIS_ERR_BUSY: return "base dati occupata";
	}
	return "errore sconosciuto";
}

vis_err vis_error_set(struct vis_error *e, vis_err code, const char *fmt, ...)
{
	if (!e || e->code != VIS_OK)
		return code;
	e->code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return code;
}

void vis_error_clear(struct vis_error *e)
{
	if (!e)
		return;
	e->code = VIS_OK;
	e->msg[0] = '\0';
}
