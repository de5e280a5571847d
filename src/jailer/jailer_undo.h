/*
 * jailer_undo.h — what the jailer made on the host (files, directories,
 * cgroups), so that a step that fails can take it all back, newest first.
 */
#ifndef VMON_JAILER_UNDO_H
#define VMON_JAILER_UNDO_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#define JAILER_UNDO_MAX 128

struct jailer_undo {
	char path[JAILER_UNDO_MAX][PATH_MAX];
	bool dir[JAILER_UNDO_MAX];
	unsigned n;
	bool lost; /* more than JAILER_UNDO_MAX were made: those are not removed */
};

/* undo_add - note that @path (a directory when @dir) was made by the jailer */
static inline void undo_add(struct jailer_undo *u, const char *path, bool dir)
{
	if (u->n == JAILER_UNDO_MAX) {
		u->lost = true;
		return;
	}
	snprintf(u->path[u->n], sizeof(u->path[0]), "%s", path);
	u->dir[u->n++] = dir;
}

/* undo_forget - keep everything made so far (the jail was entered) */
static inline void undo_forget(struct jailer_undo *u)
{
	u->n = 0;
}

/* undo_run - remove what was made, newest first (a directory only when empty) */
static inline void undo_run(struct jailer_undo *u)
{
	while (u->n) {
		u->n--;
		if (u->dir[u->n])
			rmdir(u->path[u->n]);
		else
			unlink(u->path[u->n]);
	}
}

#endif
