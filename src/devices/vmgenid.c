/* vmgenid.c — the VM generation ID: fresh random bytes in guest RAM and the edge that announces
 * them. */
#include "devices/vmgenid.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "util/log.h"

struct vmgenid {
	struct gmem *gm;
	uint64_t id_gpa;
	struct irq_line *irq;
};

/* 16 bytes from the kernel's CRNG; getrandom never returns short for <= 256 bytes once seeded. */
static int random_id(uint8_t id[VMGENID_ID_BYTES])
{
	ssize_t n;

	do
		n = getrandom(id, VMGENID_ID_BYTES, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == VMGENID_ID_BYTES ? 0 : -EIO;
}

int vmgenid_fill(struct gmem *gm, uint64_t id_gpa)
{
	uint8_t id[VMGENID_ID_BYTES];
	int ret = random_id(id);

	if (ret)
		return ret;
	return gmem_write(gm, id_gpa, id, sizeof(id));
}

struct vmgenid *vmgenid_create(struct gmem *gm, uint64_t id_gpa, struct irq_line *irq)
{
	struct vmgenid *vg = calloc(1, sizeof(*vg));

	if (!vg) {
		errno = ENOMEM;
		return NULL;
	}
	vg->gm = gm;
	vg->id_gpa = id_gpa;
	vg->irq = irq;
	return vg;
}

void vmgenid_destroy(struct vmgenid *vg)
{
	free(vg);
}

int vmgenid_new_generation(struct vmgenid *vg)
{
	int ret = vmgenid_fill(vg->gm, vg->id_gpa);

	if (ret)
		return ret;
	/*
	 * The ID is in RAM before the edge: the guest reads it in the handler
	 * the edge starts. Level 1 then 0: an edge-triggered IOAPIC pin latches
	 * the raise, and the line is low again for the next generation.
	 */
	irq_line_set(vg->irq, 1);
	irq_line_set(vg->irq, 0);
	log_info("vmgenid: new generation ID, GED interrupt on GSI %u", vg->irq ? vg->irq->gsi : 0);
	return 0;
}

static void vmgenid_dev_destroy(void *dev)
{
	vmgenid_destroy(dev);
}

const struct device_ops vmgenid_device_ops = {
	.name = "vmgenid",
	.version = 1,
	.destroy = vmgenid_dev_destroy,
};
