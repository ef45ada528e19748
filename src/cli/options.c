#include "cli/options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "common/text.h"
#include "refdata/refdata.h"
#include "store/store.h"
#include "common/str.h"

const char *cli_db_uri(const char *flag)
{
	if (flag && *flag)
		return flag;
	const char *env = getenv("VISURA_DB");
	return env && *env ? env : VISURA_DB_DEFAULT;
}

void cli_error(const char *what, const struct vis_error *e)
{
	fprintf(stderr, "visura: %s: %s\n", what, e->msg[0] ? e->msg : vis_strerror(e->code));
}

int cli_store_open(const char *uri, struct store **out)
{
	struct vis_error e = {0};
	if (store_open(uri, out, &e) != VIS_OK) {
		cli_error("database", &e);
		return e.code == VIS_ERR_INVALID ? EXIT_USAGE : EXIT_RUNTIME;
	}
	return EXIT_OK;
}

int cli_refdata_load(struct refdata **out)
{
	struct vis_error e = {0};
	if (refdata_load(refdata_default_dir(), out, &e) != VIS_OK) {
		cli_error("dati di riferimento", &e);
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

bool cli_text_ok(const char *src, const char *option)
{
	uint32_t cp;
	if (text_bidi_find(src, strlen(src), &cp)) {
		fprintf(stderr, "visura: %s: contiene il controllo di direzione U+%04X (testo mostrato "
			"in un ordine diverso da quello scritto)\n", option, (unsigned)cp);
		return false;
	}
	if (!utf8_valid(src, strlen(src))) {
		fprintf(stderr, "visura: %s: non è testo UTF-8 valido (o contiene un carattere di controllo)\n",
			option);
		return false;
	}
	return true;
}

bool cli_int(const char *src, const char *option, long long min, long long max, long long *out)
{
	int64_t v;
	if (min < 0 || !str_uint(src, max, &v) || v < min) {
		fprintf(stderr, "visura: %s: un numero intero da %lld a %lld\n", option, min, max);
		return false;
	}
	*out = v;
	return true;
}

bool cli_copy(char *dst, size_t cap, const char *src, const char *option)
{
	struct vis_error e = {0};
	if (!cli_text_ok(src, option))
		return false;
	if (str_set(dst, cap, src, option, &e) == VIS_OK)
		return true;
	fprintf(stderr, "visura: %s\n", e.msg);
	return false;
}

bool cli_help_arg(const char *arg)
{
	return !strcmp(arg, "--help") || !strcmp(arg, "-h");
}

bool cli_dir_ensure(const char *dir, unsigned mode)
{
	char path[4096];
	if (!dir[0] || !STR_COPY(path, dir)) {
		fprintf(stderr, "visura: '%s': non è un percorso di cartella utilizzabile\n", dir);
		return false;
	}
	/* each parent first, then the directory itself */
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		struct stat sb;
		if (stat(path, &sb) != 0 && (mkdir(path, (mode_t)mode) != 0 && errno != EEXIST)) {
			fprintf(stderr, "visura: impossibile creare la cartella '%s': %s\n", path,
				strerror(errno));
			return false;
		}
		if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
			fprintf(stderr, "visura: '%s' non è una cartella\n", path);
			return false;
		}
		*p = saved;
		if (!saved)
			return true;
	}
}
