/* virtio_class.c — the table of parameterless virtio device classes (see virtio_class.h). */
#include "virtio/virtio_class.h"

#include <string.h>

static const struct virtio_class *const classes[VIRTIO_NR_CLASSES] = {
#define VIRTIO_CLASS(sym) &sym,
#include "virtio/virtio_classes.def"
#undef VIRTIO_CLASS
};

const struct virtio_class *virtio_class_at(unsigned i)
{
	return i < VIRTIO_NR_CLASSES ? classes[i] : NULL;
}

const struct virtio_class *virtio_class_find(const char *name)
{
	for (unsigned i = 0; name && i < VIRTIO_NR_CLASSES; i++) {
		if (!strcmp(classes[i]->name, name))
			return classes[i];
	}
	return NULL;
}

const struct virtio_class *virtio_class_find_api(const char *api_name)
{
	for (unsigned i = 0; api_name && i < VIRTIO_NR_CLASSES; i++) {
		if (classes[i]->api_name && !strcmp(classes[i]->api_name, api_name))
			return classes[i];
	}
	return NULL;
}
