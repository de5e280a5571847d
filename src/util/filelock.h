/*
 * filelock.h — whole-file OFD locks (F_OFD_SETLK), the guard between two
 * users of one disk image or snapshot file: a write lock for a writer, a read
 * lock for a reader, as QEMU takes by default. An OFD lock belongs to the open
 * file description, so it holds across threads and ends with the last close.
 */
#ifndef VMON_UTIL_FILELOCK_H
#define VMON_UTIL_FILELOCK_H

#include <stdbool.h>
#include <sys/types.h>

/*
 * file_lock - take a write (@write) or read lock on all of @fd's file without
 * waiting. Returns 0, -EAGAIN when another open file holds a conflicting lock,
 * or another -errno from fcntl(2).
 */
int file_lock(int fd, bool write);

/* file_unlock - drop the lock file_lock() took on @fd's file (nothing when none). */
void file_unlock(int fd);

/*
 * file_lock_conflict - would file_lock(@fd, @write) be refused? Returns 1 when
 * another open file holds a conflicting lock, 0 when not, -errno on failure.
 * Takes nothing.
 */
int file_lock_conflict(int fd, bool write);

/*
 * file_lock_holder - the pid of a process (other than this one) that has
 * @fd's file open with a lock on it, found through /proc/PID/fdinfo (OFD
 * locks carry no pid of their own); 0 when none can be seen (another user's
 * process, a lock over NFS). Only for error messages: it scans /proc.
 */
pid_t file_lock_holder(int fd);

#endif
