#include "core/genome.h"

#include <cctype>
#include <map>

#include "core/error.h"
#include "core/pynas.h"

namespace dalnas {

namespace {

constexpr int kMinBlocks = 3;
constexpr int kMaxBlocks = 5;
constexpr int kMaxWidth = 1024;
constexpr int kMinExpansion = 3;
constexpr int kMaxExpansion = 6;

const std::vector<BlockType>& all_block_types() {
  static const std::vector<BlockType> v = {
      BlockType::ConvAct,     BlockType::ConvBnAct,   BlockType::ConvSE,       BlockType::MBConv,
      BlockType::MBConvNoRes, BlockType::ResNetBlock, BlockType::DenseNetBlock};
  return v;
}

const std::vector<Activation>& all_activations() {
  static const std::vector<Activation> v = {Activation::ReLU, Activation::ReLU6, Activation::GELU,
                                            Activation::HardSwish};
  return v;
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += items[i];
  }
  return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

// Parses a canonical non-negative decimal integer (no sign, no leading zeros, at most 9
// digits). Returns false on anything else.
bool parse_canonical_int(const std::string& s, int& out) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  if (s.size() > 1 && s[0] == '0') return false;
  out = std::stoi(s);
  return true;
}

std::string block_type_list() {
  std::vector<std::string> names;
  for (BlockType t : all_block_types()) names.push_back(to_string(t));
  return join(names, ", ");
}

std::string activation_list() {
  std::vector<std::string> names;
  for (Activation a : all_activations()) names.push_back(to_string(a));
  return join(names, ", ");
}

// Error prefix naming a token by 1-based position and text.
std::string at(size_t index, const std::string& token) {
  return "genome token " + std::to_string(index + 1) + " '" + token + "': ";
}

BlockGene parse_block(const std::string& token, size_t index) {
  std::vector<std::string> parts = split(token, '-');
  BlockGene g;
  // An optional precision gene last: -q8 | -q4w | -q16 | -f16 (core/layer_precision.h).
  if (parts.size() > 1) {
    LayerPrecision p;
    if (parse_genome_token(parts.back(), p)) {
      g.precision = p;
      parts.pop_back();
    } else if (parts.back().size() > 1 &&
               (parts.back()[0] == 'q' ||
                (parts.back()[0] == 'f' &&
                 std::isdigit(static_cast<unsigned char>(parts.back()[1]))))) {
      throw Error(at(index, token) + "precision '" + parts.back() +
                  "' not allowed (allowed: q8, q4w, q16, f16, or none for the profile's rule)");
    }
  }
  bool found = false;
  for (BlockType t : all_block_types()) {
    if (parts[0] == to_string(t)) {
      g.type = t;
      found = true;
    }
  }
  if (!found)
    throw Error(at(index, token) + "unknown block type '" + parts[0] +
                "' (allowed: " + block_type_list() + ")");
  const bool want_e = has_expansion(g.type);
  const std::string form = want_e ? "<Type>-<width>-k<kernel>-e<expansion>-<activation>"
                                  : "<Type>-<width>-k<kernel>-<activation>";
  const size_t want_parts = want_e ? 5 : 4;
  if (parts.size() != want_parts) {
    if (!want_e && parts.size() == 5 && !parts[3].empty() && parts[3][0] == 'e')
      throw Error(at(index, token) + to_string(g.type) + " takes no expansion ('" + parts[3] +
                  "'; only MBConv and MBConvNoRes do)");
    if (want_e && parts.size() == 4)
      throw Error(at(index, token) + to_string(g.type) +
                  " needs an expansion after the kernel (allowed: e3, e4, e5, e6)");
    throw Error(at(index, token) + "expected " + form + " (" + std::to_string(parts.size()) +
                " fields, need " + std::to_string(want_parts) + ")");
  }
  if (!parse_canonical_int(parts[1], g.width) || g.width < 1 || g.width > kMaxWidth)
    throw Error(at(index, token) + "width '" + parts[1] + "' must be an integer 1.." +
                std::to_string(kMaxWidth) + " without leading zeros");
  if (parts[2] == "k3") {
    g.kernel = 3;
  } else if (parts[2] == "k5") {
    g.kernel = 5;
  } else {
    throw Error(at(index, token) + "kernel '" + parts[2] + "' not allowed (allowed: k3, k5)");
  }
  size_t next = 3;
  if (want_e) {
    const std::string& e = parts[3];
    int value = 0;
    if (e.size() != 2 || e[0] != 'e' || !parse_canonical_int(e.substr(1), value) ||
        value < kMinExpansion || value > kMaxExpansion)
      throw Error(at(index, token) + "expansion '" + e + "' not allowed (allowed: e3, e4, e5, e6)");
    g.expansion = value;
    next = 4;
  }
  found = false;
  for (Activation a : all_activations()) {
    if (parts[next] == to_string(a)) {
      g.act = a;
      found = true;
    }
  }
  if (!found)
    throw Error(at(index, token) + "activation '" + parts[next] +
                "' not allowed (allowed: " + activation_list() + ")");
  return g;
}

Pooling parse_pool(const std::string& token, size_t index) {
  if (token == "max") return Pooling::Max;
  if (token == "avg") return Pooling::Avg;
  throw Error(at(index, token) + "pooling must be one of max, avg");
}

bool looks_like_decoder(const std::string& token) {
  return token.rfind("dec-", 0) == 0;
}

}  // namespace

std::string to_string(BlockType t) {
  switch (t) {
    case BlockType::ConvAct:
      return "ConvAct";
    case BlockType::ConvBnAct:
      return "ConvBnAct";
    case BlockType::ConvSE:
      return "ConvSE";
    case BlockType::MBConv:
      return "MBConv";
    case BlockType::MBConvNoRes:
      return "MBConvNoRes";
    case BlockType::ResNetBlock:
      return "ResNetBlock";
    case BlockType::DenseNetBlock:
      return "DenseNetBlock";
  }
  return "?";
}

std::string to_string(Activation a) {
  switch (a) {
    case Activation::ReLU:
      return "relu";
    case Activation::ReLU6:
      return "relu6";
    case Activation::GELU:
      return "gelu";
    case Activation::HardSwish:
      return "hswish";
  }
  return "?";
}

std::string to_string(Pooling p) {
  return p == Pooling::Max ? "max" : "avg";
}

bool has_expansion(BlockType t) {
  return t == BlockType::MBConv || t == BlockType::MBConvNoRes;
}

Genome Genome::parse(const std::string& text) {
  if (text.empty()) throw Error("genome: empty string");
  const std::vector<std::string> tokens = split(text, '_');
  for (size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i].empty())
      throw Error(at(i, tokens[i]) + "empty token (tokens are separated by a single '_')");

  const std::string& last = tokens.back();
  if (!looks_like_decoder(last))
    throw Error("genome: missing decoder token 'dec-<width>' at the end");
  Genome g;
  const size_t last_index = tokens.size() - 1;
  if (!parse_canonical_int(last.substr(4), g.decoder_width) || g.decoder_width < 1 ||
      g.decoder_width > kMaxWidth)
    throw Error(at(last_index, last) + "decoder width '" + last.substr(4) +
                "' must be an integer 1.." + std::to_string(kMaxWidth) + " without leading zeros");

  // Body: block (pool block)*, i.e. blocks at even positions and pools at odd ones.
  for (size_t i = 0; i < last_index; ++i) {
    if (looks_like_decoder(tokens[i]))
      throw Error(at(i, tokens[i]) + "the decoder token must come last");
    if (i % 2 == 0) {
      g.blocks.push_back(parse_block(tokens[i], i));
    } else {
      g.pools.push_back(parse_pool(tokens[i], i));
    }
  }
  if (last_index > 0 && last_index % 2 == 0)
    throw Error(at(last_index - 1, tokens[last_index - 1]) +
                "a pooling token must be followed by a block, not the decoder");
  const int n = static_cast<int>(g.blocks.size());
  if (n < kMinBlocks || n > kMaxBlocks)
    throw Error("genome: " + std::to_string(n) + (n == 1 ? " block" : " blocks") + ", need " +
                std::to_string(kMinBlocks) + " to " + std::to_string(kMaxBlocks));
  g.validate();
  return g;
}

std::string Genome::str() const {
  std::string out;
  for (size_t i = 0; i < blocks.size(); ++i) {
    const BlockGene& b = blocks[i];
    if (i > 0)
      out += "_" + (i - 1 < pools.size() ? to_string(pools[i - 1]) : std::string("?")) + "_";
    out += to_string(b.type) + "-" + std::to_string(b.width) + "-k" + std::to_string(b.kernel);
    if (has_expansion(b.type)) out += "-e" + std::to_string(b.expansion);
    out += "-" + to_string(b.act);
    if (b.precision != LayerPrecision::Default) out += "-" + genome_token(b.precision);
  }
  out += "_dec-" + std::to_string(decoder_width);
  return out;
}

uint64_t Genome::hash() const {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : str()) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

void Genome::validate() const {
  const int n = static_cast<int>(blocks.size());
  if (n < kMinBlocks || n > kMaxBlocks)
    throw Error("genome: " + std::to_string(n) + (n == 1 ? " block" : " blocks") + ", need " +
                std::to_string(kMinBlocks) + " to " + std::to_string(kMaxBlocks));
  if (pools.size() != blocks.size() - 1)
    throw Error("genome: " + std::to_string(n) + " blocks need " + std::to_string(n - 1) +
                " pooling tokens, found " + std::to_string(pools.size()));
  for (int i = 0; i < n; ++i) {
    const BlockGene& b = blocks[i];
    const std::string where =
        "genome block " + std::to_string(i + 1) + " (" + to_string(b.type) + "): ";
    if (b.width < 1 || b.width > kMaxWidth)
      throw Error(where + "width " + std::to_string(b.width) + " outside 1.." +
                  std::to_string(kMaxWidth));
    if (b.kernel != 3 && b.kernel != 5)
      throw Error(where + "kernel " + std::to_string(b.kernel) + " not allowed (allowed: 3, 5)");
    if (has_expansion(b.type)) {
      if (b.expansion < kMinExpansion || b.expansion > kMaxExpansion)
        throw Error(where + "expansion " + std::to_string(b.expansion) +
                    " not allowed (allowed: 3..6)");
    } else if (b.expansion != 0) {
      throw Error(where + "expansion must be 0 for this block type, found " +
                  std::to_string(b.expansion));
    }
  }
  if (decoder_width < 1 || decoder_width > kMaxWidth)
    throw Error("genome: decoder width " + std::to_string(decoder_width) + " outside 1.." +
                std::to_string(kMaxWidth));
}

namespace {

// Named genomes. Trainable parameters at 4 input bands (nn/describe.h, count_parameters):
//   reference  97,521  the paper-sized vessel network (the paper's had 95,791). Full
//              resolution keeps 16 channels and two 3x3 convs (a ResNetBlock) so 3 px
//              vessels survive; MBConv k5 stages at 1/4 and 1/8 resolution widen the
//              receptive field to about 90 px, beyond the largest (~60 px) vessels.
//   small      38,473  the three-stage example of the genome format.
//   tiny        7,333  plain ConvBnAct stages, for fast tests and quick runs.
const std::map<std::string, std::string>& named_table() {
  static const std::map<std::string, std::string> t = {
      {"reference",
       "ResNetBlock-16-k3-relu_max_ResNetBlock-32-k3-relu_max_MBConv-48-k5-e4-relu6_max_"
       "MBConv-64-k5-e4-relu6_dec-16"},
      {"small", "ConvBnAct-16-k3-relu_max_MBConv-24-k3-e4-relu6_max_ResNetBlock-32-k3-relu_dec-16"},
      {"tiny", "ConvBnAct-8-k3-relu_max_ConvBnAct-12-k3-relu_max_ConvBnAct-16-k3-relu_dec-8"},
  };
  return t;
}

}  // namespace

bool named_genome(const std::string& name, Genome& out) {
  const auto& t = named_table();
  auto it = t.find(name);
  if (it == t.end()) return false;
  out = Genome::parse(it->second);
  return true;
}

std::vector<std::string> named_genome_names() {
  std::vector<std::string> names;
  for (const auto& kv : named_table()) names.push_back(kv.first);
  return names;
}

Genome resolve_arch(const std::string& arch, int in_bands) {
  Genome g;
  if (named_genome(arch, g)) return g;
  const std::string prefix = "pynas:";
  if (arch.rfind(prefix, 0) == 0) return genome_from_pynas(arch.substr(prefix.size()), in_bands);
  if (arch.find('_') == std::string::npos)
    throw Error(
        "arch '" + arch + "': not a named genome (" + join(named_genome_names(), ", ") +
        "), a 'pynas:<code>' or a genome string like " +
        "'ConvBnAct-16-k3-relu_max_MBConv-24-k3-e4-relu6_max_ResNetBlock-32-k3-relu_dec-16'");
  try {
    return Genome::parse(arch);
  } catch (const Error& e) {
    throw Error("arch '" + arch + "': " + e.what());
  }
}

}  // namespace dalnas
