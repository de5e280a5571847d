/* bus.c — PIO/MMIO range maps and access dispatch. */
#include "bus/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	return -pthread_rwlock_init(&bus->lock, NULL);
}

void bus_destroy(struct bus *bus)
{
	free(bus->regions);
	pthread_rwlock_destroy(&bus->lock);
	memset(bus, 0, sizeof(*bus));
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_region_ops *ops,
		 void *opaque, const char *name)
{
	uint64_t end;
	unsigned pos;
	int ret = 0;

	if (len == 0 || __builtin_add_overflow(base, len - 1, &end) || !ops)
		return -EINVAL;
	pthread_rwlock_wrlock(&bus->lock);
	for (pos = 0; pos < bus->nr_regions; pos++) {
		const struct bus_region *r = &bus->regions[pos];

		if (base <= r->base + (r->len - 1) && r->base <= end) {
			ret = -EEXIST;
			goto out;
		}
		if (r->base > base)
			break;
	}
	if (bus->nr_regions == bus->cap_regions) {
		unsigned cap = bus->cap_regions ? bus->cap_regions * 2 : 16;
		struct bus_region *n = realloc(bus->regions, cap * sizeof(*n));

		if (!n) {
			ret = -ENOMEM;
			goto out;
		}
		bus->regions = n;
		bus->cap_regions = cap;
	}
	memmove(&bus->regions[pos + 1], &bus->regions[pos],
		(bus->nr_regions - pos) * sizeof(*bus->regions));
	bus->regions[pos] = (struct bus_region){
		.base = base,
		.len = len,
		.ops = ops,
		.opaque = opaque,
		.name = name,
	};
	bus->nr_regions++;
out:
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int bus_unregister(struct bus *bus, uint64_t base)
{
	int ret = -ENOENT;

	pthread_rwlock_wrlock(&bus->lock);
	for (unsigned i = 0; i < bus->nr_regions; i++) {
		if (bus->regions[i].base != base)
			continue;
		memmove(&bus->regions[i], &bus->regions[i + 1],
			(bus->nr_regions - i - 1) * sizeof(*bus->regions));
		bus->nr_regions--;
		ret = 0;
		break;
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

/* Binary search for the region holding @addr; caller holds the lock. */
static struct bus_region *find(struct bus *bus, uint64_t addr)
{
	unsigned lo = 0, hi = bus->nr_regions;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		struct bus_region *r = &bus->regions[mid];

		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

static bool size_ok(unsigned size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

/* The region for a whole access [addr, addr + size), or NULL. */
static struct bus_region *lookup(struct bus *bus, uint64_t addr, unsigned size)
{
	struct bus_region *r;

	if (!size_ok(size))
		return NULL;
	r = find(bus, addr);
	if (!r || addr - r->base > r->len - size || r->len < size)
		return NULL;
	return r;
}

bool bus_read(struct bus *bus, uint64_t addr, void *data, unsigned size)
{
	const struct bus_region_ops *ops;
	struct bus_region *r;
	uint64_t v, offset;
	void *opaque;

	pthread_rwlock_rdlock(&bus->lock);
	r = lookup(bus, addr, size);
	if (!r) {
		pthread_rwlock_unlock(&bus->lock);
		__atomic_add_fetch(&bus->unhandled_reads, 1, __ATOMIC_RELAXED);
		if (size <= 8)
			memset(data, 0xff, size);
		return false;
	}
	__atomic_add_fetch(&r->reads, 1, __ATOMIC_RELAXED);
	ops = r->ops;
	opaque = r->opaque;
	offset = addr - r->base;
	/*
	 * Call the device without the lock, so that a device may move its own
	 * ranges (a PCI BAR written through ECAM). Devices live until every
	 * vCPU has stopped, so @opaque stays valid.
	 */
	pthread_rwlock_unlock(&bus->lock);
	v = ops->read ? ops->read(opaque, offset, size) : ~0ull;
	memcpy(data, &v, size); /* x86 host: little-endian */
	return true;
}

bool bus_write(struct bus *bus, uint64_t addr, const void *data, unsigned size)
{
	const struct bus_region_ops *ops;
	struct bus_region *r;
	uint64_t v = 0, offset;
	void *opaque;

	pthread_rwlock_rdlock(&bus->lock);
	r = lookup(bus, addr, size);
	if (!r) {
		pthread_rwlock_unlock(&bus->lock);
		__atomic_add_fetch(&bus->unhandled_writes, 1, __ATOMIC_RELAXED);
		return false;
	}
	__atomic_add_fetch(&r->writes, 1, __ATOMIC_RELAXED);
	ops = r->ops;
	opaque = r->opaque;
	offset = addr - r->base;
	pthread_rwlock_unlock(&bus->lock); /* as in bus_read() */
	memcpy(&v, data, size);
	if (ops->write)
		ops->write(opaque, offset, v, size);
	return true;
}

void bus_for_each(struct bus *bus, void (*fn)(const struct bus_region *r, void *arg), void *arg)
{
	pthread_rwlock_rdlock(&bus->lock);
	for (unsigned i = 0; i < bus->nr_regions; i++) {
		struct bus_region snap = bus->regions[i];

		snap.reads = __atomic_load_n(&bus->regions[i].reads, __ATOMIC_RELAXED);
		snap.writes = __atomic_load_n(&bus->regions[i].writes, __ATOMIC_RELAXED);
		fn(&snap, arg);
	}
	pthread_rwlock_unlock(&bus->lock);
}
