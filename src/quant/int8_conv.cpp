#include "quant/int8_conv.h"

#include <cpuid.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/error.h"
#include "quant/conv_checks.h"

namespace dalnas {

namespace {

[[noreturn]] void bad(const std::string& what) {
  throw Error("int8 conv: " + what);
}

}  // namespace

void check(const Int8ConvArgs& a) {
  if (a.in == nullptr || a.weight == nullptr || a.out == nullptr ||
      (a.scale == nullptr && (a.multiplier == nullptr || a.shift == nullptr))) {
    bad("in, weight, out and either scale or multiplier and shift must be given");
  }
  if (const std::string p = conv_geometry_problem(a); !p.empty()) bad(p);
  if (a.in_zero_point < -128 || a.in_zero_point > 127 || a.out_zero_point < -128 ||
      a.out_zero_point > 127) {
    bad("zero points must be in [-128, 127] (in " + std::to_string(a.in_zero_point) + ", out " +
        std::to_string(a.out_zero_point) + ")");
  }
  if (a.act_min < -128 || a.act_max > 127 || a.act_min > a.act_max) {
    bad("activation range [" + std::to_string(a.act_min) + ", " + std::to_string(a.act_max) +
        "] must lie in [-128, 127] with min <= max");
  }
  for (int oc = 0; a.scale != nullptr && oc < a.c_out; ++oc) {
    if (!(std::isfinite(a.scale[oc]) && a.scale[oc] > 0.0f)) {
      bad("float scale of output channel " + std::to_string(oc) + " is " +
          std::to_string(a.scale[oc]) + ", not finite and > 0");
    }
  }
  if (a.scale == nullptr) {
    if (const std::string p = requant_problem(a.multiplier, a.shift, a.c_out, 30); !p.empty())
      bad(p);
  }
}

const char* to_string(Int8Isa isa) {
  switch (isa) {
    case Int8Isa::Scalar:
      return "scalar";
    case Int8Isa::AVX2:
      return "avx2";
    case Int8Isa::AVX512VNNI:
      return "avx512vnni";
  }
  return "?";
}

bool int8_isa_supported(Int8Isa isa) {
  static const bool avx2 = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
  }();
  // __builtin_cpu_supports("avx512f") includes the OS check (XGETBV: ZMM state enabled);
  // VNNI from CPUID leaf 7, ECX bit 11 (older compilers' __builtin_cpu_supports lack it).
  static const bool vnni = [] {
    __builtin_cpu_init();
    unsigned a = 0, b = 0, c = 0, d = 0;
    const bool has_vnni = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (c & (1u << 11)) != 0;
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx2") && has_vnni;
  }();
  switch (isa) {
    case Int8Isa::Scalar:
      return true;
    case Int8Isa::AVX2:
      return avx2;
    case Int8Isa::AVX512VNNI:
      return vnni;
  }
  return false;
}

Int8Isa best_int8_isa() {
  const char* env = std::getenv("DALNAS_NO_SIMD");
  if (env != nullptr && std::strcmp(env, "1") == 0) return Int8Isa::Scalar;
  // DALNAS_INT8_ISA caps the path (benchmarks measure the AVX2 path on AVX-512 machines).
  Int8Isa cap = Int8Isa::AVX512VNNI;
  if (const char* name = std::getenv("DALNAS_INT8_ISA"); name != nullptr && *name != '\0') {
    bool known = false;
    for (Int8Isa isa : {Int8Isa::Scalar, Int8Isa::AVX2, Int8Isa::AVX512VNNI}) {
      if (std::strcmp(name, to_string(isa)) == 0) {
        cap = isa;
        known = true;
      }
    }
    if (!known) {
      throw Error(std::string("DALNAS_INT8_ISA: unknown path '") + name +
                  "' (expected scalar, avx2 or avx512vnni)");
    }
  }
  if (cap == Int8Isa::AVX512VNNI && int8_isa_supported(Int8Isa::AVX512VNNI)) {
    return Int8Isa::AVX512VNNI;
  }
  if (cap != Int8Isa::Scalar && int8_isa_supported(Int8Isa::AVX2)) return Int8Isa::AVX2;
  return Int8Isa::Scalar;
}

void int8_conv(const Int8ConvArgs& a, Int8Isa isa) {
  check(a);
  if (!int8_isa_supported(isa)) {
    throw Error(std::string("int8 conv: path ") + to_string(isa) + " needs " +
                (isa == Int8Isa::AVX2 ? "AVX2" : "AVX-512 F/BW/VL and VNNI") +
                ", which this CPU lacks");
  }
  switch (isa) {
    case Int8Isa::Scalar:
      int8_conv_scalar(a);
      return;
    case Int8Isa::AVX2:
      int8_conv_avx2(a);
      return;
    case Int8Isa::AVX512VNNI:
      int8_conv_avx512vnni(a);
      return;
  }
}

void int8_conv(const Int8ConvArgs& a) {
  int8_conv(a, best_int8_isa());
}

int32_t requantize_float(int32_t acc, float scale, int32_t out_zero_point, int32_t act_min,
                         int32_t act_max) {
  // MLAS clamps the scaled value to [min − z, max − z] in float before rounding; with
  // integer bounds that equals rounding first and clamping after (rounding is monotone).
  const float f = static_cast<float>(acc) * scale;
  const float lo = static_cast<float>(act_min - out_zero_point);
  const float hi = static_cast<float>(act_max - out_zero_point);
  const float c = std::min(std::max(f, lo), hi);
  return static_cast<int32_t>(std::nearbyint(c)) + out_zero_point;
}

// The reference: TFLite's loop nest (reference_integer_ops::ConvPerChannel) on NCHW.
void int8_conv_scalar(const Int8ConvArgs& a) {
  const int ho = a.out_h(), wo = a.out_w();
  const int cig = a.c_in / a.groups, cog = a.c_out / a.groups;
  const int k = a.kernel;
  const int32_t input_offset = -a.in_zero_point;  // params.input_offset = −z_in
  for (int n = 0; n < a.batch; ++n) {
    for (int oc = 0; oc < a.c_out; ++oc) {
      const int group = oc / cog;  // out_channel / filters_per_group
      const int8_t* wo_c = a.weight + static_cast<int64_t>(oc) * cig * k * k;
      int8_t* out_c = a.out + (static_cast<int64_t>(n) * a.c_out + oc) * ho * wo;
      for (int oy = 0; oy < ho; ++oy) {
        const int in_y_origin = oy * a.stride - a.pad;
        for (int ox = 0; ox < wo; ++ox) {
          const int in_x_origin = ox * a.stride - a.pad;
          // int32 accumulation; kept in uint32 so that a wrap is defined (see the header).
          uint32_t acc = 0;
          for (int ic = 0; ic < cig; ++ic) {
            const int8_t* in_c =
                a.in + (static_cast<int64_t>(n) * a.c_in + group * cig + ic) * a.h * a.w;
            for (int ky = 0; ky < k; ++ky) {
              const int in_y = in_y_origin + ky;
              for (int kx = 0; kx < k; ++kx) {
                const int in_x = in_x_origin + kx;
                // "Zero padding by omitting the areas outside the image."
                if (in_x < 0 || in_x >= a.w || in_y < 0 || in_y >= a.h) continue;
                const int32_t input_val = in_c[in_y * a.w + in_x];
                const int32_t filter_val = wo_c[(ic * k + ky) * k + kx];
                acc += static_cast<uint32_t>(filter_val * (input_val + input_offset));
              }
            }
          }
          if (a.bias != nullptr) acc += static_cast<uint32_t>(a.bias[oc]);
          if (a.scale != nullptr) {
            out_c[oy * wo + ox] = static_cast<int8_t>(requantize_float(
                static_cast<int32_t>(acc), a.scale[oc], a.out_zero_point, a.act_min, a.act_max));
            continue;
          }
          int32_t r = MultiplyByQuantizedMultiplier(static_cast<int32_t>(acc), a.multiplier[oc],
                                                    a.shift[oc], a.rounding);
          // acc += output_offset (wraps, like the SIMD adds, where TFLite's int32 would
          // overflow: only after a saturated or wrapped multiply).
          r = static_cast<int32_t>(static_cast<uint32_t>(r) +
                                   static_cast<uint32_t>(a.out_zero_point));
          r = std::max(r, a.act_min);
          r = std::min(r, a.act_max);
          out_c[oy * wo + ox] = static_cast<int8_t>(r);
        }
      }
    }
  }
}

}  // namespace dalnas
