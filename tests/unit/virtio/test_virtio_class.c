/* test_virtio_class.c — the virtio class table: names unique and fit for a command line,
 * API resources unique, lookups by either name, and each class makes a device. */
#include <ctype.h>
#include <string.h>

#include "harness.h"
#include "virtio/virtio_class.h"
#include "vq_fake.h"

TEST(virtio_class_names_are_unique_and_fit_for_a_command_line)
{
	for (unsigned i = 0; i < VIRTIO_NR_CLASSES; i++) {
		const struct virtio_class *c = virtio_class_at(i);

		REQUIRE(c && c->name && *c->name && c->help && c->create);
		for (const char *p = c->name; *p; p++)
			CHECK(islower((unsigned char)*p) || isdigit((unsigned char)*p) ||
			      *p == '-');
		CHECK(strlen(c->name) < 20); /* --help's column */
		for (unsigned j = 0; j < i; j++) {
			CHECK(strcmp(c->name, virtio_class_at(j)->name));
			if (c->api_name && virtio_class_at(j)->api_name)
				CHECK(strcmp(c->api_name, virtio_class_at(j)->api_name));
		}
		CHECK(virtio_class_find(c->name) == c);
		if (c->api_name)
			CHECK(virtio_class_find_api(c->api_name) == c);
	}
	CHECK(virtio_class_at(VIRTIO_NR_CLASSES) == NULL);
	CHECK(virtio_class_find("nope") == NULL);
	CHECK(virtio_class_find(NULL) == NULL);
	CHECK(virtio_class_find_api("rng") == NULL); /* the API knows it as "entropy" */
	CHECK(virtio_class_find_api("entropy") == &virtio_rng_class);
}

TEST(virtio_class_each_makes_a_device_of_its_own_id)
{
	struct fake_guest g;

	fg_init(&g, NULL, 16);
	for (unsigned i = 0; i < VIRTIO_NR_CLASSES; i++) {
		struct virtio_dev *vdev = NULL;

		REQUIRE(virtio_class_at(i)->create(&vdev, &g.gm) == 0);
		CHECK(vdev->ops->device_id != 0);
		for (unsigned j = 0; j < i; j++) {
			struct virtio_dev *other = NULL;

			REQUIRE(virtio_class_at(j)->create(&other, &g.gm) == 0);
			CHECK(other->ops->device_id != vdev->ops->device_id);
			other->ops->destroy(other);
		}
		vdev->ops->destroy(vdev);
	}
	fg_fini(&g);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(virtio_class_names_are_unique_and_fit_for_a_command_line)
	HARNESS_T(virtio_class_each_makes_a_device_of_its_own_id)
)
// clang-format on
