#include "report/architecture_svg.h"

#include <sstream>

#include "report/html.h"

namespace dalnas::report {

namespace {
std::string block_label(const BlockGene& b) {
  std::string s =
      to_string(b.type) + " " + std::to_string(b.width) + " ch, k" + std::to_string(b.kernel);
  if (b.expansion > 0) s += ", e" + std::to_string(b.expansion);
  return s + ", " + to_string(b.act);
}

void box(std::ostringstream& o, int x, int y, int w, int h, const std::string& fill,
         const std::string& line1, const std::string& line2) {
  o << "<rect x=\"" << x << "\" y=\"" << y << "\" width=\"" << w << "\" height=\"" << h
    << "\" rx=\"5\" fill=\"" << fill << "\" stroke=\"#333\"/>";
  o << "<text x=\"" << x + w / 2 << "\" y=\"" << y + (line2.empty() ? h / 2 + 4 : h / 2 - 3)
    << "\" text-anchor=\"middle\" font-size=\"11\">" << escape_html(line1) << "</text>";
  if (!line2.empty())
    o << "<text x=\"" << x + w / 2 << "\" y=\"" << y + h / 2 + 11
      << "\" text-anchor=\"middle\" font-size=\"10\" fill=\"#444\">" << escape_html(line2)
      << "</text>";
}

void arrow(std::ostringstream& o, int x1, int y1, int x2, int y2, bool dashed,
           const std::string& label = "") {
  o << "<line x1=\"" << x1 << "\" y1=\"" << y1 << "\" x2=\"" << x2 << "\" y2=\"" << y2
    << "\" stroke=\"#333\" marker-end=\"url(#arrow)\""
    << (dashed ? " stroke-dasharray=\"5,4\"" : "") << "/>";
  if (!label.empty())
    o << "<text x=\"" << (x1 + x2) / 2 + 6 << "\" y=\"" << (y1 + y2) / 2 + 4
      << "\" font-size=\"10\" fill=\"#555\">" << escape_html(label) << "</text>";
}
}  // namespace

std::string architecture_svg(const Genome& g, int bands) {
  const int n = static_cast<int>(g.blocks.size());
  const int bw = 250, bh = 40, dy = 70, margin = 20, gap = 140;
  const int left = margin, right = margin + bw + gap;
  const int width = right + bw + margin;
  const int top = margin + bh + 30;  // below the input box
  const int height = top + n * dy + bh + margin;
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"arch\" width=\"" << width
    << "\" height=\"" << height << "\" viewBox=\"0 0 " << width << ' ' << height
    << "\" font-family=\"sans-serif\">";
  o << "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" "
       "markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" "
       "fill=\"#333\"/></marker></defs>";
  box(o, left, margin, bw, bh, "#eee", "input", std::to_string(bands) + " bands, H × W");
  arrow(o, left + bw / 2, margin + bh, left + bw / 2, top, false);
  // Encoder stage i at row i; the last one is the bottleneck (centred).
  for (int i = 0; i < n; ++i) {
    const bool bottleneck = i == n - 1;
    const int x = bottleneck ? (left + right) / 2 : left, y = top + i * dy;
    std::string res =
        i == 0 ? "H × W" : "H/" + std::to_string(1 << i) + " × W/" + std::to_string(1 << i);
    box(o, x, y, bw, bh, bottleneck ? "#fde2c8" : "#d6e6fa",
        block_label(g.blocks[static_cast<size_t>(i)]),
        (bottleneck ? "bottleneck, " : "encoder stage " + std::to_string(i + 1) + ", ") + res);
    if (i + 1 < n) {
      const int nx = i + 1 == n - 1 ? (left + right) / 2 + bw / 2 : left + bw / 2;
      arrow(o, x + bw / 2, y + bh, nx, y + dy, false,
            to_string(g.pools[static_cast<size_t>(i)]) + " pool 2×2");
    }
  }
  // Decoder level for skip i (i = n-2 .. 0) on the right at row i.
  for (int i = n - 2; i >= 0; --i) {
    const int y = top + i * dy;
    box(o, right, y, bw, bh, "#d8f0d8",
        "up ×2, 1×1 conv, concat, 2× conv3 " + std::to_string(g.decoder_width) + " ch",
        "decoder level " + std::to_string(i + 1));
    arrow(o, left + bw, y + bh / 2, right, y + bh / 2, true, "skip");
    const int from_y = y + dy;  // the level below (or the bottleneck)
    const int from_x = i == n - 2 ? (left + right) / 2 + bw : right + bw / 2;
    arrow(o, from_x, i == n - 2 ? from_y + bh / 2 : from_y, right + bw / 2, y + bh, false);
  }
  const int hy = margin;
  box(o, right, hy, bw, bh, "#f5d6e6", "head: 1×1 conv to 1 logit", "vessel probability, H × W");
  arrow(o, right + bw / 2, top, right + bw / 2, hy + bh, false);
  o << "</svg>";
  return o.str();
}

}  // namespace dalnas::report
