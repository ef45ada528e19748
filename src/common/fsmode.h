/* fsmode — the permissions of the files visura keeps on disk.
 *
 * Owns: the rule (database, its WAL and SHM, the log: owner only, 0600,
 * group read tolerated; visura's own keys: owner only, refused otherwise;
 * TLS keys: never readable by others) and the check at start of files that
 * already exist.  Creating processes set umask 077 (src/cli/main.c), and
 * every file is also opened with an explicit mode.  Also the one rule for
 * a file replaced by writing a temporary beside it and renaming it over
 * (fsmode_replace): only a regular file is replaced; the temporary itself
 * is a new file under a name no one can foresee (fsmode_temp_create), so
 * nothing planted in the directory is ever written through. */
#ifndef VISURA_COMMON_FSMODE_H
#define VISURA_COMMON_FSMODE_H

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

/* Mode bits a data file (database, WAL, SHM, log) may have beyond 0600. */
#define FSMODE_DATA_TOLERATED 0040
/* A key visura made itself (signing key, secrets key): owner only. */
#define FSMODE_KEY_TOLERATED 0
/* A TLS private key: owner, or a group such as Debian's ssl-cert. */
#define FSMODE_TLS_KEY_TOLERATED 0040

/* Checks an existing file (a missing one is fine): bits beyond 0600 and
 * `tolerated` give a warning in the log, or, when `refuse`, an error that
 * names the file and the mode to set. */
vis_err fsmode_check(const char *path, mode_t tolerated, bool refuse, const char *what,
		     struct vis_error *e);

/* Key files: `len` bytes written as one line of hex.  key_write creates
 * the file (0600, never over an existing one) and syncs it; key_read
 * fills out with exactly `len` bytes or fails naming `what`. */
vis_err fsmode_key_write(const char *path, const unsigned char *key, size_t len,
			 const char *what, struct vis_error *e);
vis_err fsmode_key_read(const char *path, unsigned char *out, size_t len, const char *what,
			struct vis_error *e);

/* Creates `path` empty with mode 0600 if it does not exist (before a
 * library creates it with its own default). */
vis_err fsmode_create_private(const char *path, struct vis_error *e);

/* fsmode_create_private for a file that belongs with `beside` (the access
 * trail's file beside the database): created by root, it is given to
 * beside's owner, as SQLite gives its WAL and SHM files. */
vis_err fsmode_create_beside(const char *path, const char *beside, struct vis_error *e);

/* Refuses (VIS_ERR_INVALID, naming `what` and the path) a `path` that
 * exists and is not a regular file: a device such as /dev/null, a FIFO, a
 * directory, a socket, or a symbolic link, even one to a regular file (the
 * files replaced hold keys and state: the link is not followed, lstat).
 * A missing path is fine.  Every site that replaces or removes a file an
 * operator names calls it first. */
vis_err fsmode_replaceable(const char *path, const char *what, struct vis_error *e);

/* `path` opened for writing from its start, for an output an operator
 * names that is written in place (an export, a report): a missing path is
 * created 0600, a regular file emptied; a device, FIFO, directory, socket
 * or symbolic link is refused (fsmode_replaceable, then O_NOFOLLOW and the
 * descriptor's own type: never written through, never blocked on).
 * NULL on a refusal or an error, which names `what`. */
FILE *fsmode_fopen_write(const char *path, const char *what, struct vis_error *e);

/* Creates the temporary of `path` in path's directory: path + "." + tag +
 * "-" + 12 random hex digits, a new file (O_CREAT|O_EXCL|O_NOFOLLOW, mode
 * 0600, close-on-exec): whatever exists at a name, a symbolic link among
 * others, is never opened or removed, another name is drawn.  The name
 * goes to tmp (cap bytes, refused when it does not fit), its descriptor,
 * open for writing, to *fd (-1 on an error, which names `what`).  A crash
 * leaves the temporary behind; removing it is safe. */
vis_err fsmode_temp_create(const char *path, const char *tag, char *tmp, size_t cap, int *fd,
			   const char *what, struct vis_error *e);

/* `len` bytes of data made the content of `path` atomically, with `mode`
 * (0600 for keys and state; 0644 for a certificate): written to a
 * temporary (fsmode_temp_create), synced, and fsmode_replace'd over path
 * (with sync_dir, path's directory synced after).  On any failure the
 * temporary is removed and path is as it was. */
vis_err fsmode_write_replace(const char *path, const char *tag, const void *data, size_t len,
			     mode_t mode, bool sync_dir, const char *what, struct vis_error *e);

/* The last step of writing `path` atomically: `tmp` (written and synced
 * by the caller, in path's directory) renamed over `path` once
 * fsmode_replaceable accepts it; with sync_dir, path's directory synced
 * after.  On a refusal or a failure tmp is left to the caller to remove. */
vis_err fsmode_replace(const char *tmp, const char *path, bool sync_dir, const char *what,
		       struct vis_error *e);

#endif
