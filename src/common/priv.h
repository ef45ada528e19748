/* priv — giving up root, as OpenBSD daemons do.
 *
 * Owns: the service user (resolved once, before anything is opened), the
 * rule that a process started as root must be told which user to become,
 * and the drop itself: supplementary groups, group, user, then a check that
 * root cannot be regained. */
#ifndef VISURA_COMMON_PRIV_H
#define VISURA_COMMON_PRIV_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"

struct priv_user {
	char name[64];
	uid_t uid;
	gid_t gid;
	bool drop;          /* started as root: drop to uid/gid */
};

/* Resolves `name` (the `user` option) for this process.  As root: `name`
 * is required and must not be root itself.  Not as root: `name` is empty
 * or names the current user (nothing to drop). */
vis_err priv_user_resolve(const char *name, struct priv_user *u, struct vis_error *e);

/* Gives a file made while still root to the service user (a no-op when
 * there is nothing to drop). */
vis_err priv_chown(const struct priv_user *u, const char *path, struct vis_error *e);

/* Drops to the service user for good (every thread of the process) and
 * verifies that neither root nor the old groups can be regained. */
vis_err priv_drop(const struct priv_user *u, struct vis_error *e);

#endif
