// Fuzz target: the ONNX importer (onnx/onnx_import.h), plain and gzip-compressed
// (.onnx.gz: the gzip magic decides). A graph it returns must be usable: its shapes,
// MACs and parameters are computed, as the cost model does.
#include <cstdint>
#include <string>

#include "device/graph.h"
#include "cost/latency_table.h"
#include "onnx/onnx_import.h"
#include "fuzz_util.h"

namespace {

void use(const dalnas::DeviceGraph& g, const dalnas::Shape& in) {
  g.compute_shapes(in);
  g.macs();
  g.params();
  dalnas::graph_signatures(g);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes = dalnas_fuzz::as_string(data, size);
  try {
    const dalnas::DeviceGraph g = dalnas::import_onnx_bytes(bytes, "fuzz.onnx");
    use(g, g.input);
  } catch (const dalnas::Error&) {
  }
  try {
    const dalnas::Shape in{3, 16, 16};
    const dalnas::DeviceGraph g = dalnas::import_onnx_bytes(bytes, "fuzz.onnx", &in);
    use(g, in);
  } catch (const dalnas::Error&) {
  }
  return 0;
}
