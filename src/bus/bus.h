/*
 * bus.h — a port-I/O or MMIO address space: non-overlapping ranges, each
 * served by one device through one read/write signature (the same for PIO and
 * MMIO, in the manner of TinyEMU and kvmtool).
 *
 * Ranges are registered while the VM is built and may be moved at run time
 * (PCI BAR programming); lookups take a read lock, changes a write lock, and
 * a device callback runs with no bus lock held (devices outlive the vCPUs).
 */
#ifndef VMON_BUS_BUS_H
#define VMON_BUS_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * struct bus_region_ops - how a device answers accesses to one of its ranges.
 * @read:  return the value of @size bytes (1, 2, 4 or 8) at @offset from the
 *         range's base; a device returns all-ones for registers it lacks.
 * @write: take @size bytes of @value at @offset.
 * Both are called from vCPU threads, possibly several at once: a device
 * with state shared across threads locks it itself.
 */
struct bus_region_ops {
	uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
	void (*write)(void *opaque, uint64_t offset, uint64_t value, unsigned size);
};

struct bus_region {
	uint64_t base;
	uint64_t len;
	const struct bus_region_ops *ops;
	void *opaque;
	const char *name;
	uint64_t reads; /* accesses, for --stats; updated atomically */
	uint64_t writes;
};

struct bus {
	const char *name; /* "pio" or "mmio" */
	pthread_rwlock_t lock;
	struct bus_region *regions; /* sorted by base */
	unsigned nr_regions;
	unsigned cap_regions;
	uint64_t unhandled_reads;
	uint64_t unhandled_writes;
};

/* bus_init - an empty bus called @name. Returns 0 or -errno. */
int bus_init(struct bus *bus, const char *name);
void bus_destroy(struct bus *bus);

/*
 * bus_register - serve [base, base + len) with @ops/@opaque.
 * Returns 0, -EINVAL for an empty or wrapping range, -EEXIST when it overlaps
 * a registered range, -ENOMEM.
 */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_region_ops *ops,
		 void *opaque, const char *name);

/* bus_unregister - drop the range that starts at @base. 0 or -ENOENT. */
int bus_unregister(struct bus *bus, uint64_t base);

/*
 * bus_read / bus_write - dispatch one access of @size bytes at @addr.
 * @data is little-endian guest data of @size bytes. An access must have size
 * 1, 2, 4 or 8 and lie wholly inside one range; otherwise (or when nothing is
 * there) a read fills @data with all-ones, a write is dropped, and the call
 * returns false so the caller may count it.
 */
bool bus_read(struct bus *bus, uint64_t addr, void *data, unsigned size);
bool bus_write(struct bus *bus, uint64_t addr, const void *data, unsigned size);

/*
 * bus_for_each - call @fn on a snapshot of each region, in address order
 * (for --stats). Takes the read lock.
 */
void bus_for_each(struct bus *bus, void (*fn)(const struct bus_region *r, void *arg), void *arg);

#endif
