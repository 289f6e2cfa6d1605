// Fuzz target: genome strings, ours (Genome::parse, canonical form) and pynas codes
// (genome_from_pynas), through resolve_arch as `--arch` takes them. A parsed genome
// must print back to itself: parse(g.str()) == g.
#include "core/genome.h"

#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/pynas.h"
#include "fuzz_util.h"

namespace {

// A genome that parsed and validated must print to a string that parses back to it (outside
// any try: an error here is a finding).
void check_round_trip(const dalnas::Genome& g) {
  if (dalnas::Genome::parse(g.str()) != g) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = dalnas_fuzz::as_string(data, size);
  dalnas::Genome g;
  bool ok = false;
  try {
    g = dalnas::Genome::parse(text);
    g.validate();
    ok = true;
  } catch (const dalnas::Error&) {
  }
  if (ok) check_round_trip(g);
  const int bands = size > 0 ? 1 + data[0] % 16 : 4;
  ok = false;
  try {
    g = dalnas::genome_from_pynas(text, bands);
    g.validate();
    ok = true;
  } catch (const dalnas::Error&) {
  }
  if (ok) check_round_trip(g);
  try {
    dalnas::resolve_arch(text, bands);
  } catch (const dalnas::Error&) {
  }
  return 0;
}
