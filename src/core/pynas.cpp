#include "core/pynas.h"

#include <cctype>
#include <map>
#include <vector>

#include "core/error.h"

namespace dalnas {

namespace {

constexpr int kMaxWidth = 1024;
const char* kLayerCodes =
    "b (ConvAct), c (ConvBnAct), e (ConvSE), d (DenseNetBlock), m (MBConv), n (MBConvNoRes), "
    "R (ResNetBlock), D (Dropout, ignored)";

struct Layer {
  BlockType type;
  std::map<char, std::string> params;  // parameter letter -> value text
  std::string segment;
};

std::string seg(const std::string& s) {
  return "pynas segment '" + s + "': ";
}

// Parameters each layer type accepts ('n' is pynas's num_blocks, always 1 here).
std::string accepted_params(BlockType t) {
  switch (t) {
    case BlockType::ConvAct:
    case BlockType::ConvBnAct:
    case BlockType::ConvSE:
      return "okspan";
    case BlockType::DenseNetBlock:
      return "oan";
    case BlockType::MBConv:
    case BlockType::MBConvNoRes:
      return "ean";
    case BlockType::ResNetBlock:
      return "ran";
  }
  return "";
}

std::string letters_list(const std::string& letters) {
  std::string out;
  for (size_t i = 0; i < letters.size(); ++i) {
    if (i) out += ", ";
    out += letters[i];
  }
  return out;
}

Layer parse_layer(const std::string& s) {
  Layer layer;
  layer.segment = s;
  if (s.size() < 2) throw Error(seg(s) + "missing layer type (accepted: " + kLayerCodes + ")");
  switch (s[1]) {
    case 'b':
      layer.type = BlockType::ConvAct;
      break;
    case 'c':
      layer.type = BlockType::ConvBnAct;
      break;
    case 'e':
      layer.type = BlockType::ConvSE;
      break;
    case 'd':
      layer.type = BlockType::DenseNetBlock;
      break;
    case 'm':
      layer.type = BlockType::MBConv;
      break;
    case 'n':
      layer.type = BlockType::MBConvNoRes;
      break;
    case 'R':
      layer.type = BlockType::ResNetBlock;
      break;
    default:
      throw Error(seg(s) + "unknown layer type '" + std::string(1, s[1]) +
                  "' (accepted: " + kLayerCodes + ")");
  }
  const std::string accepted = accepted_params(layer.type);
  size_t i = 2;
  while (i < s.size()) {
    const char p = s[i++];
    if (accepted.find(p) == std::string::npos)
      throw Error(seg(s) + "parameter '" + std::string(1, p) + "' not used by " +
                  to_string(layer.type) + " (accepted: " + letters_list(accepted) + ")");
    if (layer.params.count(p))
      throw Error(seg(s) + "parameter '" + std::string(1, p) + "' given twice");
    std::string value;
    if (p == 'a') {
      if (i >= s.size()) throw Error(seg(s) + "activation letter missing after 'a'");
      const char a = s[i++];
      if (a != 'r' && a != 'g') {
        std::string what(1, a);
        if (a == 's' && i < s.size() && s[i] == 'g') what = "sg";
        throw Error(seg(s) + "activation '" + what + "' not supported (accepted: r ReLU, g GELU)");
      }
      value = std::string(1, a);
    } else {
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) value += s[i++];
      if (value.empty() || value.size() > 4)
        throw Error(seg(s) + "parameter '" + std::string(1, p) + "' needs a number");
    }
    layer.params[p] = value;
  }
  return layer;
}

int int_param(const Layer& l, char p, int fallback) {
  auto it = l.params.find(p);
  if (it == l.params.end()) return fallback;
  return std::stoi(it->second);
}

// Converts one parsed layer given its input channels; returns the block gene.
BlockGene convert(const Layer& l, int in_channels) {
  const std::string& s = l.segment;
  BlockGene g;
  g.type = l.type;
  auto act = l.params.find('a');
  if (act == l.params.end())
    throw Error(seg(s) + "missing activation 'a<r|g>' (accepted: r ReLU, g GELU)");
  g.act = act->second == "g" ? Activation::GELU : Activation::ReLU;
  if (int_param(l, 'n', 1) != 1)
    throw Error(seg(s) + "num_blocks 'n" + l.params.at('n') + "' unsupported (accepted: n1)");

  switch (l.type) {
    case BlockType::ConvAct:
    case BlockType::ConvBnAct:
    case BlockType::ConvSE: {
      const int k = int_param(l, 'k', 3);
      const int stride = int_param(l, 's', 1);
      const int pad = int_param(l, 'p', 1);
      if (k != 3 && k != 5)
        throw Error(seg(s) + "kernel " + std::to_string(k) + " unsupported (accepted: 3, 5)");
      if (stride != 1)
        throw Error(seg(s) + "stride " + std::to_string(stride) + " unsupported (accepted: 1)");
      if (pad != k / 2)
        throw Error(seg(s) + "padding " + std::to_string(pad) + " with kernel " +
                    std::to_string(k) + " unsupported (accepted: 'same' padding p" +
                    std::to_string(k / 2) + ")");
      if (!l.params.count('o')) throw Error(seg(s) + "missing out_channels_coefficient 'o<NN>'");
      g.kernel = k;
      g.width = in_channels * int_param(l, 'o', 0);
      break;
    }
    case BlockType::DenseNetBlock:
      g.kernel = 3;
      g.width = in_channels + in_channels * int_param(l, 'o', 8);  // pynas default coefficient 8
      break;
    case BlockType::MBConv:
    case BlockType::MBConvNoRes: {
      const int e = int_param(l, 'e', 4);  // pynas default_expansion_factor
      if (e < 3 || e > 6)
        throw Error(seg(s) + "expansion " + std::to_string(e) + " unsupported (accepted: 3..6)");
      g.kernel = 3;  // pynas default_dw_kernel_size
      g.expansion = e;
      g.width = in_channels;
      break;
    }
    case BlockType::ResNetBlock:
      g.kernel = 3;
      g.width = in_channels;
      break;
  }
  if (g.width < 1 || g.width > kMaxWidth)
    throw Error(seg(s) + std::to_string(g.width) + " output channels (from " +
                std::to_string(in_channels) + " input channels) outside 1.." +
                std::to_string(kMaxWidth));
  return g;
}

}  // namespace

Genome genome_from_pynas(const std::string& code, int in_bands) {
  if (in_bands < 1) throw Error("pynas code: input bands must be positive");
  if (code.empty()) throw Error("pynas code: empty");
  // Segments separated by 'E'; empty segments (the trailing "EE") are skipped, as pynas does.
  std::vector<std::string> segments;
  std::string cur;
  for (char c : code) {
    if (c == 'E') {
      if (!cur.empty()) segments.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) segments.push_back(cur);

  Genome g;
  bool expect_layer = true;  // alternation: layer, pool, layer, pool, ...
  int in_c = in_bands;
  for (const std::string& s : segments) {
    if (s[0] == 'L') {
      if (s.size() >= 2 && s[1] == 'D') continue;  // dropout: no counterpart, ignored
      if (!expect_layer)
        throw Error(seg(s) + "expected a pooling segment (PM2 or Pa2) between two layers");
      const BlockGene b = convert(parse_layer(s), in_c);
      g.blocks.push_back(b);
      in_c = b.width;
      expect_layer = false;
    } else if (s[0] == 'P') {
      Pooling p;
      if (s == "PM2") {
        p = Pooling::Max;
      } else if (s == "Pa2") {
        p = Pooling::Avg;
      } else {
        throw Error(seg(s) + "pooling must be PM2 (max) or Pa2 (avg)");
      }
      if (expect_layer)
        throw Error(seg(s) + (g.blocks.empty() ? "a pooling segment cannot come first"
                                               : "two pooling segments in a row"));
      g.pools.push_back(p);
      expect_layer = true;
    } else {
      throw Error(seg(s) + "unknown segment (accepted: L<type><params>n1 layers with types " +
                  kLayerCodes + "; PM2, Pa2 pooling)");
    }
  }
  const int n = static_cast<int>(g.blocks.size());
  if (n < 3 || n > 5)
    throw Error("pynas code '" + code + "': " + std::to_string(n) + " layers, need 3 to 5");
  // pynas pools after every layer; the pool after the last layer feeds nothing.
  if (g.pools.size() == g.blocks.size()) g.pools.pop_back();
  // Approximation: one decoder width, the first skip's (pynas's last decoder level).
  g.decoder_width = g.blocks[0].width;
  g.validate();
  return g;
}

}  // namespace dalnas
