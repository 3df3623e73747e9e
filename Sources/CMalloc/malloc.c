#include <malloc.h>
#include "cmalloc.h"

size_t trackd_heap_in_use(void) { return mallinfo2().uordblks; }

int trackd_map_blocks_from(size_t bytes) { return mallopt(M_MMAP_THRESHOLD, (int)bytes); }
