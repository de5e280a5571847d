/* filelock.c — whole-file OFD locks and, for the error line, who holds one. */
#include "util/filelock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int file_lock(int fd, bool write)
{
	struct flock fl = { .l_type = write ? F_WRLCK : F_RDLCK, .l_whence = SEEK_SET };

	if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	return errno == EACCES ? -EAGAIN : -errno;
}

void file_unlock(int fd)
{
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET };

	(void)fcntl(fd, F_OFD_SETLK, &fl);
}

int file_lock_conflict(int fd, bool write)
{
	struct flock fl = { .l_type = write ? F_WRLCK : F_RDLCK, .l_whence = SEEK_SET };

	if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return -errno;
	return fl.l_type != F_UNLCK;
}

/* Does /proc/@pid/fdinfo/@fd show a lock? */
static bool fdinfo_has_lock(const char *pid, const char *fd)
{
	char path[600], line[256];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/fdinfo/%s", pid, fd);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = !strncmp(line, "lock:", 5);
	fclose(f);
	return found;
}

/* A fd of process @pid open on (@dev, @ino) with a lock on it? */
static bool pid_holds(const char *pid, dev_t dev, ino_t ino)
{
	char path[300];
	struct dirent *e;
	struct stat st;
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%s/fd", pid);
	d = opendir(path);
	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		char fdpath[600];

		if (e->d_name[0] == '.')
			continue;
		snprintf(fdpath, sizeof(fdpath), "/proc/%s/fd/%s", pid, e->d_name);
		if (stat(fdpath, &st) == 0 && st.st_dev == dev && st.st_ino == ino)
			found = fdinfo_has_lock(pid, e->d_name);
	}
	closedir(d);
	return found;
}

pid_t file_lock_holder(int fd)
{
	struct dirent *e;
	struct stat st;
	pid_t self = getpid(), who = 0;
	DIR *proc;

	if (fstat(fd, &st) < 0)
		return 0;
	proc = opendir("/proc");
	if (!proc)
		return 0;
	while (!who && (e = readdir(proc))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (*end || pid <= 0 || pid == self)
			continue;
		if (pid_holds(e->d_name, st.st_dev, st.st_ino))
			who = (pid_t)pid;
	}
	closedir(proc);
	return who;
}
