#include "device/numerics.h"

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
  throw Error("accumulation '" + s + "': expected fp32, fp16 or fp16-blocked:N (N >= 1)");
}

Overflow parse_overflow(const std::string& s) {
  if (s == "inf") return Overflow::Inf;
  if (s == "saturate") return Overflow::Saturate;
  throw Error("overflow '" + s + "': expected inf or saturate");
}

Subnormals parse_subnormals(const std::string& s) {
  if (s == "keep") return Subnormals::Keep;
  if (s == "flush") return Subnormals::Flush;
  throw Error("subnormals '" + s + "': expected keep or flush");
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
      return "fp16-blocked:" + std::to_string(a.block);
    default:
      return "fp32";
  }
}

std::string to_string(Overflow o) {
  return o == Overflow::Saturate ? "saturate" : "inf";
}
std::string to_string(Subnormals s) {
  return s == Subnormals::Flush ? "flush" : "keep";
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
  std::string s = to_string(n.storage) + " storage, " + to_string(n.acc) +
                  " accumulation, overflow " + to_string(n.half.overflow) + ", subnormals " +
                  to_string(n.half.subnormals);
  if (n.prescale) {
    s += ", prescale (cap " + std::to_string(n.prescale_cap) + " / fc " +
         std::to_string(n.prescale_cap_fc) + ")";
  } else {
    s += ", no prescale";
  }
  return s;
}

}  // namespace dalnas
