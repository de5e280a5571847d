/*
 * uffd_handler.c — a page-fault handler for vmon's Uffd memory backend, shaped
 * like Firecracker's examples/uffd/on_demand_handler.rs: it listens on a Unix
 * socket, takes the userfaultfd and the layout (Firecracker's JSON array of
 * GuestRegionUffdMapping) in one message, maps the snapshot's memory file and
 * fills each page on its first fault (UFFDIO_COPY; UFFDIO_ZEROPAGE for a page
 * the guest's balloon gave back), until the monitor that connected is gone.
 *
 *   uffd_handler SOCKET MEMFILE STATS   (STATS: "faults=N copied=N zeroed=N removes=N pages=N")
 *
 * A test tool, not part of vmon; exits 1 with one line on a bad message.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#define PAGE 4096ull
#define MAX_REGIONS 16
#define MAX_REMOVED 1024

struct region {
	uint64_t base, size, offset;
};

static struct region regions[MAX_REGIONS];
static unsigned nr_regions;
static struct {
	uint64_t start, end;
} removed[MAX_REMOVED];
static unsigned nr_removed;
static uint64_t faults, copied, zeroed, removes, file_pages;

static int die(const char *what)
{
	fprintf(stderr, "uffd_handler: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void stats(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return;
	fprintf(f, "faults=%llu copied=%llu zeroed=%llu removes=%llu pages=%llu\n",
		(unsigned long long)faults, (unsigned long long)copied, (unsigned long long)zeroed,
		(unsigned long long)removes, (unsigned long long)file_pages);
	fclose(f);
}

static int parse_layout(const char *text)
{
	json_object *a = json_tokener_parse(text);
	size_t n;

	if (!a || !json_object_is_type(a, json_type_array))
		return -1;
	n = json_object_array_length(a);
	if (!n || n > MAX_REGIONS)
		return -1;
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(a, i), *b, *s, *off, *ps;

		if (!json_object_object_get_ex(o, "base_host_virt_addr", &b) ||
		    !json_object_object_get_ex(o, "size", &s) ||
		    !json_object_object_get_ex(o, "offset", &off) ||
		    !json_object_object_get_ex(o, "page_size", &ps) ||
		    json_object_get_uint64(ps) != PAGE)
			return -1;
		regions[i] = (struct region){ json_object_get_uint64(b), json_object_get_uint64(s),
					      json_object_get_uint64(off) };
	}
	nr_regions = (unsigned)n;
	json_object_put(a);
	return 0;
}

static bool was_removed(uint64_t addr)
{
	for (unsigned i = 0; i < nr_removed; i++)
		if (addr >= removed[i].start && addr < removed[i].end)
			return true;
	return false;
}

static void serve(int uffd, const uint8_t *mem, uint64_t mem_len, uint64_t addr)
{
	uint64_t page = addr & ~(PAGE - 1);

	faults++;
	for (unsigned i = 0; i < nr_regions; i++) {
		const struct region *r = &regions[i];

		if (page < r->base || page >= r->base + r->size)
			continue;
		if (was_removed(page)) {
			struct uffdio_zeropage z = { .range = { page, PAGE } };

			if (ioctl(uffd, UFFDIO_ZEROPAGE, &z) && errno != EEXIST)
				die("UFFDIO_ZEROPAGE");
			zeroed++;
			return;
		}
		if (r->offset + (page - r->base) + PAGE > mem_len) {
			errno = ERANGE;
			die("a fault beyond the memory file");
		}
		struct uffdio_copy c = { .dst = page,
					 .src = (uint64_t)(uintptr_t)(mem + r->offset +
								      (page - r->base)),
					 .len = PAGE };
		while (ioctl(uffd, UFFDIO_COPY, &c)) {
			if (errno == EEXIST)
				return;
			if (errno != EAGAIN)
				die("UFFDIO_COPY");
		}
		copied++;
		return;
	}
	errno = EFAULT;
	die("a fault outside every region");
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[65536];
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { buf, sizeof(buf) - 1 };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = ctl.b,
			      .msg_controllen = sizeof(ctl.b) };
	struct ucred peer;
	socklen_t plen = sizeof(peer);
	struct cmsghdr *c;
	struct stat st;
	uint8_t *mem;
	int ls, s, uffd = -1, fd;
	ssize_t n;

	if (argc != 4) {
		fprintf(stderr, "usage: uffd_handler SOCKET MEMFILE STATS\n");
		return 2;
	}
	fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st))
		die(argv[2]);
	mem = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (mem == MAP_FAILED)
		die("mmap of the memory file");
	file_pages = (uint64_t)st.st_size / PAGE;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
	unlink(argv[1]);
	ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) || listen(ls, 1))
		die("listening");
	stats(argv[3]);
	s = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	if (s < 0)
		die("accept");
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &peer, &plen))
		die("SO_PEERCRED");
	n = recvmsg(s, &msg, MSG_CMSG_CLOEXEC);
	if (n <= 0)
		die("recvmsg");
	buf[n] = 0;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(&uffd, CMSG_DATA(c), sizeof(int));
	if (uffd < 0 || parse_layout(buf)) {
		fprintf(stderr, "uffd_handler: a bad handshake: '%s' (fd %d)\n", buf, uffd);
		return 1;
	}
	close(s);
	for (;;) {
		struct pollfd p = { uffd, POLLIN, 0 };
		struct uffd_msg m[16];

		if (poll(&p, 1, 200) == 0) {
			stats(argv[3]);
			if (kill(peer.pid, 0) && errno == ESRCH)
				return 0; /* the monitor is gone */
			continue;
		}
		n = read(uffd, m, sizeof(m));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			die("reading the userfaultfd");
		for (size_t i = 0; i < (size_t)n / sizeof(m[0]); i++) {
			if (m[i].event == UFFD_EVENT_PAGEFAULT) {
				serve(uffd, mem, (uint64_t)st.st_size, m[i].arg.pagefault.address);
			} else if (m[i].event == UFFD_EVENT_REMOVE && nr_removed < MAX_REMOVED) {
				removed[nr_removed].start = m[i].arg.remove.start;
				removed[nr_removed++].end = m[i].arg.remove.end;
				removes++;
			}
		}
		stats(argv[3]);
	}
}
