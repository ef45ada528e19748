#define _GNU_SOURCE /* setresuid, getresuid */
#include "common/priv.h"
#include "common/str.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

vis_err priv_user_resolve(const char *name, struct priv_user *u, struct vis_error *e)
{
	memset(u, 0, sizeof *u);
	bool root = geteuid() == 0;
	if (!name[0]) {
		if (root)
			return vis_error_set(e, VIS_ERR_INVALID,
					     "non si esegue come root: impostare 'user' all'utenza "
					     "con cui il server gira dopo aver aperto le porte e "
					     "letto le chiavi");
		return VIS_OK;
	}
	if (strlen(name) >= sizeof u->name)
		return vis_error_set(e, VIS_ERR_INVALID, "user: nome troppo lungo");
	errno = 0;
	struct passwd *pw = getpwnam(name);
	if (!pw)
		return vis_error_set(e, VIS_ERR_INVALID, "user: nessun utente '%s'", name);
	if (pw->pw_uid == 0)
		return vis_error_set(e, VIS_ERR_INVALID, "user: '%s' è root: indicare un utente "
							 "senza privilegi",
				     name);
	if (!root && pw->pw_uid != geteuid())
		return vis_error_set(e, VIS_ERR_INVALID,
				     "user: solo root può diventare '%s' (in esecuzione come uid "
				     "%u)", name,
				     (unsigned)geteuid());
	if (!STR_COPY(u->name, name))
		return vis_error_set(e, VIS_ERR_INVALID, "user: un nome di al massimo %zu byte",
				     sizeof u->name - 1);
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	u->drop = root;
	return VIS_OK;
}

vis_err priv_chown(const struct priv_user *u, const char *path, struct vis_error *e)
{
	if (!u->drop || !path[0])
		return VIS_OK;
	if (chown(path, u->uid, u->gid) != 0)
		return vis_error_set(e, VIS_ERR_IO, "impossibile dare '%s' all'utente "
						    "'%s': %s", path,
				     u->name, strerror(errno));
	return VIS_OK;
}

vis_err priv_drop(const struct priv_user *u, struct vis_error *e)
{
	if (!u->drop)
		return VIS_OK;
	/* Groups first: once the user id is not root, they cannot change. */
	if (initgroups(u->name, u->gid) != 0 || setresgid(u->gid, u->gid, u->gid) != 0 ||
	    setresuid(u->uid, u->uid, u->uid) != 0)
		return vis_error_set(e, VIS_ERR_INTERNAL, "impossibile diventare "
							  "l'utente '%s': %s", u->name,
				     strerror(errno));
	uid_t r, ef, s;
	gid_t gr, ge, gs;
	if (getresuid(&r, &ef, &s) != 0 || r != u->uid || ef != u->uid || s != u->uid ||
	    getresgid(&gr, &ge, &gs) != 0 || gr != u->gid || ge != u->gid || gs != u->gid)
		return vis_error_set(e, VIS_ERR_INTERNAL, "utente '%s': gli identificativi non "
							  "sono cambiati", u->name);
	/* The proof: root can no longer be had back. */
	if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0)
		return vis_error_set(e, VIS_ERR_INTERNAL, "utente '%s': root si "
							  "potrebbe riottenere", u->name);
	return VIS_OK;
}
