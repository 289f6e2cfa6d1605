#include <gtest/gtest.h>
#include <immintrin.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "isa_paths.h"
#include "precision/half.h"

using namespace dalnas;

namespace {

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

bool half_is_nan(uint16_t h) {
  return (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0;
}

const HalfMode kInfKeep{Overflow::Inf, Subnormals::Keep};
const HalfMode kInfFlush{Overflow::Inf, Subnormals::Flush};
const HalfMode kSatKeep{Overflow::Saturate, Subnormals::Keep};
const HalfMode kSatFlush{Overflow::Saturate, Subnormals::Flush};
const HalfMode kAllModes[] = {kInfKeep, kInfFlush, kSatKeep, kSatFlush};

// Every combination overflow × subnormals × rounding (the F16C-native ones and the rest).
std::vector<HalfMode> every_mode() {
  std::vector<HalfMode> v;
  for (Rounding r : {Rounding::NearestEven, Rounding::NearestAway}) {
    for (Subnormals s : {Subnormals::Keep, Subnormals::Flush, Subnormals::MinNormal}) {
      for (Overflow o : {Overflow::Inf, Overflow::Saturate}) v.push_back(HalfMode{o, s, r});
    }
  }
  return v;
}

std::string mode_name(const HalfMode& m) {
  const char* sub[] = {"keep", "flush", "min-normal"};
  return std::string(m.overflow == Overflow::Inf ? "inf" : "saturate") + "/" +
         sub[static_cast<int>(m.subnormals)] + "/" +
         (m.rounding == Rounding::NearestEven ? "even" : "away");
}

const HalfIsa kSimdPaths[] = {HalfIsa::AVX2, HalfIsa::AVX512};

// Independent reference for half -> float: the textbook formula in double.
double half_value(uint16_t h) {
  const int s = h >> 15, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  double v;
  if (e == 0x1f) {
    v = m == 0 ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
  } else if (e == 0) {
    v = std::ldexp(double(m), -24);
  } else {
    v = std::ldexp(double(1024 + m), e - 25);
  }
  return s ? -v : v;
}

// Hardware F16C reference (only called when the CPU has it).
__attribute__((target("f16c"))) uint16_t hw_to_half(float f) {
  return uint16_t(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
}
__attribute__((target("f16c"))) float hw_to_float(uint16_t h) {
  return _cvtsh_ss(h);
}

// Interesting inputs: every half value, every midpoint between neighbours, and the floats
// just around those midpoints, both signs; plus special values.
std::vector<float> interesting_floats() {
  std::vector<float> v;
  for (uint32_t h = 0; h < 0x7c00; ++h) {
    const float a = half_value(uint16_t(h));
    const float b = h + 1 <= 0x7bff ? float(half_value(uint16_t(h + 1))) : 65536.0f;
    const float mid = (a + b) * 0.5f;  // exact: at most 12 significant bits
    for (float x : {a, mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 1e30f)}) {
      v.push_back(x);
      v.push_back(-x);
    }
  }
  const float inf = std::numeric_limits<float>::infinity();
  for (float x : {inf, -inf, std::numeric_limits<float>::quiet_NaN(), from_bits(0xffc00001u),
                  from_bits(0x7f800001u), from_bits(0x7fbfffffu), from_bits(0x7fffe000u),
                  std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(),
                  std::numeric_limits<float>::denorm_min(), -1e-40f, 1e10f, -1e10f, 65520.0f,
                  -65520.0f, 65519.998f, 1e-30f, -0.0f}) {
    v.push_back(x);
  }
  return v;
}

// A few million random floats (fixed seed): uniform bit patterns (all exponents, NaNs,
// subnormals) and floats with exponents around the half range.
std::vector<float> random_floats(size_t n) {
  std::mt19937 rng(12345);
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) {
    uint32_t u = rng();
    if (i % 2 == 1) {
      const uint32_t exp = 97 + rng() % 50;  // 2^-30 .. 2^19
      u = (u & 0x807fffffu) | (exp << 23);
    }
    v[i] = from_bits(u);
  }
  return v;
}

}  // namespace

TEST(Half, AllHalvesToFloatMatchFormula) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = half_to_float(uint16_t(h));
    if (half_is_nan(uint16_t(h))) {
      ASSERT_TRUE(std::isnan(f)) << h;
      ASSERT_EQ(std::signbit(f), (h & 0x8000) != 0) << h;
    } else {
      ASSERT_EQ(double(f), half_value(uint16_t(h))) << h;
      ASSERT_EQ(std::signbit(f), (h & 0x8000) != 0) << h;
    }
  }
}

TEST(Half, AllHalvesRoundTrip) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const uint16_t hh = uint16_t(h);
    const float f = half_to_float(hh);
    for (const HalfMode& mode : kAllModes) {
      const uint16_t back = float_to_half(f, mode);
      if (half_is_nan(hh)) {
        ASSERT_TRUE(half_is_nan(back)) << h;
        ASSERT_EQ(back & 0x8000, hh & 0x8000) << h;
        ASSERT_EQ(back, hh | 0x0200) << h;  // quietened, payload kept
      } else if (mode.subnormals == Subnormals::Flush && (hh & 0x7c00) == 0) {
        ASSERT_EQ(back, hh & 0x8000) << h;  // subnormal -> zero of the same sign
      } else {
        ASSERT_EQ(back, hh) << h;  // includes ±inf in Saturate mode
      }
    }
  }
}

TEST(Half, MidpointsTieToEven) {
  for (uint32_t h = 0; h < 0x7bff; ++h) {  // neighbours h, h+1 both finite
    const float a = half_to_float(uint16_t(h)), b = half_to_float(uint16_t(h + 1));
    const float mid = (a + b) * 0.5f;
    ASSERT_GT(mid, a);
    ASSERT_LT(mid, b);
    const uint16_t even = (h % 2 == 0) ? uint16_t(h) : uint16_t(h + 1);
    for (const HalfMode& mode : {kInfKeep, kSatKeep}) {
      ASSERT_EQ(float_to_half(mid, mode), even) << h;
      ASSERT_EQ(float_to_half(-mid, mode), even | 0x8000) << h;
      ASSERT_EQ(float_to_half(std::nextafter(mid, 0.0f), mode), h) << h;
      ASSERT_EQ(float_to_half(std::nextafter(mid, 1e9f), mode), h + 1) << h;
      ASSERT_EQ(float_to_half(-std::nextafter(mid, 0.0f), mode), h | 0x8000) << h;
      ASSERT_EQ(float_to_half(-std::nextafter(mid, 1e9f), mode), (h + 1) | 0x8000) << h;
    }
  }
}

TEST(Half, OverflowBoundary) {
  const float inf = std::numeric_limits<float>::infinity();
  const float below = std::nextafter(65520.0f, 0.0f);  // 65519.996
  EXPECT_EQ(float_to_half(65504.0f), 0x7bff);
  EXPECT_EQ(float_to_half(below), 0x7bff);
  EXPECT_EQ(float_to_half(-below), 0xfbff);
  EXPECT_EQ(float_to_half(65520.0f), 0x7c00);
  EXPECT_EQ(float_to_half(-65520.0f), 0xfc00);
  EXPECT_EQ(float_to_half(1e10f), 0x7c00);
  EXPECT_EQ(float_to_half(std::numeric_limits<float>::max()), 0x7c00);
  EXPECT_EQ(float_to_half(inf), 0x7c00);
  EXPECT_EQ(float_to_half(-inf), 0xfc00);

  EXPECT_EQ(float_to_half(below, kSatKeep), 0x7bff);
  EXPECT_EQ(float_to_half(65520.0f, kSatKeep), 0x7bff);
  EXPECT_EQ(float_to_half(-65520.0f, kSatFlush), 0xfbff);
  EXPECT_EQ(float_to_half(1e10f, kSatKeep), 0x7bff);
  EXPECT_EQ(float_to_half(-std::numeric_limits<float>::max(), kSatKeep), 0xfbff);
  EXPECT_EQ(float_to_half(inf, kSatKeep), 0x7c00);  // already infinite: stays infinite
  EXPECT_EQ(float_to_half(-inf, kSatFlush), 0xfc00);

  EXPECT_EQ(round_to_half(65519.0f), 65504.0f);
  EXPECT_EQ(round_to_half(70000.0f), inf);
  EXPECT_EQ(round_to_half(70000.0f, kSatKeep), 65504.0f);
  EXPECT_EQ(round_to_half(-70000.0f, kSatKeep), -65504.0f);
}

TEST(Half, Subnormals) {
  const float tiny = kHalfMinSubnormal;  // 2^-24
  EXPECT_EQ(float_to_half(tiny), 0x0001);
  EXPECT_EQ(float_to_half(tiny * 0.5f), 0x0000);  // 2^-25 ties to even (0)
  EXPECT_EQ(float_to_half(-tiny * 0.5f), 0x8000);
  EXPECT_EQ(float_to_half(std::nextafter(tiny * 0.5f, 1.0f)), 0x0001);
  EXPECT_EQ(float_to_half(std::nextafter(tiny * 0.5f, 0.0f)), 0x0000);
  EXPECT_EQ(float_to_half(tiny * 1.5f), 0x0002);     // tie between 1 and 2 -> 2
  EXPECT_EQ(float_to_half(tiny * 2.5f), 0x0002);     // tie between 2 and 3 -> 2
  EXPECT_EQ(float_to_half(tiny * 1023.0f), 0x03ff);  // largest subnormal
  EXPECT_EQ(float_to_half(tiny * 1023.5f), 0x0400);  // tie rounds up to 2^-14
  EXPECT_EQ(float_to_half(kHalfMinNormal), 0x0400);
  EXPECT_EQ(float_to_half(std::numeric_limits<float>::denorm_min()), 0x0000);
  EXPECT_EQ(float_to_half(-std::numeric_limits<float>::min()), 0x8000);
  EXPECT_EQ(half_to_float(0x0001), tiny);
  EXPECT_EQ(half_to_float(0x83ff), -tiny * 1023.0f);
}

TEST(Half, FlushMode) {
  const float tiny = kHalfMinSubnormal;
  EXPECT_EQ(float_to_half(tiny, kInfFlush), 0x0000);
  EXPECT_EQ(float_to_half(-tiny, kInfFlush), 0x8000);
  EXPECT_EQ(float_to_half(tiny * 1023.0f, kSatFlush), 0x0000);
  EXPECT_EQ(float_to_half(-tiny * 1023.0f, kInfFlush), 0x8000);
  // Results that round up to 2^-14 are normal and kept.
  EXPECT_EQ(float_to_half(tiny * 1023.5f, kInfFlush), 0x0400);
  EXPECT_EQ(float_to_half(std::nextafter(kHalfMinNormal, 0.0f), kInfFlush), 0x0400);
  EXPECT_EQ(float_to_half(kHalfMinNormal, kInfFlush), 0x0400);
  EXPECT_EQ(float_to_half(-kHalfMinNormal, kInfFlush), 0x8400);
  EXPECT_EQ(float_to_half(1.0f, kInfFlush), 0x3c00);
  float r = round_to_half(-tiny * 3.0f, kInfFlush);
  EXPECT_EQ(r, 0.0f);
  EXPECT_TRUE(std::signbit(r));
}

TEST(Half, NegativeZeroAndNaN) {
  EXPECT_EQ(float_to_half(0.0f), 0x0000);
  EXPECT_EQ(float_to_half(-0.0f), 0x8000);
  EXPECT_TRUE(std::signbit(half_to_float(0x8000)));
  EXPECT_EQ(half_to_float(0x8000), 0.0f);
  EXPECT_TRUE(std::signbit(round_to_half(-0.0f)));

  for (const HalfMode& mode : kAllModes) {
    EXPECT_EQ(float_to_half(std::numeric_limits<float>::quiet_NaN(), mode), 0x7e00);
    EXPECT_EQ(float_to_half(from_bits(0xffc00000u), mode), 0xfe00);
    EXPECT_EQ(float_to_half(from_bits(0x7f800001u), mode), 0x7e00);  // signalling -> quiet
    EXPECT_EQ(float_to_half(from_bits(0xff9fe000u), mode), 0xfeff);  // top payload kept
    EXPECT_EQ(float_to_half(from_bits(0x7fffffffu), mode), 0x7fff);
  }
  EXPECT_EQ(bits(half_to_float(0x7e00)), 0x7fc00000u);
  EXPECT_EQ(bits(half_to_float(0xfc01)), 0xffc02000u);  // quietened, payload kept
}

TEST(Half, ScalarMatchesF16CInstruction) {
  const isa_paths::Report isa_report;
  isa_paths::ran("scalar");
  if (!isa_paths::use("f16c")) return;  // reported as skipped (or failed if required)
  for (uint32_t h = 0; h < 65536; ++h) {
    ASSERT_EQ(bits(half_to_float(uint16_t(h))), bits(hw_to_float(uint16_t(h)))) << h;
  }
  for (float f : interesting_floats()) {
    ASSERT_EQ(float_to_half(f), hw_to_half(f)) << f << " bits " << bits(f);
  }
  for (float f : random_floats(3000000)) {
    ASSERT_EQ(float_to_half(f), hw_to_half(f)) << f << " bits " << bits(f);
  }
}

TEST(Half, SimdSelection) {
  const char* env = std::getenv("DALNAS_NO_SIMD");
  const bool forced_off = env != nullptr && std::strcmp(env, "1") == 0;
  EXPECT_EQ(half_simd_enabled(), cpu_has_f16c() && !forced_off);
}

TEST(Half, ArrayPathsMatchScalarInEveryMode) {
  const isa_paths::Report isa_report;
  isa_paths::ran("scalar");
  std::vector<float> in = interesting_floats();
  const std::vector<float> rnd = random_floats(200000);
  in.insert(in.end(), rnd.begin(), rnd.end());
  const size_t n = in.size();
  std::vector<float> fast(n), slow(n);
  std::vector<uint16_t> fast_h(n), slow_h(n);
  for (const HalfMode& mode : every_mode()) {
    SCOPED_TRACE(mode_name(mode));
    round_to_half_scalar(in.data(), slow.data(), n, mode);
    float_to_half_scalar(in.data(), slow_h.data(), n, mode);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(bits(slow[i]), bits(round_to_half(in[i], mode))) << i;
      ASSERT_EQ(slow_h[i], float_to_half(in[i], mode)) << i;
    }
    // The dispatching functions, then every path this CPU has.
    round_to_half(in.data(), fast.data(), n, mode);
    float_to_half(in.data(), fast_h.data(), n, mode);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(bits(fast[i]), bits(slow[i])) << "dispatch, i=" << i << " x=" << in[i];
      ASSERT_EQ(fast_h[i], slow_h[i]) << "dispatch, i=" << i << " x=" << in[i];
    }
    for (HalfIsa isa : kSimdPaths) {
      if (!isa_paths::use_half(isa, mode)) continue;
      round_to_half_isa(isa, in.data(), fast.data(), n, mode);
      float_to_half_isa(isa, in.data(), fast_h.data(), n, mode);
      for (size_t i = 0; i < n; ++i) {
        ASSERT_EQ(bits(fast[i]), bits(slow[i])) << to_string(isa) << " i=" << i << " x=" << in[i];
        ASSERT_EQ(fast_h[i], slow_h[i]) << to_string(isa) << " i=" << i << " x=" << in[i];
      }
    }
  }
  std::vector<uint16_t> all(65536);
  for (uint32_t h = 0; h < 65536; ++h) all[h] = uint16_t(h);
  std::vector<float> f_fast(65536), f_slow(65536);
  half_to_float(all.data(), f_fast.data(), all.size());
  half_to_float_scalar(all.data(), f_slow.data(), all.size());
  for (size_t i = 0; i < all.size(); ++i) ASSERT_EQ(bits(f_fast[i]), bits(f_slow[i])) << i;
}

TEST(Half, ArrayTailsOffsetsAndInPlace) {
  // Odd lengths and unaligned starts exercise the tail handling; the sentinel after the
  // range must stay untouched. Every mode, on every path this CPU has.
  const isa_paths::Report isa_report;
  isa_paths::ran("scalar");
  const std::vector<float> rnd = random_floats(64);
  const float sentinel = 123.456f;
  for (const HalfMode& mode : every_mode()) {
    SCOPED_TRACE(mode_name(mode));
    for (HalfIsa isa : kSimdPaths) {
      if (!isa_paths::use_half(isa, mode)) continue;
      SCOPED_TRACE(to_string(isa));
      for (size_t offset = 0; offset < 3; ++offset) {
        for (size_t n = 0; n <= 41; ++n) {
          std::vector<float> src(rnd.begin(), rnd.begin() + offset + n);
          std::vector<float> fast(offset + n + 1, sentinel), slow(offset + n + 1, sentinel);
          round_to_half_isa(isa, src.data() + offset, fast.data() + offset, n, mode);
          round_to_half_scalar(src.data() + offset, slow.data() + offset, n, mode);
          for (size_t i = 0; i < fast.size(); ++i) {
            ASSERT_EQ(bits(fast[i]), bits(slow[i])) << "n=" << n << " i=" << i;
          }
          ASSERT_EQ(fast.back(), sentinel);
          if (offset > 0) {
            ASSERT_EQ(fast[0], sentinel);
          }

          std::vector<uint16_t> h_fast(offset + n + 1, 0xabcd), h_slow(offset + n + 1, 0xabcd);
          float_to_half_isa(isa, src.data() + offset, h_fast.data() + offset, n, mode);
          float_to_half_scalar(src.data() + offset, h_slow.data() + offset, n, mode);
          ASSERT_EQ(h_fast, h_slow) << "n=" << n;
          ASSERT_EQ(h_fast.back(), 0xabcd);

          std::vector<float> back_fast(n + 1, sentinel), back_slow(n + 1, sentinel);
          half_to_float(h_fast.data() + offset, back_fast.data(), n);
          half_to_float_scalar(h_fast.data() + offset, back_slow.data(), n);
          for (size_t i = 0; i <= n; ++i) ASSERT_EQ(bits(back_fast[i]), bits(back_slow[i]));

          // In place.
          std::vector<float> inplace = src;
          round_to_half_isa(isa, inplace.data() + offset, inplace.data() + offset, n, mode);
          for (size_t i = 0; i < n; ++i) {
            ASSERT_EQ(bits(inplace[offset + i]), bits(slow[offset + i])) << "n=" << n;
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// The modes beyond F16C (ties away, MinNormal) and their SIMD paths.

// Inputs where a rounding decision is made: every half value, its float neighbours, the
// midpoints between neighbouring halves (ties of the half grid) and their neighbours; the
// ties of the 11-bit grid below 2^-14 (where MinNormal rounds); the thresholds 2^-25,
// 2^-24, 2^-15, 2^-14, 65504, 65520, 2^16 with neighbours; both signs; NaNs and infinities.
std::vector<float> decision_floats() {
  std::vector<float> v;
  auto add3 = [&v](float x) {
    for (float y : {x, std::nextafter(x, 0.0f), std::nextafter(x, 1e30f)}) {
      v.push_back(y);
      v.push_back(-y);
    }
  };
  for (uint32_t h = 0; h < 65536; ++h) {
    const float a = half_to_float(uint16_t(h));
    v.push_back(a);
    if (std::isfinite(a)) {
      v.push_back(std::nextafter(a, -1e30f));
      v.push_back(std::nextafter(a, 1e30f));
    }
  }
  for (uint32_t h = 0; h < 0x7c00; ++h) {
    const double a = half_value(uint16_t(h));
    const double b = h + 1 <= 0x7bff ? half_value(uint16_t(h + 1)) : 65536.0;
    add3(float((a + b) * 0.5));  // exact: at most 12 significant bits
  }
  for (int e = -28; e <= -14; ++e) {
    for (int k = 0; k < 1024; ++k) add3(std::ldexp(float(2048 + 2 * k + 1), e - 11));
  }
  for (float t :
       {std::ldexp(1.0f, -25), std::ldexp(1.0f, -24), std::ldexp(1.0f, -15), std::ldexp(1.0f, -14),
        65504.0f, 65520.0f, 65536.0f, std::ldexp(1.0f, -14) - std::ldexp(1.0f, -25),
        std::ldexp(1.0f, -15) - std::ldexp(1.0f, -27)}) {
    add3(t);
  }
  const float inf = std::numeric_limits<float>::infinity();
  for (float x : {inf, -inf, std::numeric_limits<float>::quiet_NaN(), from_bits(0xffc00001u),
                  from_bits(0x7f800001u), from_bits(0x7fbfffffu), from_bits(0xff801fffu),
                  std::numeric_limits<float>::max(), std::numeric_limits<float>::denorm_min(),
                  std::numeric_limits<float>::min()}) {
    v.push_back(x);
    v.push_back(-x);
  }
  return v;
}

// Every available SIMD path against the scalar reference on `in`, in `mode` (records the
// paths in the test's isa_paths::Report).
::testing::AssertionResult simd_matches_scalar(const std::vector<float>& in, const HalfMode& mode) {
  const size_t n = in.size();
  std::vector<float> want(n), got(n);
  std::vector<uint16_t> want_h(n), got_h(n);
  for (size_t i = 0; i < n; ++i) {
    want_h[i] = float_to_half(in[i], mode);
    want[i] = half_to_float(want_h[i]);
  }
  for (HalfIsa isa : kSimdPaths) {
    if (!isa_paths::use_half(isa, mode)) continue;
    round_to_half_isa(isa, in.data(), got.data(), n, mode);
    float_to_half_isa(isa, in.data(), got_h.data(), n, mode);
    for (size_t i = 0; i < n; ++i) {
      if (bits(got[i]) != bits(want[i]) || got_h[i] != want_h[i]) {
        return ::testing::AssertionFailure()
               << to_string(isa) << " " << mode_name(mode) << ": x = " << in[i] << " (0x"
               << std::hex << bits(in[i]) << ") gives half 0x" << got_h[i] << " / float 0x"
               << bits(got[i]) << ", scalar 0x" << want_h[i] << " / 0x" << bits(want[i])
               << std::dec;
      }
    }
  }
  return ::testing::AssertionSuccess();
}

TEST(Half, TiesAwayAndMinNormalScalarRules) {
  const HalfMode away{Overflow::Inf, Subnormals::Keep, Rounding::NearestAway};
  const HalfMode away_flush{Overflow::Inf, Subnormals::Flush, Rounding::NearestAway};
  const HalfMode even_min{Overflow::Inf, Subnormals::MinNormal, Rounding::NearestEven};
  const float tiny = kHalfMinSubnormal;  // 2^-24
  // Ties away from zero where ties to even go down.
  EXPECT_EQ(float_to_half(2049.0f), 0x6800);        // 2048
  EXPECT_EQ(float_to_half(2049.0f, away), 0x6801);  // 2050
  EXPECT_EQ(float_to_half(-2049.0f, away), 0xe801);
  EXPECT_EQ(float_to_half(std::nextafter(2049.0f, 0.0f), away), 0x6800);
  EXPECT_EQ(float_to_half(1.0f + std::ldexp(1.0f, -11), away), 0x3c01);
  EXPECT_EQ(float_to_half(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  EXPECT_EQ(float_to_half(tiny * 0.5f, away), 0x0001);  // 2^-25 ties away from 0
  EXPECT_EQ(float_to_half(tiny * 2.5f, away), 0x0003);
  EXPECT_EQ(float_to_half(65520.0f, away), 0x7c00);  // the overflow threshold is the same
  EXPECT_EQ(float_to_half(std::nextafter(65520.0f, 0.0f), away), 0x7bff);
  // Flush with ties away: 2^-14 - 2^-25 rounds up to the normal 2^-14 and is kept.
  EXPECT_EQ(float_to_half(kHalfMinNormal - tiny * 0.5f, away_flush), 0x0400);
  EXPECT_EQ(float_to_half(std::nextafter(kHalfMinNormal - tiny * 0.5f, 0.0f), away_flush), 0);
  // MinNormal: below 2^-15 (after rounding to 11 bits) -> 0, [2^-15, 2^-14) -> 2^-14.
  const float m15 = std::ldexp(1.0f, -15);
  EXPECT_EQ(float_to_half(m15, even_min), 0x0400);
  EXPECT_EQ(float_to_half(-m15, kIeHalf), 0x8400);
  EXPECT_EQ(float_to_half(kHalfMinNormal * 0.75f, kIeHalf), 0x0400);
  // 2^-15 - 2^-27 is the tie between 2^-15 - 2^-26 and 2^-15 on the 11-bit grid.
  const float tie = m15 - std::ldexp(1.0f, -27);
  EXPECT_EQ(float_to_half(tie, kIeHalf), 0x0400);   // away: up to 2^-15 -> 2^-14
  EXPECT_EQ(float_to_half(tie, even_min), 0x0400);  // even: 2^-15 is the even neighbour
  EXPECT_EQ(float_to_half(std::nextafter(tie, 0.0f), kIeHalf), 0x0000);
  EXPECT_EQ(float_to_half(tiny, kIeHalf), 0x0000);
  EXPECT_EQ(float_to_half(-tiny * 500.0f, kIeHalf), 0x8000);   // < 2^-15
  EXPECT_EQ(float_to_half(-tiny * 1000.0f, kIeHalf), 0x8400);  // in [2^-15, 2^-14)
  EXPECT_TRUE(std::signbit(round_to_half(-tiny, kIeHalf)));
  // Saturation and specials of the IE mode.
  EXPECT_EQ(float_to_half(65520.0f, kIeHalf), 0x7bff);
  EXPECT_EQ(float_to_half(-1e30f, kIeHalf), 0xfbff);
  EXPECT_EQ(float_to_half(std::numeric_limits<float>::infinity(), kIeHalf), 0x7c00);
  EXPECT_EQ(float_to_half(from_bits(0x7f800001u), kIeHalf), 0x7e00);
  EXPECT_EQ(float_to_half(65504.0f, kNumpyHalf), 0x7bff);
  EXPECT_EQ(float_to_half(65520.0f, kNumpyHalf), 0x7c00);
}

TEST(Half, SimdMatchesScalarAtEveryDecisionPointInEveryMode) {
  const isa_paths::Report isa_report;
  isa_paths::ran("scalar");
  const std::vector<float> in = decision_floats();
  for (const HalfMode& mode : every_mode()) {
    ASSERT_TRUE(simd_matches_scalar(in, mode));
  }
}

// A strided sweep over all 2^32 float bit patterns (a prime stride, so that every low-bit
// pattern and every exponent is met), each mode, each path.
TEST(Half, SimdMatchesScalarOnStridedSweepOfAllFloats) {
  const isa_paths::Report isa_report;
  isa_paths::ran("scalar");
  const uint64_t stride = 2039;  // ~2.1 million floats per mode
  std::vector<float> in;
  in.reserve(size_t((uint64_t(1) << 32) / stride + 1));
  for (uint64_t u = 0; u < (uint64_t(1) << 32); u += stride) in.push_back(from_bits(uint32_t(u)));
  for (const HalfMode& mode : every_mode()) {
    ASSERT_TRUE(simd_matches_scalar(in, mode));
  }
}

// OpenVINO's InferenceEngine::PrecisionUtils::f32tof16, re-stated from its description:
// add half an ULP of the input's binade (in float arithmetic), then compare with
// min16 / 2, min16 (-> 0, -> min16), max16 (-> max16), else rebias and truncate.
uint16_t ie_f32tof16(float x) {
  const float min16 = from_bits((127u - 14u) << 23);                  // 2^-14
  const float max16 = from_bits(((127u + 15u) << 23) | 0x007fe000u);  // 65504
  const uint32_t max16f16 = ((15u + 15u) << 10) | 0x3ffu;
  uint32_t u = bits(x);
  const uint32_t s = (u >> 16) & 0x8000u;
  u &= 0x7fffffffu;
  if ((u & 0x7f800000u) == 0x7f800000u) {
    if (u & 0x007fffffu) return uint16_t(s | (u >> 13) | 0x0200u);  // NaN
    return uint16_t(s | 0x7c00u);                                   // inf
  }
  const float half_ulp = from_bits(u & 0x7f800000u) * from_bits((127u - 11u) << 23);
  float v = from_bits(u) + half_ulp;
  if (v < min16 * 0.5f) return uint16_t(s);
  if (v < min16) return uint16_t(s | (1u << 10));
  if (v >= max16) return uint16_t(max16f16 | s);
  u = bits(v) - ((127u - 15u) << 23);
  return uint16_t((u >> 13) | s);
}

// The same result, or both NaN: IE's NaN branch returns (bits >> 13) | 0x200 cut to 16
// bits, where the exponent's top bit lands in the sign (every NaN comes out "negative");
// the dalnas modes keep the input's sign, as F16C does.
bool same_as_ie(uint16_t ours, uint16_t ie) {
  return ours == ie || (half_is_nan(ours) && half_is_nan(ie));
}

TEST(Half, IeModeEqualsOpenVinoAlgorithm) {
  const isa_paths::Report isa_report;
  isa_paths::ran("scalar");
  std::vector<float> in = decision_floats();
  const std::vector<float> rnd = random_floats(1000000);
  in.insert(in.end(), rnd.begin(), rnd.end());
  for (uint64_t u = 0; u < (uint64_t(1) << 32); u += 65537) in.push_back(from_bits(uint32_t(u)));
  size_t finite = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    ASSERT_TRUE(same_as_ie(float_to_half(in[i], kIeHalf), ie_f32tof16(in[i])))
        << "x = " << in[i] << " (0x" << std::hex << bits(in[i]) << "): 0x"
        << float_to_half(in[i], kIeHalf) << " vs IE 0x" << ie_f32tof16(in[i]);
    finite += std::isfinite(in[i]) ? 1 : 0;
  }
  EXPECT_GT(finite, in.size() / 2);
  EXPECT_EQ(ie_f32tof16(from_bits(0x7fc02000u)), 0xfe01);  // the sign quirk above
  EXPECT_EQ(float_to_half(from_bits(0x7fc02000u), kIeHalf), 0x7e01);
  std::vector<uint16_t> got(in.size());
  for (HalfIsa isa : kSimdPaths) {
    if (!isa_paths::use_half(isa, kIeHalf)) continue;
    float_to_half_isa(isa, in.data(), got.data(), in.size(), kIeHalf);
    for (size_t i = 0; i < in.size(); ++i) {
      ASSERT_TRUE(same_as_ie(got[i], ie_f32tof16(in[i])))
          << to_string(isa) << " x = " << in[i] << " (0x" << std::hex << bits(in[i]) << ")";
    }
  }
}

TEST(Half, PathSelection) {
  for (const HalfMode& mode : every_mode()) {
    const HalfIsa isa = half_isa(mode);
    if (!half_simd_enabled()) {
      EXPECT_EQ(isa, HalfIsa::Scalar);
    } else if (cpu_has_avx512()) {
      EXPECT_EQ(isa, HalfIsa::AVX512);
    } else {
      EXPECT_EQ(isa, half_isa_supported(HalfIsa::AVX2, mode) ? HalfIsa::AVX2 : HalfIsa::Scalar);
    }
    EXPECT_TRUE(half_isa_supported(HalfIsa::Scalar, mode));
  }
  if (!cpu_has_avx512()) {
    float x = 1.0f;
    EXPECT_THROW(round_to_half_isa(HalfIsa::AVX512, &x, &x, 1, kIeHalf), std::invalid_argument);
  }
}
