#include "harness.h"
TEST(placeholder_boot) { }
HARNESS_MAIN(HARNESS_T(placeholder_boot))
