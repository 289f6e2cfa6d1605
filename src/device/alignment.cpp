#include "device/alignment.h"

#include "core/error.h"

namespace dalnas {

DeviceAlignment alignment_for(const DeviceProfile& profile) {
  if (profile.integer) {
    // Quantization-aware training: int8 fake quantization at the same points.
    DeviceAlignment a;
    a.device = profile.name;
    a.int8 = true;
    a.int8_ties_even = profile.integer->format == Int8Format::OnnxRuntime;
    a.int8_weight_max = profile.integer->weight_max;
    a.int8_weights_per_tensor = profile.integer->weights_per_tensor;
    a.int8_pow2 = profile.integer->format == Int8Format::Dpu;
    a.int8_precision = profile.integer->precision;
    a.int8_first_last = profile.integer->first_last;
    a.int8_input_folded = profile.pipeline.input == InputPipeline::Folded;
    return a;
  }
  const EmulatorConfig c = profile.emulator_config();
  DeviceAlignment a;
  a.device = profile.name;
  a.fp32_storage = c.nce.storage == Storage::FP32 && c.shave.storage == Storage::FP32;
  a.storage = c.nce.half;
  a.input = c.input_precision == InputPrecision::FP16 ? c.host_cast.value_or(c.shave.half)
                                                      : c.device_convert.value_or(c.shave.half);
  a.input_in_model = c.input == InputPipeline::Model;
  a.scale_shift = c.plugin_constants.value_or(c.shave.half);
  a.weights = c.ir_weights.value_or(HalfMode{c.nce.half.overflow, Subnormals::Keep});
  a.prescale = c.nce.prescale;
  a.prescale_cap = c.nce.prescale_cap;
  a.prescale_growing_output = c.nce.prescale_growing_output;
  a.fp16_accumulator = c.nce.acc.kind != Accumulation::FP32;
  switch (c.half_pixel_resize) {
    case ResizeCoord::Asymmetric:
      a.resize = AlignResize::Asymmetric;
      break;
    case ResizeCoord::AlignCorners:
      a.resize = AlignResize::AlignCorners;
      break;
    default:
      a.resize = AlignResize::HalfPixel;
  }
  return a;
}

}  // namespace dalnas
