#include "precision/prescale.h"

#include <algorithm>

#include "precision/half.h"

namespace dalnas {

int prescale_raw_shift(const float* w16, size_t n) {
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
  return std::min(15 - max_exp, -mean_exp);
}

int PrescalePass::next(const float* w16, size_t n, int cap, int in_channels) {
  int shift = prescale_raw_shift(w16, n);
  if (first && shift < 4 && growing_output && in_channels > 1) normal_val = 5;
  if (first && shift > 10) shift -= 8;
  shift = std::min(shift, cap);
  shift -= normal_val;
  first = false;
  return shift >= 1 ? shift : 0;
}

int prescale_shift(const float* w16, size_t n, int cap, bool first_layer) {
  PrescalePass p;
  p.first = first_layer;
  return p.next(w16, n, cap, 1);
}

}  // namespace dalnas
