#ifndef SANDYQ_CSODIUM_SHIM_H
#define SANDYQ_CSODIUM_SHIM_H
#include <sodium.h>
#endif
