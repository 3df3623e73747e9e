#include <stddef.h>
/// Bytes the C heap currently has handed out (glibc's mallinfo2, all arenas).
size_t trackd_heap_in_use(void);
