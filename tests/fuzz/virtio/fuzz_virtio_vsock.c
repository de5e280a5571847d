/*
 * fuzz_virtio_vsock.c — virtio-vsock's queues and its host end: every tx header, length and
 * op in every connection state, rx buffers of any shape. Input: 1 byte naming the order of
 * the kicks (rx, tx, event), then guest RAM holding each queue's rings (16 entries) and the
 * buffers. The host end is real: a listener at <uds>_1 accepts the guest's connections (a
 * REQUEST to port 1 from CID 3 opens one), so data and credit paths run too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/virtio_config.h>

#include "base/state.h"
#include "mem/gmem.h"
#include "util/log.h"
#include "fuzz_driver.h"
#include "virtio/virtio_vsock.h"

#define RAM_GPA 0x10000ull
#define RAM_LEN 0x10000ull

static uint8_t ram[RAM_LEN] __attribute__((aligned(4096)));
static struct evloop *el;
static char path[96];
static int port1 = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Once: the event loop (never run: host events are not needed for the guest's paths) and the
 * listener the guest's port-1 connections reach. */
static void setup(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	log_set_level(LOG_ERROR);
	el = evloop_create();
	snprintf(path, sizeof(path), "/tmp/vmon-fuzz-vsock-%d.sock", (int)getpid());
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_1", path);
	unlink(sa.sun_path);
	port1 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (port1 < 0 || bind(port1, (struct sockaddr *)&sa, sizeof(sa)) || listen(port1, 64))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtio_dev *vdev;
	struct state_writer w;
	struct gmem gm;
	char err[256];
	int fd;

	if (!el)
		setup();
	if (size < 1)
		return 0;
	memset(ram, 0, sizeof(ram));
	memcpy(ram, data + 1, size - 1 < sizeof(ram) ? size - 1 : sizeof(ram));
	gmem_init(&gm);
	gmem_add_hva(&gm, RAM_GPA, RAM_LEN, ram);
	if (virtio_vsock_create(&vdev, &gm, 3, path, el, err, sizeof(err)))
		abort(); /* the set-up itself must work */
	fuzz_driver_start(vdev, vdev->host_features, RAM_GPA);
	for (unsigned i = 0; i < 8; i++)
		virtio_dev_kick(vdev, ((data[0] >> (i % 4 * 2)) & 3) % 3);
	/* a restore's path: TRANSPORT_RESET on the event queue, the queues run again */
	state_writer_init(&w);
	virtio_dev_save(vdev, &w);
	state_writer_free(&w);
	vdev->ops->loaded(vdev);
	vdev->ops->destroy(vdev);
	gmem_destroy(&gm);
	/* drop what the guest's connections left in the listener's backlog */
	while ((fd = accept4(port1, NULL, NULL, SOCK_NONBLOCK)) >= 0)
		close(fd);
	return 0;
}
