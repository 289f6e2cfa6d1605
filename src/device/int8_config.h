#pragma once
// The settings of an integer target (a profile's [integer] table, device/profile.h): the
// requantization build, how activation ranges are calibrated. The emulator that uses them
// is device/int8_emulator.h. Header only (the profile parser needs no emulator).
#include <string>

#include "core/error.h"
#include "quant/fixed_point.h"

namespace dalnas {

// How activation ranges are taken from the calibration tensors.
enum class CalibrationMethod {
  MinMax,      // the smallest and largest value seen (TFLite's converter)
  Percentile,  // the `percentile` and 100 − `percentile` percentiles of the values seen
};
inline std::string to_string(CalibrationMethod m) {
  return m == CalibrationMethod::MinMax ? "minmax" : "percentile";
}
// "minmax" | "percentile"; anything else throws dalnas::Error naming the value.
inline CalibrationMethod parse_calibration_method(const std::string& s) {
  if (s == "minmax") return CalibrationMethod::MinMax;
  if (s == "percentile") return CalibrationMethod::Percentile;
  throw Error("calibration '" + s + "': expected minmax or percentile");
}

struct Int8Config {
  RequantRounding rounding = RequantRounding::Double;  // the TFLite build's rounding
  CalibrationMethod calibration = CalibrationMethod::MinMax;
  double percentile = 99.99;   // Percentile: the upper percentile (lower: 100 − it)
  int calibration_tiles = 32;  // at most this many calibration tiles
  bool simd = true;            // false: the scalar convolution (also DALNAS_NO_SIMD=1)
};

}  // namespace dalnas
