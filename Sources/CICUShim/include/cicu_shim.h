#ifndef CICU_SHIM_H
#define CICU_SHIM_H
#include <stdint.h>
/* Placeholder; the real shim declares ICU wrappers that include no ICU header here. */
int32_t cicu_placeholder(void);
#endif
