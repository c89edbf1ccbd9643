#ifndef SCRIBE_COPENBLAS_SHIM_H
#define SCRIBE_COPENBLAS_SHIM_H
#include <cblas.h>
#endif
