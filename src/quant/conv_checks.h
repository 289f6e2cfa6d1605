#pragma once
// The argument checks the integer convolutions share (quant/int8_conv: Int8ConvArgs;
// quant/int16_ops: Int16ConvArgs): each returns what is wrong, in words, or "" when the
// fields are consistent; the caller throws dalnas::Error with its own prefix.
#include <cstdint>
#include <string>

namespace dalnas {

// Sizes >= 1, kernel and stride >= 1, pad >= 0, groups dividing c_in and c_out, and the
// kernel fitting the padded input. `Args` has batch, c_in, h, w, c_out, kernel, stride, pad
// and groups.
template <class Args>
std::string conv_geometry_problem(const Args& a) {
  const auto s = [](int v) { return std::to_string(v); };
  if (a.batch < 1 || a.c_in < 1 || a.h < 1 || a.w < 1 || a.c_out < 1)
    return "batch, c_in, h, w and c_out must be >= 1 (got " + s(a.batch) + ", " + s(a.c_in) + ", " +
           s(a.h) + ", " + s(a.w) + ", " + s(a.c_out) + ")";
  if (a.kernel < 1 || a.stride < 1 || a.pad < 0)
    return "kernel and stride must be >= 1 and pad >= 0 (got kernel " + s(a.kernel) + ", stride " +
           s(a.stride) + ", pad " + s(a.pad) + ")";
  if (a.groups < 1 || a.c_in % a.groups != 0 || a.c_out % a.groups != 0)
    return "groups " + s(a.groups) + " must divide c_in " + s(a.c_in) + " and c_out " + s(a.c_out);
  if (a.h + 2 * a.pad < a.kernel || a.w + 2 * a.pad < a.kernel)
    return "the " + s(a.kernel) + "×" + s(a.kernel) + " kernel does not fit the padded " + s(a.h) +
           "×" + s(a.w) + " input";
  return "";
}

// Per output channel, TFLite's DCHECKs on the requantization (common.cc): a multiplier >= 0
// and a shift in [-31, max_shift] (30 for int32 accumulators, 7 for the int64 overload).
inline std::string requant_problem(const int32_t* multiplier, const int* shift, int c_out,
                                   int max_shift) {
  for (int oc = 0; oc < c_out; ++oc) {
    if (shift[oc] < -31 || shift[oc] > max_shift)
      return "shift of output channel " + std::to_string(oc) + " is " + std::to_string(shift[oc]) +
             ", outside [-31, " + std::to_string(max_shift) + "]";
    if (multiplier[oc] < 0)
      return "multiplier of output channel " + std::to_string(oc) + " is negative (" +
             std::to_string(multiplier[oc]) + ")";
  }
  return "";
}

}  // namespace dalnas
