/* memuffd.c — guest RAM served by a userfaultfd page-fault handler (see memuffd.h). */
#include "snapshot/memuffd.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/log.h"

#define PAGE 4096u

/* a userfaultfd: the system call, or /dev/userfaultfd where that is refused (Linux >= 6.1) */
static int uffd_open(void)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	int dev, err;

	if (fd >= 0)
		return fd;
	err = errno;
	dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return -err;
#ifdef USERFAULTFD_IOC_NEW
	fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
#else
	fd = -1;
	errno = err;
#endif
	err = errno;
	close(dev);
	return fd >= 0 ? fd : -err;
}

int memuffd_mappings_json(const struct gmem *gm, char *buf, size_t len)
{
	uint64_t offset = 0;
	size_t at = 0;
	int n;

	n = snprintf(buf, len, "[");
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	at = (size_t)n;
	for (unsigned i = 0; i < gm->nr_regions; i++) {
		const struct gmem_region *r = &gm->regions[i];

		/* page_size_kib carries bytes too: Firecracker's name, kept for its handlers */
		n = snprintf(buf + at, len - at,
			     "%s{\"base_host_virt_addr\":%llu,\"size\":%llu,\"offset\":%llu,"
			     "\"page_size\":%u,\"page_size_kib\":%u}",
			     i ? "," : "", (unsigned long long)(uintptr_t)r->hva,
			     (unsigned long long)r->len_bytes, (unsigned long long)offset, PAGE,
			     PAGE);
		if (n < 0 || (size_t)n >= len - at)
			return -ENOSPC;
		at += (size_t)n;
		offset += r->len_bytes;
	}
	n = snprintf(buf + at, len - at, "]");
	if (n < 0 || (size_t)n >= len - at)
		return -ENOSPC;
	return (int)(at + (size_t)n);
}

/* one message: the layout, with the uffd as SCM_RIGHTS */
static int send_handshake(const char *sock_path, int uffd, const char *json, size_t json_len,
			  char *err, size_t err_len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { (void *)json, json_len };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c;
	ssize_t n;
	int s, ret = 0;

	if (strlen(sock_path) >= sizeof(sa.sun_path)) {
		snprintf(err, err_len, "the Uffd handler's socket path %s is too long", sock_path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, sock_path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		ret = -errno;
		snprintf(err, err_len, "Uffd handler: socket: %s", strerror(errno));
		return ret;
	}
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa))) {
		ret = -errno;
		snprintf(err, err_len, "cannot reach the Uffd handler at %s: %s", sock_path,
			 strerror(errno));
		goto out;
	}
	memset(ctl.buf, 0, sizeof(ctl.buf));
	c = CMSG_FIRSTHDR(&msg);
	if (!c) { /* cannot be: msg_controllen holds one */
		ret = -EINVAL;
		goto out;
	}
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &uffd, sizeof(int));
	do
		n = sendmsg(s, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)json_len) {
		ret = n < 0 ? -errno : -EIO;
		snprintf(err, err_len,
			 "cannot send the memory layout to the Uffd handler at %s: %s", sock_path,
			 n < 0 ? strerror(errno) : "a short write");
	}
out:
	close(s);
	return ret;
}

int memuffd_attach(struct gmem *gm, const char *sock_path, char *err, size_t err_len)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_EVENT_REMOVE };
	char json[128 + GMEM_MAX_REGIONS * 160];
	unsigned registered = 0;
	int uffd, ret, len;

	len = memuffd_mappings_json(gm, json, sizeof(json));
	if (len < 0) {
		snprintf(err, err_len, "Uffd: the memory layout does not fit its message");
		return len;
	}
	uffd = uffd_open();
	if (uffd < 0) {
		snprintf(err, err_len,
			 "cannot make a userfaultfd: %s (vmon needs the userfaultfd system call or "
			 "read/write access to /dev/userfaultfd)",
			 strerror(-uffd));
		return uffd;
	}
	if (ioctl(uffd, UFFDIO_API, &api)) {
		ret = -errno;
		snprintf(err, err_len,
			 "userfaultfd: UFFDIO_API (with UFFD_FEATURE_EVENT_REMOVE): %s",
			 strerror(errno));
		goto fail;
	}
	for (; registered < gm->nr_regions; registered++) {
		const struct gmem_region *r = &gm->regions[registered];
		struct uffdio_register reg = {
			.range = { (uint64_t)(uintptr_t)r->hva, r->len_bytes },
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};

		if (ioctl(uffd, UFFDIO_REGISTER, &reg)) {
			ret = -errno;
			snprintf(err, err_len, "userfaultfd: registering RAM region %u: %s",
				 registered, strerror(errno));
			goto fail;
		}
		if (!(reg.ioctls & (1ull << _UFFDIO_COPY))) {
			ret = -EOPNOTSUPP;
			snprintf(err, err_len,
				 "userfaultfd: RAM region %u cannot be filled by copy", registered);
			registered++;
			goto fail;
		}
	}
	ret = send_handshake(sock_path, uffd, json, (size_t)len, err, err_len);
	if (ret)
		goto fail;
	ret = gmem_own_fd(gm, uffd);
	if (ret) {
		snprintf(err, err_len, "Uffd: too many files for the guest's memory");
		goto fail;
	}
	for (unsigned i = 0; i < gm->nr_regions; i++)
		gm->regions[i].lazy = true;
	log_info("guest memory: %u region(s) handed to the Uffd handler at %s", gm->nr_regions,
		 sock_path);
	return 0;
fail:
	/* closing the uffd unregisters every range */
	close(uffd);
	return ret;
}
