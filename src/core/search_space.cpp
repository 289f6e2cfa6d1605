#include "core/search_space.h"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "core/error.h"
#include "core/rng.h"

namespace dalnas {

namespace {

constexpr int kGenomeMinStages = 3;
constexpr int kGenomeMaxStages = 5;
constexpr int kMaxWidth = 1024;

const std::vector<BlockType>& every_block_type() {
  static const std::vector<BlockType> v = {
      BlockType::ConvAct,     BlockType::ConvBnAct,   BlockType::ConvSE,       BlockType::MBConv,
      BlockType::MBConvNoRes, BlockType::ResNetBlock, BlockType::DenseNetBlock};
  return v;
}
const std::vector<Activation>& every_activation() {
  static const std::vector<Activation> v = {Activation::ReLU, Activation::ReLU6, Activation::GELU,
                                            Activation::HardSwish};
  return v;
}
const std::vector<Pooling>& every_pooling() {
  static const std::vector<Pooling> v = {Pooling::Max, Pooling::Avg};
  return v;
}

std::string to_text(int v) {
  return std::to_string(v);
}
std::string to_text(BlockType v) {
  return to_string(v);
}
std::string to_text(Activation v) {
  return to_string(v);
}
std::string to_text(Pooling v) {
  return to_string(v);
}
std::string to_text(LayerPrecision v) {
  return to_string(v);
}
const std::vector<LayerPrecision>& every_precision() {
  static const std::vector<LayerPrecision> v = {LayerPrecision::Default, LayerPrecision::Int8,
                                                LayerPrecision::Int4W, LayerPrecision::Int16,
                                                LayerPrecision::FP16};
  return v;
}

template <class T>
std::string list_text(const std::vector<T>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + to_text(v[i]);
  return out;
}

template <class T>
bool in(const std::vector<T>& v, const T& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// An allowed value other than `current` (uniformly), or `current` when there is none.
template <class T>
T pick_other(const std::vector<T>& allowed, const T& current, Rng& rng) {
  std::vector<T> others;
  for (const T& x : allowed)
    if (!(x == current)) others.push_back(x);
  if (others.empty()) return current;
  return rng.pick(others);
}

template <class T>
std::vector<T> parse_names(const nlohmann::json& j, const std::string& key,
                           const std::vector<T>& all) {
  if (!j.is_array() || j.empty())
    throw Error(key + ": expected a non-empty list of names (allowed: " + list_text(all) + ")");
  std::vector<T> out;
  for (const auto& item : j) {
    if (!item.is_string())
      throw Error(key + ": expected names (allowed: " + list_text(all) + "), found " + item.dump());
    const std::string name = item.get<std::string>();
    bool found = false;
    for (const T& x : all) {
      if (to_text(x) == name) {
        out.push_back(x);
        found = true;
      }
    }
    if (!found)
      throw Error(key + ": unknown value '" + name + "' (allowed: " + list_text(all) + ")");
  }
  return out;
}

int parse_int(const nlohmann::json& j, const std::string& key) {
  if (!j.is_number_integer()) throw Error(key + ": expected an integer, found " + j.dump());
  const int64_t v = j.get<int64_t>();
  if (v < INT32_MIN || v > INT32_MAX) throw Error(key + ": " + j.dump() + " is out of range");
  return static_cast<int>(v);
}

// A list of integers, or a range {min, max, step} expanded to min, min+step, ... <= max.
std::vector<int> parse_int_list(const nlohmann::json& j, const std::string& key) {
  std::vector<int> out;
  if (j.is_array()) {
    for (const auto& item : j) out.push_back(parse_int(item, key));
    if (out.empty()) throw Error(key + ": the list is empty");
    return out;
  }
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it)
      if (it.key() != "min" && it.key() != "max" && it.key() != "step")
        throw Error(key + ": unknown key '" + it.key() + "' in a range (allowed: min, max, step)");
    if (!j.contains("min") || !j.contains("max"))
      throw Error(key + ": a range needs min and max (and optionally step, default 1)");
    const int lo = parse_int(j.at("min"), key + ".min");
    const int hi = parse_int(j.at("max"), key + ".max");
    const int step = j.contains("step") ? parse_int(j.at("step"), key + ".step") : 1;
    if (step < 1) throw Error(key + ".step: must be at least 1, found " + std::to_string(step));
    if (lo > hi)
      throw Error(key + ": min " + std::to_string(lo) + " is greater than max " +
                  std::to_string(hi));
    for (int64_t v = lo; v <= hi; v += step) out.push_back(static_cast<int>(v));
    return out;
  }
  throw Error(key + ": expected a list of integers or a range {min, max, step}, found " + j.dump());
}

template <class T>
void check_list(const std::vector<T>& v, const std::string& key) {
  if (v.empty()) throw Error(key + ": the list is empty");
  for (size_t i = 0; i < v.size(); ++i)
    for (size_t k = i + 1; k < v.size(); ++k)
      if (v[i] == v[k]) throw Error(key + ": value " + to_text(v[i]) + " is listed twice");
}

BlockGene random_block(const SearchSpace& s, Rng& rng) {
  BlockGene b;
  b.type = rng.pick(s.block_types);
  b.width = rng.pick(s.widths);
  b.kernel = rng.pick(s.kernels);
  b.expansion = has_expansion(b.type) ? rng.pick(s.expansions) : 0;
  b.act = rng.pick(s.activations);
  // Drawn only when searched, so that a space without precisions draws as before.
  if (s.precisions.size() > 1)
    b.precision = rng.pick(s.precisions);
  else
    b.precision = s.precisions.empty() ? LayerPrecision::Default : s.precisions[0];
  return b;
}

Genome mutate_once(const SearchSpace& s, const Genome& g, double rate, Rng& rng) {
  Genome m = g;
  for (BlockGene& b : m.blocks) {
    if (rng.bernoulli(rate)) {
      const BlockType old = b.type;
      b.type = pick_other(s.block_types, b.type, rng);
      if (!has_expansion(b.type))
        b.expansion = 0;
      else if (!has_expansion(old))
        b.expansion = rng.pick(s.expansions);
    }
    if (rng.bernoulli(rate)) b.width = pick_other(s.widths, b.width, rng);
    if (rng.bernoulli(rate)) b.kernel = pick_other(s.kernels, b.kernel, rng);
    if (has_expansion(b.type) && rng.bernoulli(rate))
      b.expansion = pick_other(s.expansions, b.expansion, rng);
    if (rng.bernoulli(rate)) b.act = pick_other(s.activations, b.act, rng);
    if (s.precisions.size() > 1 && rng.bernoulli(rate))
      b.precision = pick_other(s.precisions, b.precision, rng);
  }
  for (Pooling& p : m.pools)
    if (rng.bernoulli(rate)) p = pick_other(s.poolings, p, rng);
  if (rng.bernoulli(rate)) m.decoder_width = pick_other(s.decoder_widths, m.decoder_width, rng);
  if (rng.bernoulli(rate)) {
    const int n = static_cast<int>(m.blocks.size());
    const bool can_add = n < s.max_stages;
    const bool can_remove = n > s.min_stages;
    if (can_add || can_remove) {
      const bool add = can_add && (!can_remove || rng.bernoulli(0.5));
      if (add) {
        const int pos = rng.uniform_int(0, n);  // the new stage's index
        const BlockGene b = random_block(s, rng);
        const Pooling p = rng.pick(s.poolings);
        m.blocks.insert(m.blocks.begin() + pos, b);
        // pools[k] sits between blocks[k] and blocks[k+1]: the new pooling goes after the
        // new stage, or before it when it is appended last.
        m.pools.insert(m.pools.begin() + std::min(pos, n - 1), p);
      } else {
        const int idx = static_cast<int>(rng.below(static_cast<uint64_t>(n)));
        m.blocks.erase(m.blocks.begin() + idx);
        int pool_idx;
        if (idx == 0)
          pool_idx = 0;
        else if (idx == n - 1)
          pool_idx = n - 2;
        else
          pool_idx = rng.bernoulli(0.5) ? idx - 1 : idx;
        m.pools.erase(m.pools.begin() + pool_idx);
      }
    }
  }
  return m;
}

}  // namespace

SearchSpace SearchSpace::from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw Error(where + ": expected a table of settings, found " + j.dump());
  static const std::vector<std::string> keys = {
      "block_types", "widths",         "kernels",  "expansions", "activations",  "poolings",
      "stages",      "decoder_widths", "in_bands", "max_params", "max_attempts", "precisions"};
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!in(keys, it.key())) {
      std::string allowed;
      for (size_t i = 0; i < keys.size(); ++i) allowed += (i ? ", " : "") + keys[i];
      throw Error(where + "." + it.key() + ": unknown setting (allowed: " + allowed + ")");
    }
  }
  SearchSpace s;
  auto key = [&](const std::string& k) { return where + "." + k; };
  if (j.contains("block_types"))
    s.block_types = parse_names(j.at("block_types"), key("block_types"), every_block_type());
  if (j.contains("widths")) s.widths = parse_int_list(j.at("widths"), key("widths"));
  if (j.contains("kernels")) s.kernels = parse_int_list(j.at("kernels"), key("kernels"));
  if (j.contains("expansions"))
    s.expansions = parse_int_list(j.at("expansions"), key("expansions"));
  if (j.contains("activations"))
    s.activations = parse_names(j.at("activations"), key("activations"), every_activation());
  if (j.contains("poolings"))
    s.poolings = parse_names(j.at("poolings"), key("poolings"), every_pooling());
  if (j.contains("stages")) {
    const auto& st = j.at("stages");
    if (!st.is_object())
      throw Error(key("stages") + ": expected {min = <n>, max = <n>}, found " + st.dump());
    for (auto it = st.begin(); it != st.end(); ++it)
      if (it.key() != "min" && it.key() != "max")
        throw Error(key("stages") + ": unknown key '" + it.key() + "' (allowed: min, max)");
    if (st.contains("min")) s.min_stages = parse_int(st.at("min"), key("stages.min"));
    if (st.contains("max")) s.max_stages = parse_int(st.at("max"), key("stages.max"));
  }
  if (j.contains("decoder_widths"))
    s.decoder_widths = parse_int_list(j.at("decoder_widths"), key("decoder_widths"));
  if (j.contains("in_bands")) s.in_bands = parse_int(j.at("in_bands"), key("in_bands"));
  if (j.contains("max_params")) {
    if (!j.at("max_params").is_number_integer() || j.at("max_params").get<int64_t>() < 0)
      throw Error(key("max_params") + ": expected an integer >= 0 (0 = no cap), found " +
                  j.at("max_params").dump());
    s.max_params = j.at("max_params").get<int64_t>();
  }
  if (j.contains("max_attempts"))
    s.max_attempts = parse_int(j.at("max_attempts"), key("max_attempts"));
  if (j.contains("precisions"))
    s.precisions = parse_names(j.at("precisions"), key("precisions"), every_precision());
  try {
    s.check();
  } catch (const Error& e) {
    throw Error(where + "." + e.what());
  }
  return s;
}

nlohmann::json SearchSpace::to_json() const {
  nlohmann::json j;
  auto names = [](const auto& v) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& x : v) a.push_back(to_text(x));
    return a;
  };
  j["block_types"] = names(block_types);
  j["widths"] = widths;
  j["kernels"] = kernels;
  j["expansions"] = expansions;
  j["activations"] = names(activations);
  j["poolings"] = names(poolings);
  j["stages"] = {{"min", min_stages}, {"max", max_stages}};
  j["decoder_widths"] = decoder_widths;
  j["in_bands"] = in_bands;
  j["max_params"] = max_params;
  j["max_attempts"] = max_attempts;
  // Written only when set, so that the configuration (and what a run records) of a space
  // without precision genes reads as before.
  if (precisions != std::vector<LayerPrecision>{LayerPrecision::Default})
    j["precisions"] = names(precisions);
  return j;
}

// Messages start with the key (from_json prefixes "<where>.").
void SearchSpace::check() const {
  check_list(block_types, "block_types");
  check_list(widths, "widths");
  check_list(kernels, "kernels");
  check_list(activations, "activations");
  check_list(poolings, "poolings");
  check_list(decoder_widths, "decoder_widths");
  check_list(precisions, "precisions");
  for (int w : widths)
    if (w < 1 || w > kMaxWidth)
      throw Error("widths: " + std::to_string(w) + " outside 1.." + std::to_string(kMaxWidth));
  for (int w : decoder_widths)
    if (w < 1 || w > kMaxWidth)
      throw Error("decoder_widths: " + std::to_string(w) + " outside 1.." +
                  std::to_string(kMaxWidth));
  for (int k : kernels)
    if (k != 3 && k != 5)
      throw Error("kernels: " + std::to_string(k) + " not allowed (allowed: 3, 5)");
  const bool needs_expansion = std::any_of(block_types.begin(), block_types.end(), has_expansion);
  if (needs_expansion || !expansions.empty()) {
    check_list(expansions, "expansions");
    for (int e : expansions)
      if (e < 3 || e > 6)
        throw Error("expansions: " + std::to_string(e) + " not allowed (allowed: 3..6)");
  }
  if (min_stages < kGenomeMinStages || max_stages > kGenomeMaxStages || min_stages > max_stages)
    throw Error("stages: min " + std::to_string(min_stages) + ", max " +
                std::to_string(max_stages) + " not allowed (need 3 <= min <= max <= 5)");
  if (in_bands < 1) throw Error("in_bands: must be at least 1, found " + std::to_string(in_bands));
  if (max_params < 0) throw Error("max_params: must be >= 0 (0 = no cap)");
  if (max_attempts < 1)
    throw Error("max_attempts: must be at least 1, found " + std::to_string(max_attempts));
}

bool SearchSpace::within_cap(const Genome& g) const {
  if (max_params <= 0 || !param_counter) return true;
  return param_counter(g) <= max_params;
}

void SearchSpace::validate(const Genome& g) const {
  g.validate();
  const int n = static_cast<int>(g.blocks.size());
  if (n < min_stages || n > max_stages)
    throw Error("genome: " + std::to_string(n) + " stages not in the search space (allowed: " +
                std::to_string(min_stages) + ".." + std::to_string(max_stages) + ")");
  for (int i = 0; i < n; ++i) {
    const BlockGene& b = g.blocks[i];
    const std::string where =
        "genome block " + std::to_string(i + 1) + " (" + to_string(b.type) + "): ";
    if (!in(block_types, b.type))
      throw Error(where + "type not in the search space (allowed: " + list_text(block_types) + ")");
    if (!in(widths, b.width))
      throw Error(where + "width " + std::to_string(b.width) +
                  " not in the search space (allowed: " + list_text(widths) + ")");
    if (!in(kernels, b.kernel))
      throw Error(where + "kernel " + std::to_string(b.kernel) +
                  " not in the search space (allowed: " + list_text(kernels) + ")");
    if (has_expansion(b.type) && !in(expansions, b.expansion))
      throw Error(where + "expansion " + std::to_string(b.expansion) +
                  " not in the search space (allowed: " + list_text(expansions) + ")");
    if (!in(activations, b.act))
      throw Error(where + "activation " + to_string(b.act) +
                  " not in the search space (allowed: " + list_text(activations) + ")");
    if (!in(precisions, b.precision))
      throw Error(where + "precision " + to_string(b.precision) +
                  " not in the search space (allowed: " + list_text(precisions) + ")");
  }
  for (size_t i = 0; i < g.pools.size(); ++i)
    if (!in(poolings, g.pools[i]))
      throw Error("genome pooling " + std::to_string(i + 1) + ": " + to_string(g.pools[i]) +
                  " not in the search space (allowed: " + list_text(poolings) + ")");
  if (!in(decoder_widths, g.decoder_width))
    throw Error("genome: decoder width " + std::to_string(g.decoder_width) +
                " not in the search space (allowed: " + list_text(decoder_widths) + ")");
  if (max_params > 0 && param_counter) {
    const int64_t p = param_counter(g);
    if (p > max_params)
      throw Error("genome: " + std::to_string(p) + " parameters exceed max_params " +
                  std::to_string(max_params));
  }
}

bool SearchSpace::contains(const Genome& g) const {
  try {
    validate(g);
  } catch (const Error&) {
    return false;
  }
  return true;
}

Genome SearchSpace::sample(Rng& rng) const {
  for (int attempt = 0; attempt < max_attempts; ++attempt) {
    Genome g;
    const int n = rng.uniform_int(min_stages, max_stages);
    for (int i = 0; i < n; ++i) {
      g.blocks.push_back(random_block(*this, rng));
      if (i > 0) g.pools.push_back(rng.pick(poolings));
    }
    g.decoder_width = rng.pick(decoder_widths);
    if (within_cap(g)) return g;
  }
  throw Error("search_space.max_params: no genome with at most " + std::to_string(max_params) +
              " parameters in " + std::to_string(max_attempts) +
              " random draws; raise max_params or narrow the widths");
}

Genome SearchSpace::mutate(const Genome& g, double rate, Rng& rng) const {
  if (static_cast<int>(g.blocks.size()) < kGenomeMinStages || g.pools.size() + 1 != g.blocks.size())
    throw std::logic_error("SearchSpace::mutate: malformed genome");
  for (int attempt = 0; attempt < max_attempts; ++attempt) {
    Genome m = mutate_once(*this, g, rate, rng);
    if (within_cap(m)) return m;
  }
  return g;
}

Genome SearchSpace::crossover(const Genome& a, const Genome& b, Rng& rng) const {
  const int na = static_cast<int>(a.blocks.size());
  const int nb = static_cast<int>(b.blocks.size());
  if (na < 2 || nb < 2 || a.pools.size() + 1 != a.blocks.size() ||
      b.pools.size() + 1 != b.blocks.size())
    throw std::logic_error("SearchSpace::crossover: malformed genome");
  std::vector<int> cuts;
  for (int c = 1; c < std::min(na, nb); ++c) cuts.push_back(c);
  rng.shuffle(cuts);
  for (int c : cuts) {
    Genome child;
    child.blocks.assign(a.blocks.begin(), a.blocks.begin() + c);
    child.blocks.insert(child.blocks.end(), b.blocks.begin() + c, b.blocks.end());
    child.pools.assign(a.pools.begin(), a.pools.begin() + c);  // a's poolings up to after stage c
    child.pools.insert(child.pools.end(), b.pools.begin() + c, b.pools.end());
    child.decoder_width = b.decoder_width;
    if (within_cap(child)) return child;
  }
  return a;
}

}  // namespace dalnas
