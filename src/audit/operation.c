#include "audit/operation.h"

#include <string.h>

const char *audit_operation_label(const char *op)
{
	static const char *const o[][2] = {
		{"search", "ricerca"},
		{"consult", "consultazione della scheda anagrafica"},
		{"household", "consultazione della famiglia anagrafica"},
		{"history", "consultazione dello storico anagrafico"},
		{"print", "stampa della visura anagrafica"},
		{"verify", "verifica di una dichiarazione sostitutiva"},
		{"events", "comunicazione di un evento anagrafico"},
		{"events_push", "invio di un evento anagrafico"},
		{"voucher", "chiamata tramite PDND respinta"},
		{"list_extract", "estrazione di un elenco su richiesta formale"},
	};
	for (size_t i = 0; op && i < sizeof o / sizeof o[0]; i++)
		if (!strcmp(op, o[i][0]))
			return o[i][1];
	return "altra operazione";
}
