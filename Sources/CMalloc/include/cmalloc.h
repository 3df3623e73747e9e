#include <stddef.h>

/// Bytes the C heap currently has handed out (glibc's mallinfo2, all arenas).
size_t trackd_heap_in_use(void);

/// Serves blocks of `bytes` or more with their own mappings, returned to the system
/// when freed (glibc's M_MMAP_THRESHOLD, which also turns its dynamic threshold off).
/// Returns 0 when glibc refuses.
int trackd_map_blocks_from(size_t bytes);
