#include "core/allocator.h"

#include <malloc.h>

#include <cstdlib>

namespace dalnas {

void tune_allocator() {
  if (!std::getenv("MALLOC_MMAP_THRESHOLD_")) mallopt(M_MMAP_THRESHOLD, 256 << 20);
  if (!std::getenv("MALLOC_TRIM_THRESHOLD_")) mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

}  // namespace dalnas
