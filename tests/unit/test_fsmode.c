/* Unit tests of common/fsmode's replacement rule: a file written beside
 * its destination and renamed over it (fsmode_replace) replaces a missing
 * or regular file only; a FIFO, a directory, a socket or a symbolic link
 * (to a regular file too) is refused and left as it was.  The temporary
 * itself (fsmode_temp_create, fsmode_write_replace) is a new regular file,
 * 0600, under a name drawn afresh: a symbolic link planted at the name a
 * temporary used to have (PATH.tmp) is never written through, the write
 * succeeds beside it.  Everything is made in a temporary directory: no
 * device is ever named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <dirent.h>

#include "common/fsmode.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/visura-fsmode-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void at(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void expect_text(const char *path, const char *text)
{
	char buf[64] = {0};
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	assert_string_equal(buf, text);
}

static mode_t kind(const char *path)
{
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & S_IFMT;
}

/* The temporary written, then fsmode_replace onto dest: the refusal's
 * code, its words, and the temporary left to the caller. */
static void refused(const char *dest, const char *says)
{
	char tmp[128];
	at(tmp, sizeof tmp, "out.tmp");
	put(tmp, "nuovo\n");
	struct vis_error e = {0};
	assert_int_equal(fsmode_replaceable(dest, "prova", &e), VIS_ERR_INVALID);
	assert_non_null(strstr(e.msg, says));
	struct vis_error e2 = {0};
	assert_int_equal(fsmode_replace(tmp, dest, true, "prova", &e2), VIS_ERR_INVALID);
	assert_non_null(strstr(e2.msg, "prova: '"));
	assert_non_null(strstr(e2.msg, dest));
	assert_non_null(strstr(e2.msg, says));
	assert_non_null(strstr(e2.msg, "non un file regolare"));
	expect_text(tmp, "nuovo\n");     /* not renamed */
	unlink(tmp);
}

static void test_missing_and_regular_replaced(void **state)
{
	(void)state;
	char tmp[128], dest[128];
	at(tmp, sizeof tmp, "state.tmp");
	at(dest, sizeof dest, "state");
	struct vis_error e = {0};
	assert_int_equal(fsmode_replaceable(dest, "prova", &e), VIS_OK);   /* missing */
	put(tmp, "uno\n");
	assert_int_equal(fsmode_replace(tmp, dest, false, "prova", &e), VIS_OK);
	expect_text(dest, "uno\n");
	assert_int_equal(access(tmp, F_OK), -1);
	put(tmp, "due\n");          /* a regular file is replaced, its directory synced */
	assert_int_equal(fsmode_replace(tmp, dest, true, "prova", &e), VIS_OK);
	expect_text(dest, "due\n");
	assert_int_equal(kind(dest), S_IFREG);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(e.code, VIS_OK);
}

static void test_fifo_and_directory_refused(void **state)
{
	(void)state;
	char fifo[128], d[128];
	at(fifo, sizeof fifo, "fifo");
	at(d, sizeof d, "cartella");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(mkdir(d, 0700), 0);
	refused(fifo, "è una FIFO");
	refused(d, "è una cartella");
	assert_int_equal(kind(fifo), S_IFIFO);
	assert_int_equal(kind(d), S_IFDIR);
}

static void test_socket_refused(void **state)
{
	(void)state;
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "%s/sock", dir);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	refused(a.sun_path, "è un socket");
	assert_int_equal(kind(a.sun_path), S_IFSOCK);
	close(fd);
}

static void test_symlink_refused(void **state)
{
	(void)state;
	char target[128], link[128], dangling[128];
	at(target, sizeof target, "target");
	at(link, sizeof link, "link");
	at(dangling, sizeof dangling, "dangling");
	put(target, "vecchio\n");
	/* a link to a regular file: not followed, the file untouched */
	assert_int_equal(symlink(target, link), 0);
	refused(link, "è un collegamento simbolico");
	assert_int_equal(kind(link), S_IFLNK);
	expect_text(target, "vecchio\n");
	/* a link to nothing (made into a file by a follower) */
	assert_int_equal(symlink("nessuno", dangling), 0);
	refused(dangling, "è un collegamento simbolico");
	assert_int_equal(kind(dangling), S_IFLNK);
}

static int entries(void)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

static void test_temporary_never_through_a_link(void **state)
{
	(void)state;
	char target[128], dest[128], link[160], dangling[160];
	at(target, sizeof target, "target");
	at(dest, sizeof dest, "state");
	snprintf(link, sizeof link, "%s.tmp", dest);
	snprintf(dangling, sizeof dangling, "%s.part", dest);
	put(target, "vecchio\n");
	/* links where a temporary of dest used to be written (PATH.tmp,
	 * PATH.part): one to a file, one to nothing (a follower creates it) */
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(symlink("creato", dangling), 0);
	struct vis_error e = {0};
	assert_int_equal(fsmode_write_replace(dest, "tmp", "nuovo\n", 6, 0600, true, "prova", &e),
			 VIS_OK);
	assert_int_equal(fsmode_write_replace(dest, "part", "ancora\n", 7, 0600, false, "prova", &e),
			 VIS_OK);
	expect_text(dest, "ancora\n");
	assert_int_equal(kind(dest), S_IFREG);
	expect_text(target, "vecchio\n");            /* the link's target untouched */
	assert_int_equal(kind(link), S_IFLNK);
	assert_int_equal(kind(dangling), S_IFLNK);
	char made[160];
	at(made, sizeof made, "creato");
	assert_int_equal(access(made, F_OK), -1);     /* nothing made through the other */
	assert_int_equal(entries(), 4);               /* and no temporary left behind */

	/* each temporary a new regular file, owner only, beside dest, under
	 * a name of its own */
	char t1[200], t2[200];
	int f1, f2;
	assert_int_equal(fsmode_temp_create(dest, "part", t1, sizeof t1, &f1, "prova", &e), VIS_OK);
	assert_int_equal(fsmode_temp_create(dest, "part", t2, sizeof t2, &f2, "prova", &e), VIS_OK);
	assert_true(f1 >= 0 && f2 >= 0);
	assert_string_not_equal(t1, t2);
	assert_int_equal(strncmp(t1, dangling, strlen(dangling)), 0);
	assert_int_equal(t1[strlen(dangling)], '-');
	assert_int_equal(strlen(t1), strlen(dangling) + 13);
	struct stat st;
	assert_int_equal(lstat(t1, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(write(f1, "x", 1), 1);
	close(f1);
	close(f2);
	unlink(t1);
	unlink(t2);
	assert_int_equal(e.code, VIS_OK);

	/* refused clearly: a directory that does not exist, a name too long */
	char nodir[160];
	at(nodir, sizeof nodir, "manca/state");
	assert_int_equal(fsmode_temp_create(nodir, "tmp", t1, sizeof t1, &f1, "prova", &e),
			 VIS_ERR_IO);
	assert_int_equal(f1, -1);
	assert_non_null(strstr(e.msg, "prova: impossibile creare un file temporaneo accanto a"));
	assert_non_null(strstr(e.msg, nodir));
	struct vis_error e2 = {0};
	assert_int_equal(fsmode_temp_create(dest, "tmp", t1, strlen(dest) + 8, &f1, "prova", &e2),
			 VIS_ERR_LIMIT);
	assert_int_equal(f1, -1);
	assert_non_null(strstr(e2.msg, "percorso troppo lungo"));
	struct vis_error e3 = {0};
	assert_int_equal(fsmode_write_replace(nodir, "tmp", "x", 1, 0600, false, "prova", &e3),
			 VIS_ERR_IO);
	assert_int_equal(entries(), 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_missing_and_regular_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_and_directory_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_temporary_never_through_a_link, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
