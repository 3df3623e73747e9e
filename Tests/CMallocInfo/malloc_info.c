#include <malloc.h>
#include "malloc_info.h"

size_t trackd_heap_in_use(void) { return mallinfo2().uordblks; }
