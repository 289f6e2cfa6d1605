#pragma once
// LayerPrecision: the number format one layer (a genome block, a device-graph node) runs in
// on a mixed-precision integer target (device/int8_emulator.h, profile [integer]):
//
//   Default  the profile's rule decides (its `precision`, `first_last`)
//   Int8     int8 weights (per channel) and int8 activations            genome token "q8"
//   Int4W    weight-only int4: weights per channel in [−7, 7] (a 4-bit  genome token "q4w"
//            symmetric grid), int8 activations and arithmetic
//   Int16    16-bit activations with int8 weights (TFLite's "16x8"     genome token "q16"
//            scheme: symmetric int16 tensors, int64 accumulation);
//            int8 tensors are requantized into it and out of it
//   FP16     a float layer: FP16 weights and activations, FP32          genome token "f16"
//            accumulation (a float fallback); int8 tensors are
//            dequantized into it and its output quantized out of it
//
// Header only: the genome (core/) and the device graph (device/) both carry it.
#include <string>

#include "core/error.h"

namespace dalnas {

enum class LayerPrecision { Default, Int8, Int4W, Int16, FP16 };

// Profile names: "default", "int8", "int4w", "int16", "fp16".
inline std::string to_string(LayerPrecision p) {
  switch (p) {
    case LayerPrecision::Int8:
      return "int8";
    case LayerPrecision::Int4W:
      return "int4w";
    case LayerPrecision::Int16:
      return "int16";
    case LayerPrecision::FP16:
      return "fp16";
    case LayerPrecision::Default:
      break;
  }
  return "default";
}

// "int8" | "int4w" | "int16" | "fp16" (and "default" when allow_default); anything else
// throws dalnas::Error naming `field` and the allowed values.
inline LayerPrecision parse_layer_precision(const std::string& s, const std::string& field,
                                            bool allow_default = false) {
  if (s == "int8") return LayerPrecision::Int8;
  if (s == "int4w") return LayerPrecision::Int4W;
  if (s == "int16") return LayerPrecision::Int16;
  if (s == "fp16") return LayerPrecision::FP16;
  if (allow_default && s == "default") return LayerPrecision::Default;
  throw Error(field + ": '" + s + "': expected int8, int4w, int16 or fp16" +
              (allow_default ? " (or default)" : ""));
}

// Genome tokens: "q8", "q4w", "q16", "f16" ("" for Default).
inline std::string genome_token(LayerPrecision p) {
  return p == LayerPrecision::Int8    ? "q8"
         : p == LayerPrecision::Int4W ? "q4w"
         : p == LayerPrecision::Int16 ? "q16"
         : p == LayerPrecision::FP16  ? "f16"
                                      : "";
}
// The inverse of genome_token for the four tokens; false for anything else.
inline bool parse_genome_token(const std::string& s, LayerPrecision& out) {
  if (s == "q8")
    out = LayerPrecision::Int8;
  else if (s == "q4w")
    out = LayerPrecision::Int4W;
  else if (s == "q16")
    out = LayerPrecision::Int16;
  else if (s == "f16")
    out = LayerPrecision::FP16;
  else
    return false;
  return true;
}

// Bits of one stored weight / activation value in this precision (Default: 8).
inline int weight_bits(LayerPrecision p) {
  return p == LayerPrecision::Int4W ? 4 : p == LayerPrecision::FP16 ? 16 : 8;
}
inline int activation_bits(LayerPrecision p) {
  return p == LayerPrecision::FP16 || p == LayerPrecision::Int16 ? 16 : 8;
}
// Whether a tensor must be converted between two layers' activation formats (int8,
// int16, FP16; int4w layers have int8 activations).
inline bool activation_format_differs(LayerPrecision a, LayerPrecision b) {
  const auto kind = [](LayerPrecision p) {
    return p == LayerPrecision::FP16 ? 2 : p == LayerPrecision::Int16 ? 1 : 0;
  };
  return kind(a) != kind(b);
}

}  // namespace dalnas
