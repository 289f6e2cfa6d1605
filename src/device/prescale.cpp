#include "device/prescale.h"

#include <algorithm>

#include "precision/half.h"

namespace dalnas {

int prescale_shift(const float* w16, size_t n, int cap, bool first_layer) {
  int max_exp = -15;
  double sum = 0.0;
  size_t count = 0;
  for (size_t i = 0; i < n; ++i) {
    const int e = ((float_to_half(w16[i]) >> 10) & 0x1f) - 15;
    max_exp = std::max(max_exp, e);
    if (e != -15) {
      sum += e;
      ++count;
    }
  }
  const int mean_exp = count == 0 ? -15 : static_cast<int>(sum / static_cast<double>(count));
  int shift = std::min(15 - max_exp, -mean_exp);
  if (first_layer && shift > 10) shift -= 8;
  shift = std::min(shift, cap);
  return shift > 1 ? shift : 0;
}

}  // namespace dalnas
