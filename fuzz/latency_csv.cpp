// Fuzz target: the measured tables, CSV (core/csv.h): per-op latency tables
// (LatencyTable::parse_csv, a profile's `lut`) and calibration measurements
// (read_measurements, `dalnas profile calibrate`). A table that was read must be written
// and read back to the same entries.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "cost/calibrate.h"
#include "cost/latency_table.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = dalnas_fuzz::as_string(data, size);
  dalnas::LatencyTable t;
  try {
    t = dalnas::LatencyTable::parse_csv(text, "fuzz.csv");
  } catch (const dalnas::Error&) {
    t = dalnas::LatencyTable();
  }
  // Outside the try: a table dalnas wrote that it cannot read back is a finding.
  const dalnas::LatencyTable back = dalnas::LatencyTable::parse_csv(t.to_csv(), "back.csv");
  if (back.size() != t.size()) std::abort();
  try {
    dalnas::read_measurements(dalnas_fuzz::write_scratch("measured.csv", data, size));
  } catch (const dalnas::Error&) {
  }
  return 0;
}
