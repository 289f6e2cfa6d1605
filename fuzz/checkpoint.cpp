// Fuzz target: the checkpoint container and its metadata (train/checkpoint_file.h), the
// part of `load_checkpoint` that runs before libtorch sees any byte. Each input is read
// twice: as it is, and with its checksum made right, so that mutations get past the
// checksum to the framing and the metadata. What is read must be consistent: a container
// that decodes encodes back to the same bytes, and metadata that parses writes out to
// metadata that parses to the same values.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/checksum.h"
#include "fuzz_util.h"
#include "train/checkpoint_file.h"

namespace {

void check_meta(const std::string& text) {
  const dalnas::CheckpointMeta m = dalnas::parse_checkpoint_meta(text, "fuzz.ckpt");
  const dalnas::CheckpointMeta back =
      dalnas::parse_checkpoint_meta(dalnas::checkpoint_meta_json(m), "fuzz.ckpt");
  if (!(back.genome == m.genome) || back.bands != m.bands || back.norm.mean != m.norm.mean ||
      back.norm.std != m.norm.std || back.config != m.config || back.metrics != m.metrics ||
      back.act_ranges != m.act_ranges || back.weight_steps != m.weight_steps)
    std::abort();
}

void read(const std::string& bytes) {
  try {
    const dalnas::CheckpointContainer c = dalnas::decode_checkpoint_container(bytes, "fuzz.ckpt");
    if (dalnas::encode_checkpoint_container(c.meta, c.weights) != bytes) std::abort();
    check_meta(c.meta);
  } catch (const dalnas::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes = dalnas_fuzz::as_string(data, size);
  read(bytes);
  if (bytes.size() >= 8) {
    const uint64_t sum = dalnas::fnv1a64(bytes.data(), bytes.size() - 8);
    std::memcpy(&bytes[bytes.size() - 8], &sum, 8);
    read(bytes);
  }
  return 0;
}
