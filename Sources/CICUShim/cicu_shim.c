#include "cicu_shim.h"
int32_t cicu_placeholder(void) { return 0; }
