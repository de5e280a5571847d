#include "harness.h"
TEST(placeholder_acpi) { }
HARNESS_MAIN(HARNESS_T(placeholder_acpi))
