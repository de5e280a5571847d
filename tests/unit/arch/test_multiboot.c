#include "harness.h"
TEST(placeholder_multiboot) { }
HARNESS_MAIN(HARNESS_T(placeholder_multiboot))
