#include "harness.h"
TEST(placeholder_cpuid) { }
HARNESS_MAIN(HARNESS_T(placeholder_cpuid))
