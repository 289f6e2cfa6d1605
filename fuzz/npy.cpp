// Fuzz target: the .npy reader of the external-device protocol (core/npy.h). What it
// returns must be consistent: as many values as the shape says.
#include "core/npy.h"

#include <cstdint>
#include <cstdlib>
#include <string>

#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const dalnas::NpyArray a = dalnas::parse_npy(dalnas_fuzz::as_string(data, size), "fuzz.npy");
    if (static_cast<int64_t>(a.data.size()) != a.numel()) std::abort();
  } catch (const dalnas::Error&) {
  }
  return 0;
}
