#include "harness.h"
TEST(placeholder_layout) { }
HARNESS_MAIN(HARNESS_T(placeholder_layout))
