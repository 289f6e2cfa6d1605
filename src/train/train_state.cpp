#include "train/train_state.h"

#include <cstring>
#include <sstream>

#include "core/atomic_file.h"
#include "core/checksum.h"
#include "core/error.h"

namespace dalnas {

namespace {
constexpr char kMagic[8] = {'D', 'A', 'L', 'N', 'A', 'S', 'T', 'S'};
constexpr uint32_t kVersion = 3;

template <typename T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

template <typename T>
T get(const std::string& in, size_t& at, const std::string& path) {
  if (at + sizeof(T) > in.size()) throw Error(path + ": truncated training state");
  T v;
  std::memcpy(&v, in.data() + at, sizeof v);
  at += sizeof v;
  return v;
}

void write_list(torch::serialize::OutputArchive& a, const std::string& name,
                const std::vector<torch::Tensor>& list) {
  a.write(name + ".n", torch::tensor(static_cast<int64_t>(list.size())));
  for (size_t i = 0; i < list.size(); ++i) a.write(name + "." + std::to_string(i), list[i]);
}

// Bytes (another archive, JSON text) as a uint8 tensor entry, and back.
void write_bytes(torch::serialize::OutputArchive& a, const std::string& name,
                 const std::string& bytes) {
  a.write(name, torch::from_blob(const_cast<char*>(bytes.data()),
                                 {static_cast<int64_t>(bytes.size())}, torch::kUInt8)
                    .clone());
}

std::string read_bytes(torch::serialize::InputArchive& a, const std::string& name) {
  torch::Tensor t;
  a.read(name, t);
  t = t.contiguous();
  return std::string(reinterpret_cast<const char*>(t.data_ptr<uint8_t>()),
                     static_cast<size_t>(t.numel()));
}

std::vector<torch::Tensor> read_list(torch::serialize::InputArchive& a, const std::string& name) {
  torch::Tensor n;
  a.read(name + ".n", n);
  std::vector<torch::Tensor> list(static_cast<size_t>(n.item<int64_t>()));
  for (size_t i = 0; i < list.size(); ++i) a.read(name + "." + std::to_string(i), list[i]);
  return list;
}
}  // namespace

void TrainState::save(const std::string& path) const {
  torch::serialize::OutputArchive a;
  a.write("meta", torch::tensor(
                      {static_cast<double>(epochs_done), best_loss, static_cast<double>(best_epoch),
                       static_cast<double>(since_best), stopped ? 1.0 : 0.0},
                      torch::kFloat64));
  write_list(a, "last", last);
  write_list(a, "best", best);
  // The optimiser's archive as bytes (it is an archive of its own).
  write_bytes(a, "optimizer", optimizer);
  write_bytes(
      a, "ranges",
      nlohmann::json{{"last", act_ranges_json(last_ranges)}, {"best", act_ranges_json(best_ranges)}}
          .dump());
  write_bytes(a, "range_optimizer", range_optimizer);
  write_bytes(a, "weight_steps",
              nlohmann::json{{"last", weight_steps_json(last_steps)},
                             {"best", weight_steps_json(best_steps)}}
                  .dump());
  std::ostringstream body;
  a.save_to(body);
  const std::string b = body.str();
  std::string out(kMagic, sizeof kMagic);
  put<uint32_t>(out, kVersion);
  put<uint64_t>(out, b.size());
  out += b;
  put<uint64_t>(out, fnv1a64(out.data(), out.size()));
  write_file_atomic(path, out);
}

TrainState TrainState::load(const std::string& path) {
  const std::string in = read_file(path);
  if (in.size() < sizeof kMagic + 4 + 8 + 8 || std::memcmp(in.data(), kMagic, sizeof kMagic) != 0)
    throw Error(path + ": not a dalnas training state (bad magic)");
  size_t at = sizeof kMagic;
  const auto version = get<uint32_t>(in, at, path);
  if (version != kVersion && version != 1 && version != 2)
    throw Error(path + ": training state version " + std::to_string(version) +
                " is not supported (this dalnas reads " + std::to_string(kVersion) + ")");
  const auto size = get<uint64_t>(in, at, path);
  if (size != in.size() - at - 8) throw Error(path + ": truncated training state");
  size_t end = in.size() - 8;
  const auto stored = get<uint64_t>(in, end, path);
  if (fnv1a64(in.data(), in.size() - 8) != stored)
    throw Error(path + ": checksum mismatch (file is corrupted or truncated)");
  TrainState s;
  try {
    std::istringstream body(in.substr(at, size));
    torch::serialize::InputArchive a;
    a.load_from(body);
    torch::Tensor meta;
    a.read("meta", meta);
    if (meta.numel() != 5) throw Error(path + ": training state has a malformed header");
    const auto m = meta.to(torch::kFloat64).contiguous();
    const double* v = m.data_ptr<double>();
    s.epochs_done = static_cast<int>(v[0]);
    s.best_loss = v[1];
    s.best_epoch = static_cast<int>(v[2]);
    s.since_best = static_cast<int>(v[3]);
    s.stopped = v[4] != 0;
    s.last = read_list(a, "last");
    s.best = read_list(a, "best");
    s.optimizer = read_bytes(a, "optimizer");
    if (version >= 2) {
      const std::string text = read_bytes(a, "ranges");
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(text);
      } catch (const nlohmann::json::exception&) {
        throw Error(path + ": training state ranges are not valid JSON");
      }
      if (!j.is_object() || !j.contains("last") || !j.contains("best"))
        throw Error(path + ": training state ranges lack 'last' or 'best'");
      s.last_ranges = parse_act_ranges(j.at("last"), path + ": ranges.last");
      s.best_ranges = parse_act_ranges(j.at("best"), path + ": ranges.best");
      s.range_optimizer = read_bytes(a, "range_optimizer");
    }
    if (version >= 3) {
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(read_bytes(a, "weight_steps"));
      } catch (const nlohmann::json::exception&) {
        throw Error(path + ": training state weight steps are not valid JSON");
      }
      if (!j.is_object() || !j.contains("last") || !j.contains("best"))
        throw Error(path + ": training state weight steps lack 'last' or 'best'");
      s.last_steps = parse_weight_steps(j.at("last"), path + ": weight_steps.last", true);
      s.best_steps = parse_weight_steps(j.at("best"), path + ": weight_steps.best", true);
    }
  } catch (const c10::Error& e) {
    throw Error(path + ": unreadable training state: " + e.what_without_backtrace());
  }
  return s;
}

}  // namespace dalnas
