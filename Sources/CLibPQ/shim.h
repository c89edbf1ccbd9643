#ifndef SCRIBE_CLIBPQ_SHIM_H
#define SCRIBE_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
