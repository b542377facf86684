#include <stdio.h>
#include <librsync.h>
// `char const rs_librsync_version[]` does not import into Swift.
static inline const char *barge_librsync_version(void) { return rs_librsync_version; }
