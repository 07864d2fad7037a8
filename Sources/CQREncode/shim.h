#ifndef SANDYQ_CQRENCODE_SHIM_H
#define SANDYQ_CQRENCODE_SHIM_H
#include <qrencode.h>
#endif
