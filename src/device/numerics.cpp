#include "device/numerics.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "core/error.h"

namespace dalnas {

bool on_neural_engine(const Node& n) {
  switch (n.op) {
    case OpType::Conv:
    case OpType::FullyConnected:
      return true;
    case OpType::MaxPool:
    case OpType::AvgPool:
      return n.kernel == n.stride;
    default:
      return false;
  }
}

bool nce_fusable(const Node& n) {
  return n.act == ActType::None || n.act == ActType::ReLU || n.act == ActType::ReLU6 ||
         (n.act == ActType::Clip && n.act_min == 0.0f);
}

bool on_neural_engine(const Node& n, const EmulatorConfig& c) {
  if (n.op == OpType::ConvTranspose) return c.deconv_on_nce;
  return on_neural_engine(n);
}

int HwTiling::channels_per_block(int k) const {
  const int kk = std::max(1, k * k);
  return std::max(1, std::min(max_coeff_per_block / kk, max_channels));
}

int HwTiling::channels_per_pass(int k) const {
  const int64_t n = static_cast<int64_t>(channels_per_block(k)) * std::max(1, max_blocks);
  return static_cast<int>(std::min<int64_t>(n, max_channels));
}

int HwTiling::parts(const Node& n, int in_c) const {
  if (!enabled || n.op != OpType::Conv) return 1;
  const int cp = channels_per_pass(n.kernel);
  if (n.groups == 1) return in_c > cp ? (in_c + cp - 1) / cp : 1;
  if (n.groups == n.out_c) return (n.groups + cp - 1) / cp;  // block-diagonal dense
  return 1;
}

Storage parse_storage(const std::string& s) {
  if (s == "fp32") return Storage::FP32;
  if (s == "fp16") return Storage::FP16;
  throw Error("storage '" + s + "': expected fp32 or fp16");
}

Accumulation parse_accumulation(const std::string& s) {
  Accumulation a;
  if (s == "fp32") return a;
  if (s == "fp16") {
    a.kind = Accumulation::FP16;
    return a;
  }
  if (s == "fp16-blocked:hw") {
    a.kind = Accumulation::FP16Blocked;
    a.block = 0;
    return a;
  }
  const std::string prefix = "fp16-blocked:";
  if (s.compare(0, prefix.size(), prefix) == 0 && s.size() > prefix.size() &&
      s.size() - prefix.size() <= 6) {
    const std::string num = s.substr(prefix.size());
    bool digits = true;
    for (char c : num) digits = digits && c >= '0' && c <= '9';
    const int n = digits ? std::atoi(num.c_str()) : 0;
    if (n >= 1) {
      a.kind = Accumulation::FP16Blocked;
      a.block = n;
      return a;
    }
  }
  throw Error("accumulation '" + s +
              "': expected fp32, fp16, fp16-blocked:N (N >= 1) or fp16-blocked:hw");
}

Overflow parse_overflow(const std::string& s) {
  if (s == "inf") return Overflow::Inf;
  if (s == "saturate") return Overflow::Saturate;
  throw Error("overflow '" + s + "': expected inf or saturate");
}

Subnormals parse_subnormals(const std::string& s) {
  if (s == "keep") return Subnormals::Keep;
  if (s == "flush") return Subnormals::Flush;
  if (s == "min-normal") return Subnormals::MinNormal;
  throw Error("subnormals '" + s + "': expected keep, flush or min-normal");
}

Rounding parse_rounding(const std::string& s) {
  if (s == "even") return Rounding::NearestEven;
  if (s == "away") return Rounding::NearestAway;
  throw Error("rounding '" + s + "': expected even or away");
}

HalfMode parse_conversion(const std::string& s) {
  if (s == "numpy") return kNumpyHalf;
  if (s == "ie") return kIeHalf;
  const size_t a = s.find('/'), b = a == std::string::npos ? a : s.find('/', a + 1);
  if (b != std::string::npos && s.find('/', b + 1) == std::string::npos) {
    try {
      HalfMode m;
      m.rounding = parse_rounding(s.substr(0, a));
      m.overflow = parse_overflow(s.substr(a + 1, b - a - 1));
      m.subnormals = parse_subnormals(s.substr(b + 1));
      return m;
    } catch (const Error&) {
    }
  }
  throw Error("conversion '" + s +
              "': expected numpy, ie or ROUNDING/OVERFLOW/SUBNORMALS (e.g. even/saturate/flush)");
}

InputPipeline parse_input_pipeline(const std::string& s) {
  if (s == "host") return InputPipeline::Host;
  if (s == "model") return InputPipeline::Model;
  if (s == "folded") return InputPipeline::Folded;
  throw Error("input '" + s + "': expected host, model or folded");
}

InputPrecision parse_input_precision(const std::string& s) {
  if (s == "fp16") return InputPrecision::FP16;
  if (s == "fp32") return InputPrecision::FP32;
  if (s == "u8") return InputPrecision::U8;
  throw Error("input precision '" + s +
              "': expected fp16, fp32 or u8 (the MYRIAD plugin "
              "rejects u16: cast on the host)");
}

KernelIsa parse_kernel_isa(const std::string& s) {
  if (s == "auto") return KernelIsa::Auto;
  if (s == "scalar") return KernelIsa::Scalar;
  if (s == "avx2") return KernelIsa::AVX2;
  if (s == "avx512") return KernelIsa::AVX512;
  throw Error("kernel isa '" + s + "': expected auto, scalar, avx2 or avx512");
}

std::string to_string(Storage s) {
  return s == Storage::FP16 ? "fp16" : "fp32";
}

std::string to_string(const Accumulation& a) {
  switch (a.kind) {
    case Accumulation::FP16:
      return "fp16";
    case Accumulation::FP16Blocked:
      return a.block == 0 ? "fp16-blocked:hw" : "fp16-blocked:" + std::to_string(a.block);
    default:
      return "fp32";
  }
}

std::string to_string(Overflow o) {
  return o == Overflow::Saturate ? "saturate" : "inf";
}
std::string to_string(Subnormals s) {
  return s == Subnormals::Flush ? "flush" : s == Subnormals::MinNormal ? "min-normal" : "keep";
}
std::string to_string(Rounding r) {
  return r == Rounding::NearestAway ? "away" : "even";
}
std::string conversion_name(const HalfMode& m) {
  if (m == kNumpyHalf) return "numpy";
  if (m == kIeHalf) return "ie";
  return to_string(m.rounding) + "/" + to_string(m.overflow) + "/" + to_string(m.subnormals);
}
std::string to_string(InputPipeline p) {
  return p == InputPipeline::Model ? "model" : p == InputPipeline::Folded ? "folded" : "host";
}
std::string to_string(InputPrecision p) {
  return p == InputPrecision::FP32 ? "fp32" : p == InputPrecision::U8 ? "u8" : "fp16";
}

std::string to_string(KernelIsa i) {
  switch (i) {
    case KernelIsa::Scalar:
      return "scalar";
    case KernelIsa::AVX2:
      return "avx2";
    case KernelIsa::AVX512:
      return "avx512";
    default:
      return "auto";
  }
}

std::string to_string(const Numerics& n) {
  std::string s = to_string(n.storage) + " storage, " + to_string(n.acc) + " accumulation, " +
                  (n.half.rounding == Rounding::NearestAway ? "ties away, " : "") + "overflow " +
                  to_string(n.half.overflow) + ", subnormals " + to_string(n.half.subnormals);
  if (n.prescale) {
    s += ", prescale (cap " + std::to_string(n.prescale_cap) + " / fc " +
         std::to_string(n.prescale_cap_fc) + (n.prescale_growing_output ? ", growing output" : "") +
         ")";
  } else {
    s += ", no prescale";
  }
  if (n.fp16_activations) s += ", fp16 activations";
  return s;
}

}  // namespace dalnas
