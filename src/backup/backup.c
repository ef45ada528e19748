/* A deployment's backup, its check and its restore (backup/backup.h). */
#include "backup/backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "auth/sealed.h"
#include "common/fsmode.h"
#include "common/str.h"
#include "store/store.h"

extern char **environ;

#define PATH_CAP 4200
#define MANIFEST "MANIFEST"
#define MANIFEST_MAX (64 * 1024)
#define KEYFILE_MAX (64 * 1024)       /* a key or certificate file */
#define SEAL_MAGIC "VBK1"
#define KDF_OPS 3ULL                      /* Argon2id passes */
#define KDF_MEM (64ULL * 1024 * 1024)     /* and memory */
#define MAX_FILES 11

/* The files a backup may hold; nothing else is accepted in one. */
enum part {
	P_DB, P_TRAIL, P_PGDUMP, P_SIGNING, P_SECRETS, P_CAKEY, P_CACERT,
	P_OIDC, P_OIDC_ENC, P_OIDC_FED, P_CONFIG, P__COUNT
};
static const char *const part_name[P__COUNT] = {
	"database.sqlite", "database.sqlite.trail", "database.pgdump", "signing-key.enc",
	"secrets-key.enc", "ca-key.pem.enc", "ca-cert.pem", "oidc-key.enc", "oidc-enc-key.enc",
	"oidc-federation-key.enc", "visura.conf",
};
static bool part_encrypted(enum part p)
{
	return p == P_SIGNING || p == P_SECRETS || p == P_CAKEY || p == P_OIDC ||
	       p == P_OIDC_ENC || p == P_OIDC_FED;
}
/* The files kept beside the database: keys and the CA's certificate. */
static bool part_beside(int p)
{
	return p >= P_SIGNING && p <= P_OIDC_FED;
}

/* Where a deployment's pieces are. */
struct site_paths {
	char db[PATH_CAP], trail[PATH_CAP];
	char key[P__COUNT][PATH_CAP];   /* P_SIGNING .. P_OIDC_FED */
};

/* A key's path that does not fit is refused (VIS_ERR_LIMIT), never cut:
 * a cut one would name another file. */
static vis_err site_paths(const struct backup_site *s, struct site_paths *p, struct vis_error *e)
{
	memset(p, 0, sizeof *p);
	if (!store_pg_conninfo(s->db)) {
		if (!STR_COPY(p->db, store_sqlite_path(s->db)))
			p->db[0] = '\0';
		int n = snprintf(p->trail, sizeof p->trail, "%s.trail", p->db);
		if (n < 0 || n >= (int)sizeof p->trail)
			p->trail[0] = '\0';
	}
	/* The SPID/CIE relying party's keys (oidc/oidc.h; app.c's defaults). */
	const char *oidc[3] = {s->oidc_key, s->oidc_enc_key, s->oidc_federation_key};
	static const char *const beside[3] = {".oidc-key", ".oidc-enc-key",
					      ".oidc-federation-key"};
	vis_err rc = store_files_path(s->db, s->signing_key, ".signing-key", p->key[P_SIGNING],
				      PATH_CAP, e);
	if (!rc)
		rc = sealed_key_path(s->db, s->secrets_key, p->key[P_SECRETS], PATH_CAP, e);
	if (!rc)
		rc = store_files_path(s->db, NULL, ".ca-key.pem", p->key[P_CAKEY], PATH_CAP, e);
	for (int i = 0; i < 3 && !rc; i++)
		rc = store_files_path(s->db, oidc[i], beside[i], p->key[P_OIDC + i], PATH_CAP, e);
	if (!rc)
		rc = store_files_path(s->db, s->client_ca, ".ca-cert.pem", p->key[P_CACERT],
				      PATH_CAP, e);
	return rc;
}

/* dir/name; paths that do not fit are cut to "" (and then not found). */
static void join(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_CAP, "%s/%s", dir, name);
	if (n < 0 || n >= PATH_CAP)
		out[0] = '\0';
}

/* ---- passphrase and keys ---- */

bool backup_passphrase(const char *file, char *out, struct vis_error *e)
{
	size_t n = 0;
	out[0] = '\0';
	if (file) {
		FILE *f = fopen(file, "r");
		if (!f) {
			vis_error_set(e, VIS_ERR_IO, "impossibile leggere il file della frase "
						     "segreta '%s': %s", file,
				      strerror(errno));
			return false;
		}
		if (!fgets(out, BACKUP_PASS_MAX + 1, f))
			out[0] = '\0';
		fclose(f);
		n = strcspn(out, "\r\n");
		out[n] = '\0';
	} else {
		const char *env = getenv("VISURA_BACKUP_PASSPHRASE");
		if (!env || !*env) {
			vis_error_set(e, VIS_ERR_INVALID, "nessuna frase segreta: indicare "
							  "--passphrase-file FILE o impostare "
							  "VISURA_BACKUP_PASSPHRASE");
			return false;
		}
		n = strlen(env);
		if (n <= BACKUP_PASS_MAX)
			memcpy(out, env, n + 1);
	}
	if (n < BACKUP_PASS_MIN || n >= BACKUP_PASS_MAX) {
		sodium_memzero(out, BACKUP_PASS_MAX + 1);
		vis_error_set(e, VIS_ERR_INVALID, "la frase segreta deve avere da %d a %d byte",
			      BACKUP_PASS_MIN, BACKUP_PASS_MAX - 1);
		return false;
	}
	return true;
}

struct kdf {
	unsigned long long ops;
	size_t mem;
	unsigned char salt[crypto_pwhash_SALTBYTES];
};

struct keys {
	unsigned char enc[crypto_secretbox_KEYBYTES];
	unsigned char mac[crypto_auth_KEYBYTES];
};

static vis_err derive(const char *pass, const struct kdf *k, struct keys *out, struct vis_error *e)
{
	unsigned char master[crypto_kdf_KEYBYTES];
	if (k->ops < crypto_pwhash_OPSLIMIT_MIN || k->ops > crypto_pwhash_OPSLIMIT_SENSITIVE ||
	    k->mem < crypto_pwhash_MEMLIMIT_MIN || k->mem > crypto_pwhash_MEMLIMIT_SENSITIVE)
		return vis_error_set(e, VIS_ERR_INVALID, "manifesto: derivazione della chiave "
							 "fuori dai limiti");
	if (crypto_pwhash(master, sizeof master, pass, strlen(pass), k->salt, k->ops, k->mem,
			  crypto_pwhash_ALG_ARGON2ID13) != 0)
		return vis_error_set(e, VIS_ERR_NOMEM, "derivazione della chiave: memoria "
						       "esaurita");
	crypto_kdf_derive_from_key(out->enc, sizeof out->enc, 1, "visurabk", master);
	crypto_kdf_derive_from_key(out->mac, sizeof out->mac, 2, "visurabk", master);
	sodium_memzero(master, sizeof master);
	return VIS_OK;
}

/* ---- files ---- */

/* Reads a whole small file (at most max bytes) into buf; *n its size. */
static vis_err read_small(const char *path, unsigned char *buf, size_t max, size_t *n,
			  struct vis_error *e)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return vis_error_set(e, VIS_ERR_IO, "impossibile leggere "
						    "'%s': %s", path, strerror(errno));
	*n = fread(buf, 1, max, f);
	bool more = fgetc(f) != EOF, err = ferror(f);
	fclose(f);
	if (err)
		return vis_error_set(e, VIS_ERR_IO, "impossibile leggere '%s'", path);
	if (more)
		return vis_error_set(e, VIS_ERR_LIMIT, "'%s' supera %zu byte", path, max);
	return VIS_OK;
}

/* Writes a new file (0600, never over an existing one), synced. */
static vis_err write_new(const char *path, const void *data, size_t n, struct vis_error *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return vis_error_set(e, VIS_ERR_IO, "impossibile creare "
						    "'%s': %s", path, strerror(errno));
	bool ok = write(fd, data, n) == (ssize_t)n && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok) {
		unlink(path);
		return vis_error_set(e, VIS_ERR_IO, "impossibile scrivere '%s'", path);
	}
	return VIS_OK;
}

/* from's bytes into fd (new, named to), synced; fd closed, to removed on
 * a failure. */
static vis_err copy_into(const char *from, int fd, const char *to, struct vis_error *e)
{
	FILE *in = fopen(from, "rb");
	if (!in) {
		close(fd);
		unlink(to);
		return vis_error_set(e, VIS_ERR_IO, "impossibile leggere "
						    "'%s': %s", from, strerror(errno));
	}
	char buf[65536];
	size_t n;
	bool ok = true;
	while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0)
		ok = write(fd, buf, n) == (ssize_t)n;
	ok = ok && !ferror(in) && fsync(fd) == 0;
	fclose(in);
	ok = close(fd) == 0 && ok;
	if (!ok) {
		unlink(to);
		return vis_error_set(e, VIS_ERR_IO, "impossibile copiare '%s' in '%s'", from, to);
	}
	return VIS_OK;
}

static vis_err copy_file(const char *from, const char *to, struct vis_error *e)
{
	int fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return vis_error_set(e, VIS_ERR_IO, "impossibile creare "
						    "'%s': %s", to, strerror(errno));
	return copy_into(from, fd, to, e);
}

/* SHA-256 (hex) and size of a file. */
static vis_err file_hash(const char *path, char hex[2 * crypto_hash_sha256_BYTES + 1],
			 long long *size, struct vis_error *e)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return vis_error_set(e, VIS_ERR_IO, "impossibile leggere "
						    "'%s': %s", path, strerror(errno));
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	unsigned char buf[65536];
	size_t n;
	*size = 0;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
		crypto_hash_sha256_update(&st, buf, n);
		*size += (long long)n;
	}
	bool err = ferror(f);
	fclose(f);
	if (err)
		return vis_error_set(e, VIS_ERR_IO, "impossibile leggere '%s'", path);
	unsigned char d[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_final(&st, d);
	sodium_bin2hex(hex, 2 * crypto_hash_sha256_BYTES + 1, d, sizeof d);
	return VIS_OK;
}

/* Encrypts a key file into a backup file: magic, nonce, secretbox. */
static vis_err seal_file(const struct keys *k, const char *from, const char *to,
			 struct vis_error *e)
{
	static unsigned char plain[KEYFILE_MAX];
	static unsigned char out[4 + crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
				 KEYFILE_MAX];
	size_t n;
	vis_err rc = read_small(from, plain, sizeof plain, &n, e);
	if (!rc) {
		memcpy(out, SEAL_MAGIC, 4);
		randombytes_buf(out + 4, crypto_secretbox_NONCEBYTES);
		crypto_secretbox_easy(out + 4 + crypto_secretbox_NONCEBYTES, plain, n, out + 4, k->enc);
		rc = write_new(to, out, 4 + crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + n,
			       e);
	}
	sodium_memzero(plain, sizeof plain);
	return rc;
}

/* Decrypts a backup's key file into plain (KEYFILE_MAX bytes); the caller
 * wipes it. */
static vis_err open_file(const struct keys *k, const char *path, unsigned char *plain,
			 size_t *n, struct vis_error *e)
{
	static unsigned char in[4 + crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
				KEYFILE_MAX];
	size_t len;
	vis_err rc = read_small(path, in, sizeof in, &len, e);
	if (rc)
		return rc;
	size_t head = 4 + crypto_secretbox_NONCEBYTES;
	if (len < head + crypto_secretbox_MACBYTES || memcmp(in, SEAL_MAGIC, 4) ||
	    crypto_secretbox_open_easy(plain, in + head, len - head, in + 4, k->enc) != 0)
		return vis_error_set(e, VIS_ERR_INVALID,
				     "'%s' non si decifra con questa frase segreta", path);
	*n = len - head - crypto_secretbox_MACBYTES;
	return VIS_OK;
}

/* Runs a program (no shell) and waits: its exit status, -1 when it could
 * not be started.  stdout_null: its standard output is discarded. */
static int run_tool(char *const argv[], bool stdout_null)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (stdout_null)
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		return -1;
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- the manifest ---- */

struct manifest {
	char backend[16];
	int schema;
	struct kdf kdf;
	int nfiles;
	struct {
		enum part part;
		char sha[2 * crypto_hash_sha256_BYTES + 1];
		long long size;
	} file[MAX_FILES];
	unsigned char mac[crypto_auth_BYTES];
	size_t signed_len;             /* bytes the MAC covers */
};

static int part_of(const char *name)
{
	for (int i = 0; i < P__COUNT; i++)
		if (!strcmp(name, part_name[i]))
			return i;
	return -1;
}

static vis_err manifest_parse(const char *text, size_t len, struct manifest *m,
			      struct vis_error *e)
{
	memset(m, 0, sizeof *m);
	bool head = false, kdf = false, mac = false;
	m->schema = -1;
	size_t pos = 0;
	int line = 0;
	while (pos < len) {
		const char *l = text + pos;
		const char *nl = memchr(l, '\n', len - pos);
		if (!nl)
			return vis_error_set(e, VIS_ERR_INVALID, "manifest: line %d unterminated", line + 1);
		size_t n = (size_t)(nl - l);
		char buf[512];
		line++;
		if (n >= sizeof buf || mac)
			return vis_error_set(e, VIS_ERR_INVALID, "manifest: line %d unexpected", line);
		memcpy(buf, l, n);
		buf[n] = '\0';
		char a[160], b[160], c[160];
		long long x, y;
		size_t bin = 0;
		int end = 0;
		if (line == 1) {
			if (strcmp(buf, "visura-backup 1"))
				return vis_error_set(e, VIS_ERR_INVALID,
						     "non è un backup di visura "
						     "(formato 1): %s", MANIFEST);
			head = true;
		} else if (sscanf(buf, "backend %15[a-z]%n", m->backend, &end) == 1 && !buf[end]) {
		} else if (sscanf(buf, "schema %d%n", &m->schema, &end) == 1 && !buf[end]) {
		} else if (sscanf(buf, "visura %159s%n", a, &end) == 1 && !buf[end]) {
		} else if (sscanf(buf, "created %lld%n", &x, &end) == 1 && !buf[end]) {
		} else if (sscanf(buf, "kdf argon2id %lld %lld %159s%n", &x, &y, a, &end) == 3 &&
			   !buf[end] && x > 0 && y > 0 &&
			   sodium_hex2bin(m->kdf.salt, sizeof m->kdf.salt, a, strlen(a), NULL, &bin, NULL) ==
				   0 && bin == sizeof m->kdf.salt) {
			m->kdf.ops = (unsigned long long)x;
			m->kdf.mem = (size_t)y;
			kdf = true;
		} else if (sscanf(buf, "file %159s %lld %159s%n", a, &x, c, &end) == 3 && !buf[end]) {
			int p = part_of(c);
			if (p < 0 || m->nfiles >= MAX_FILES || strlen(a) != 2 * crypto_hash_sha256_BYTES ||
			    x < 0)
				return vis_error_set(e, VIS_ERR_INVALID, "manifest: line %d: bad file entry",
						     line);
			for (int i = 0; i < m->nfiles; i++)
				if ((int)m->file[i].part == p)
					return vis_error_set(e, VIS_ERR_INVALID,
							     "manifest: %s listed twice", c);
			m->file[m->nfiles].part = (enum part)p;
			memcpy(m->file[m->nfiles].sha, a, sizeof m->file[0].sha);
			m->file[m->nfiles].size = x;
			m->nfiles++;
		} else if (sscanf(buf, "mac %159s%n", b, &end) == 1 && !buf[end] &&
			   sodium_hex2bin(m->mac, sizeof m->mac, b, strlen(b), NULL, &bin, NULL) == 0 &&
			   bin == sizeof m->mac) {
			m->signed_len = pos;
			mac = true;
		} else {
			return vis_error_set(e, VIS_ERR_INVALID, "manifesto: riga %d non "
								 "compresa", line);
		}
		pos += n + 1;
		(void)c;
	}
	if (!head || !kdf || !mac || m->schema < 0 ||
	    (strcmp(m->backend, "sqlite") && strcmp(m->backend, "postgres")))
		return vis_error_set(e, VIS_ERR_INVALID, "manifest: incomplete");
	return VIS_OK;
}

static int manifest_find(const struct manifest *m, enum part p)
{
	for (int i = 0; i < m->nfiles; i++)
		if (m->file[i].part == p)
			return i;
	return -1;
}

/* ---- take ---- */

static vis_err add_file(struct strbuf *mf, const char *dir, enum part p, struct vis_error *e)
{
	char path[PATH_CAP], hex[2 * crypto_hash_sha256_BYTES + 1];
	long long size;
	join(path, dir, part_name[p]);
	vis_err rc = file_hash(path, hex, &size, e);
	if (!rc)
		strbuf_addf(mf, "file %s %lld %s\n", hex, size, part_name[p]);
	return rc;
}

static vis_err take_database(const struct backup_site *site, const struct site_paths *sp,
			     const char *tmp, struct strbuf *mf, struct backup_report *r,
			     struct vis_error *e)
{
	/* Opening would migrate: a backup is taken by the release that runs
	 * the database (the backup before an upgrade must be of the old
	 * schema), and of a database that exists. */
	struct store_probe probe;
	vis_err rc = store_probe(site->db, &probe, e);
	if (rc)
		return rc;
	if (probe.version <= 0)
		return vis_error_set(e, VIS_ERR_NOTFOUND, "nessun database di visura "
							  "in %s", site->db);
	if (probe.version != store_schema_latest())
		return vis_error_set(e, VIS_ERR_CONFLICT, "la versione dello schema del database "
							  "(%d) non è quella di questo visura "
							  "(%d): fare il backup con la versione "
							  "che lo usa",
				     probe.version, store_schema_latest());
	struct store *s = NULL;
	rc = store_open(site->db, &s, e);
	if (rc)
		return rc;
	r->schema = store_schema_version(s);
	const char *conninfo = store_pg_conninfo(site->db);
	STR_COPY_KNOWN(r->backend, conninfo ? "postgres" : "sqlite");
	char a[PATH_CAP], b[PATH_CAP];
	if (!conninfo) {
		join(a, tmp, part_name[P_DB]);
		join(b, tmp, part_name[P_TRAIL]);
		rc = store_snapshot(s, a, b, e);
	}
	store_close(s);
	(void)sp;
	if (!rc && conninfo) {
		char file[PATH_CAP + 16], dbname[8192];
		join(a, tmp, part_name[P_PGDUMP]);
		STR_FMT_KNOWN(file, "--file=%s", a); /* a[PATH_CAP] + 7 */
		if ((size_t)snprintf(dbname, sizeof dbname, "--dbname=%s", conninfo) >= sizeof dbname)
			return vis_error_set(e, VIS_ERR_LIMIT, "conninfo troppo lungo");
		char *argv[] = {"pg_dump", "--format=custom", "--no-owner", "--no-privileges", file,
				dbname, NULL};
		int st = run_tool(argv, false);
		if (st != 0)
			return vis_error_set(e, VIS_ERR_IO,
					     st < 0 ? "impossibile eseguire pg_dump (pacchetto Debian "
						      "postgresql-client)"
						    : "pg_dump non è riuscito (stato %d)", st);
	}
	if (rc)
		return rc;
	strbuf_addf(mf, "backend %s\nschema %d\n", r->backend, r->schema);
	return VIS_OK;
}

vis_err backup_take(const struct backup_site *site, const char *dest, const char *pass,
		    struct backup_report *r, struct vis_error *e)
{
	memset(r, 0, sizeof *r);
	struct site_paths *sp = calloc(1, sizeof *sp);
	if (!sp)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	char tmp[PATH_CAP];
	vis_err prc = site_paths(site, sp, e);
	if (!prc)
		prc = STR_FMT_SET(tmp, "percorso del backup troppo lungo", e, "%s.partial", dest);
	if (prc) {
		free(sp);
		return prc;
	}
	struct stat stt;
	if (lstat(dest, &stt) == 0) {
		free(sp);
		return vis_error_set(e, VIS_ERR_CONFLICT, "'%s' esiste già: un backup va in una "
							  "cartella nuova", dest);
	}
	if (mkdir(tmp, 0700) != 0) {
		free(sp);
		return vis_error_set(e, VIS_ERR_IO, "impossibile creare "
						    "'%s': %s", tmp, strerror(errno));
	}
	struct kdf kdf = {.ops = KDF_OPS, .mem = KDF_MEM};
	randombytes_buf(kdf.salt, sizeof kdf.salt);
	struct keys k;
	struct strbuf mf;
	strbuf_init(&mf, MANIFEST_MAX);
	char salt[2 * sizeof kdf.salt + 1];
	sodium_bin2hex(salt, sizeof salt, kdf.salt, sizeof kdf.salt);
	strbuf_addf(&mf, "visura-backup 1\nvisura %s\ncreated %lld\nkdf argon2id %llu %zu %s\n",
		    VISURA_VERSION, (long long)time(NULL), kdf.ops, kdf.mem, salt);
	vis_err rc = derive(pass, &kdf, &k, e);
	if (!rc)
		rc = take_database(site, sp, tmp, &mf, r, e);
	if (!rc)
		rc = add_file(&mf, tmp, r->backend[0] == 's' ? P_DB : P_PGDUMP, e);
	if (!rc && r->backend[0] == 's')
		rc = add_file(&mf, tmp, P_TRAIL, e);
	for (int p = P_SIGNING; !rc && part_beside(p); p++) {
		if (access(sp->key[p], F_OK) != 0)
			continue;   /* no CA yet, no SPID/CIE, say */
		char to[PATH_CAP];
		join(to, tmp, part_name[p]);
		rc = part_encrypted(p) ? seal_file(&k, sp->key[p], to, e) : copy_file(sp->key[p], to, e);
		if (!rc)
			rc = add_file(&mf, tmp, p, e);
		if (!rc && part_encrypted(p))
			r->keys++;
	}
	if (!rc && site->config_file) {
		char to[PATH_CAP];
		join(to, tmp, part_name[P_CONFIG]);
		rc = copy_file(site->config_file, to, e);
		if (!rc)
			rc = add_file(&mf, tmp, P_CONFIG, e);
	}
	if (!rc && mf.err)
		rc = vis_error_set(e, VIS_ERR_LIMIT, "manifesto troppo lungo");
	if (!rc) {
		unsigned char mac[crypto_auth_BYTES];
		char hex[2 * crypto_auth_BYTES + 1];
		crypto_auth(mac, (const unsigned char *)mf.buf, mf.len, k.mac);
		sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
		strbuf_addf(&mf, "mac %s\n", hex);
		char path[PATH_CAP];
		join(path, tmp, MANIFEST);
		rc = write_new(path, mf.buf, mf.len, e);
	}
	if (!rc)
		rc = fsmode_replace(tmp, dest, false, "backup", e);
	if (!rc) {
		int fd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			fsync(fd);
			close(fd);
		}
		for (int p = 0; p < P__COUNT; p++) {
			char path[PATH_CAP];
			join(path, dest, part_name[p]);
			r->files += access(path, F_OK) == 0;
		}
	} else {
		/* leave nothing half-made */
		for (int p = 0; p < P__COUNT; p++) {
			char path[PATH_CAP];
			join(path, tmp, part_name[p]);
			unlink(path);
		}
		char path[PATH_CAP];
		join(path, tmp, MANIFEST);
		unlink(path);
		rmdir(tmp);
	}
	sodium_memzero(&k, sizeof k);
	strbuf_release(&mf);
	free(sp);
	return rc;
}

/* ---- verify ---- */

/* Checks everything a backup holds; with keys (non-NULL), the MAC and the
 * encrypted files too.  m is filled. */
static vis_err check(const char *dest, const char *pass, struct manifest *m,
		     struct backup_report *r, struct vis_error *e)
{
	static char text[MANIFEST_MAX + 1];
	char path[PATH_CAP];
	size_t len;
	join(path, dest, MANIFEST);
	vis_err rc = read_small(path, (unsigned char *)text, MANIFEST_MAX, &len, e);
	if (rc)
		return rc == VIS_ERR_IO ? vis_error_set(e, VIS_ERR_INVALID, "no readable %s in '%s'",
							MANIFEST, dest) : VIS_ERR_INVALID;
	text[len] = '\0';
	if ((rc = manifest_parse(text, len, m, e)))
		return rc;
	STR_COPY_KNOWN(r->backend, m->backend); /* both [16] */
	r->schema = m->schema;
	r->files = m->nfiles;
	bool sqlite = !strcmp(m->backend, "sqlite");
	/* the database's files, and nothing the manifest does not list */
	if (sqlite ? manifest_find(m, P_DB) < 0 || manifest_find(m, P_TRAIL) < 0
		   : manifest_find(m, P_PGDUMP) < 0)
		return vis_error_set(e, VIS_ERR_INVALID, "il manifesto non indica alcun database");
	DIR *d = opendir(dest);
	if (!d)
		return vis_error_set(e, VIS_ERR_IO, "impossibile leggere "
						    "'%s': %s", dest, strerror(errno));
	struct dirent *de;
	while (!rc && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    !strcmp(de->d_name, MANIFEST))
			continue;
		int p = part_of(de->d_name);
		if (p < 0 || manifest_find(m, (enum part)p) < 0)
			rc = vis_error_set(e, VIS_ERR_INVALID, "'%s' non è nel manifesto",
					   de->d_name);
	}
	closedir(d);
	for (int i = 0; !rc && i < m->nfiles; i++) {
		char hex[2 * crypto_hash_sha256_BYTES + 1];
		long long size;
		join(path, dest, part_name[m->file[i].part]);
		if (file_hash(path, hex, &size, e))
			rc = vis_error_set(e, VIS_ERR_INVALID, "%s manca o non si può leggere",
					   part_name[m->file[i].part]);
		else if (size != m->file[i].size || strcmp(hex, m->file[i].sha))
			rc = vis_error_set(e, VIS_ERR_INVALID, "%s non corrisponde al manifesto "
					   "(SHA-256 o dimensione diversi)", part_name[m->file[i].part]);
	}
	if (rc)
		return rc;
	if (sqlite) {
		char trail[PATH_CAP], why[600];
		int version = -1;
		join(path, dest, part_name[P_DB]);
		join(trail, dest, part_name[P_TRAIL]);
		if ((rc = store_file_check(path, trail, &version, why, sizeof why, e)))
			return rc;
		if (why[0])
			return vis_error_set(e, VIS_ERR_INVALID, "%s", why);
		if (version != m->schema)
			return vis_error_set(e, VIS_ERR_INVALID, "la versione dello schema del "
								 "database (%d) non è quella del "
								 "manifesto "
								 "(%d)", version, m->schema);
	} else {
		join(path, dest, part_name[P_PGDUMP]);
		char *argv[] = {"pg_restore", "--list", path, NULL};
		int st = run_tool(argv, true);
		if (st != 0)
			return vis_error_set(e, st < 0 ? VIS_ERR_IO : VIS_ERR_INVALID,
					     st < 0 ? "impossibile eseguire pg_restore (pacchetto "
						      "Debian postgresql-client)"
						    : "pg_restore non "
						      "riesce a leggere %s", part_name[P_PGDUMP]);
	}
	if (!pass)
		return VIS_OK;
	struct keys k;
	if ((rc = derive(pass, &m->kdf, &k, e)))
		return rc;
	if (crypto_auth_verify(m->mac, (const unsigned char *)text, m->signed_len, k.mac) != 0)
		rc = vis_error_set(e, VIS_ERR_INVALID, "il MAC del manifesto non torna: frase "
						       "segreta sbagliata, o il manifesto è stato "
						       "modificato");
	static unsigned char plain[KEYFILE_MAX];
	for (int i = 0; !rc && i < m->nfiles; i++) {
		if (!part_encrypted(m->file[i].part))
			continue;
		size_t n;
		join(path, dest, part_name[m->file[i].part]);
		rc = open_file(&k, path, plain, &n, e);
		sodium_memzero(plain, sizeof plain);
		r->keys += !rc;
	}
	sodium_memzero(&k, sizeof k);
	r->keys_checked = !rc;
	return rc;
}

vis_err backup_verify(const char *dest, const char *pass, struct backup_report *r,
		      struct vis_error *e)
{
	memset(r, 0, sizeof *r);
	struct manifest *m = calloc(1, sizeof *m);
	if (!m)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	vis_err rc = check(dest, pass, m, r, e);
	free(m);
	return rc;
}

/* ---- restore ---- */

/* Writes a key file of the backup at its place (decrypted when it is
 * one); an existing file is replaced only when force. */
static vis_err restore_key(const struct keys *k, const char *from, enum part p, const char *to,
			   bool force, struct vis_error *e)
{
	static unsigned char plain[KEYFILE_MAX];
	size_t n;
	vis_err rc = part_encrypted(p) ? open_file(k, from, plain, &n, e)
				       : read_small(from, plain, sizeof plain, &n, e);
	if (!rc && force)
		unlink(to);
	if (!rc)
		rc = write_new(to, plain, n, e);
	sodium_memzero(plain, sizeof plain);
	return rc;
}

static vis_err restore_sqlite(const char *dest, const struct site_paths *sp, struct vis_error *e)
{
	static const char *const side[] = {"-wal", "-shm", "-journal"};
	const char *targets[2] = {sp->db, sp->trail};
	const enum part parts[2] = {P_DB, P_TRAIL};
	for (int i = 0; i < 2; i++) {
		char from[PATH_CAP], tmp[PATH_CAP + 32];
		join(from, dest, part_name[parts[i]]);
		int fd;
		vis_err rc = fsmode_temp_create(targets[i], "restoring", tmp, sizeof tmp, &fd,
						"restore", e);
		if (!rc)
			rc = copy_into(from, fd, tmp, e);
		if (rc)
			return rc;
		/* a WAL left by the database replaced would be replayed into the
		 * restored one */
		for (size_t j = 0; j < sizeof side / sizeof side[0]; j++) {
			char f[PATH_CAP + 16];
			/* targets[PATH_CAP] + a suffix of at most 8 bytes */
			STR_FMT_KNOWN(f, "%s%s", targets[i], side[j]);
			unlink(f);
		}
		rc = fsmode_replace(tmp, targets[i], false, "restore", e);
		if (rc) {
			unlink(tmp);
			return rc;
		}
	}
	return VIS_OK;
}

static vis_err restore_pg(const char *dest, const char *conninfo, bool clean, struct vis_error *e)
{
	char file[PATH_CAP], dbname[8192];
	join(file, dest, part_name[P_PGDUMP]);
	if ((size_t)snprintf(dbname, sizeof dbname, "--dbname=%s", conninfo) >= sizeof dbname)
		return vis_error_set(e, VIS_ERR_LIMIT, "conninfo troppo lungo");
	char *argv[10];
	int n = 0;
	argv[n++] = "pg_restore";
	argv[n++] = "--no-owner";
	argv[n++] = "--no-privileges";
	argv[n++] = "--exit-on-error";
	argv[n++] = "--single-transaction";
	if (clean) {
		argv[n++] = "--clean";
		argv[n++] = "--if-exists";
	}
	argv[n++] = dbname;
	argv[n++] = file;
	argv[n] = NULL;
	int st = run_tool(argv, false);
	if (st != 0)
		return vis_error_set(e, VIS_ERR_IO,
				     st < 0 ? "impossibile eseguire pg_restore (pacchetto Debian "
					      "postgresql-client)"
					    : "pg_restore non è riuscito (stato %d)", st);
	return VIS_OK;
}

vis_err backup_restore(const char *src, const struct backup_site *site, const char *pass,
		       bool force, struct backup_report *r, struct vis_error *e)
{
	memset(r, 0, sizeof *r);
	struct manifest *m = calloc(1, sizeof *m);
	struct site_paths *sp = calloc(1, sizeof *sp);
	if (!m || !sp) {
		free(m);
		free(sp);
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	}
	const char *conninfo = store_pg_conninfo(site->db);
	vis_err rc = site_paths(site, sp, e);
	if (!rc)
		rc = check(src, pass, m, r, e);
	if (!rc && !strcmp(m->backend, "sqlite") == (conninfo != NULL))
		rc = vis_error_set(e, VIS_ERR_INVALID, "il backup è di un database %s: "
						       "ripristinarlo in uno dello stesso tipo "
						       "(poi `visura migrate` per "
						       "spostarlo)", m->backend);
	if (!rc && m->schema > store_schema_latest())
		rc = vis_error_set(e, VIS_ERR_CONFLICT, "la versione %d dello schema del backup è "
							"più recente di questo visura (%d): "
							"ripristinarlo con la versione che l'ha "
							"fatto",
				   m->schema, store_schema_latest());
	struct store_probe probe = {0};
	if (!rc)
		rc = store_probe(site->db, &probe, e);
	if (!rc && probe.live)
		rc = vis_error_set(e, VIS_ERR_CONFLICT, "un server sta usando il database %s: "
							"fermarlo prima del ripristino (nemmeno "
							"--force ripristina sotto un server in "
							"funzione)", site->db);
	if (!rc && probe.version > 0 && !force)
		rc = vis_error_set(e, VIS_ERR_CONFLICT, "il database %s esiste già (schema alla "
							"versione %d): indicare --force per "
							"sostituirlo", site->db, probe.version);
	for (int i = 0; !rc && !force && i < m->nfiles; i++) {
		enum part p = m->file[i].part;
		if (part_beside(p) && access(sp->key[p], F_OK) == 0)
			rc = vis_error_set(e, VIS_ERR_CONFLICT, "'%s' esiste già: indicare --force "
								"per sostituirlo", sp->key[p]);
	}
	if (!rc && manifest_find(m, P_CONFIG) >= 0 && site->config_file && !force &&
	    access(site->config_file, F_OK) == 0)
		rc = vis_error_set(e, VIS_ERR_CONFLICT, "'%s' esiste già: indicare --force per "
							"sostituirlo", site->config_file);
	/* Every file the restore replaces, checked before any is written:
	 * only a regular file is replaced (fsmode_replaceable). */
	if (!rc && !conninfo)
		rc = fsmode_replaceable(sp->db, "restore", e);
	if (!rc && !conninfo)
		rc = fsmode_replaceable(sp->trail, "restore", e);
	for (int i = 0; !rc && i < m->nfiles; i++) {
		enum part p = m->file[i].part;
		const char *to = part_beside(p) ? sp->key[p] : p == P_CONFIG ? site->config_file : NULL;
		if (to)
			rc = fsmode_replaceable(to, "restore", e);
	}
	struct keys k;
	memset(&k, 0, sizeof k);
	if (!rc)
		rc = derive(pass, &m->kdf, &k, e);
	if (!rc)
		rc = conninfo ? restore_pg(src, conninfo, probe.version > 0, e)
			      : restore_sqlite(src, sp, e);
	for (int i = 0; !rc && i < m->nfiles; i++) {
		enum part p = m->file[i].part;
		char from[PATH_CAP];
		join(from, src, part_name[p]);
		if (part_beside(p))
			rc = restore_key(&k, from, p, sp->key[p], force, e);
		else if (p == P_CONFIG && site->config_file)
			rc = restore_key(&k, from, p, site->config_file, force, e);
		else if (p == P_CONFIG)
			/* a part's name, a constant */
			STR_FMT_KNOWN(r->note,
				      "la configurazione è nel backup (%s): "
				      "indicare --config-to FILE per "
				      "ripristinarla",
				      part_name[P_CONFIG]);
	}
	sodium_memzero(&k, sizeof k);
	if (!rc) {
		struct store *s = NULL;
		struct audit_verify_result res;
		rc = store_open(site->db, &s, e);
		if (!rc)
			rc = audit_verify(s, NULL, &res, e);
		if (!rc && res.first_bad_id)
			rc = vis_error_set(e, VIS_ERR_INVALID, "il registro degli accessi "
							       "ripristinato non si "
							       "verifica: %s", res.why);
		if (!rc) {
			r->records = (long long)res.checked;
			r->schema = store_schema_version(s);
		}
		store_close(s);
	}
	free(m);
	free(sp);
	return rc;
}
