#include "report/html.h"

namespace dalnas::report {

std::string escape_html(const std::string& s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      case '\'':
        o += "&#39;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

std::string script_safe(const std::string& json_text) {
  std::string o;
  o.reserve(json_text.size());
  for (size_t i = 0; i < json_text.size(); ++i) {
    const char c = json_text[i];
    // Inside JSON strings "<" may be written \u003c; outside strings JSON has no '<'.
    if (c == '<')
      o += "\\u003c";
    else
      o += c;
  }
  return o;
}

std::string base64(const std::string& bytes) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string o;
  o.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
    o += k[(v >> 18) & 63];
    o += k[(v >> 12) & 63];
    o += k[(v >> 6) & 63];
    o += k[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const unsigned v = b[i] << 16;
    o += k[(v >> 18) & 63];
    o += k[(v >> 12) & 63];
    o += "==";
  } else if (i + 2 == bytes.size()) {
    const unsigned v = (b[i] << 16) | (b[i + 1] << 8);
    o += k[(v >> 18) & 63];
    o += k[(v >> 12) & 63];
    o += k[(v >> 6) & 63];
    o += '=';
  }
  return o;
}

std::string data_uri(const std::string& mime, const std::string& bytes) {
  return "data:" + mime + ";base64," + base64(bytes);
}

std::string html_table(const std::vector<std::string>& header,
                       const std::vector<std::vector<std::string>>& rows, bool sortable,
                       const std::string& id) {
  std::string o = "<table";
  if (!id.empty()) o += " id=\"" + escape_html(id) + "\"";
  if (sortable) o += " class=\"sortable\"";
  o += "><thead><tr>";
  for (const auto& h : header) o += "<th>" + h + "</th>";
  o += "</tr></thead><tbody>\n";
  for (const auto& r : rows) {
    o += "<tr>";
    for (const auto& c : r) o += "<td>" + c + "</td>";
    o += "</tr>\n";
  }
  o += "</tbody></table>\n";
  return o;
}

namespace {
const char* kStyle = R"(
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:1em;color:#222}
h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
td,th{border:1px solid #ddd;padding:2px 6px;text-align:left}
th{background:#f3f3f3}table.sortable th{cursor:pointer}
table.sortable th:hover{background:#e3e3e3}
.missing{color:#a33;font-style:italic}
.chart{position:relative;height:380px;margin:1em 0}
pre{background:#f7f7f7;padding:.5em;overflow:auto;font-size:.85em}
.panel{display:inline-block;margin:2px;text-align:center;font-size:.75em;vertical-align:top}
.panel img{image-rendering:pixelated;width:160px;height:160px;border:1px solid #ccc}
nav a{margin-right:1em}
)";
}  // namespace

std::string html_page(const std::string& title, const std::vector<Section>& sections,
                      const std::string& chart_library_js, const std::string& script) {
  std::string o = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  o += "<title>" + escape_html(title) + "</title>\n<style>" + kStyle + "</style>\n";
  // The library's source as it is: it contains no "</script" (checked by the caller).
  o += "<script>\n" + chart_library_js + "\n</script>\n</head><body>\n";
  o += "<h1>" + escape_html(title) + "</h1>\n<nav>";
  for (const auto& s : sections)
    o += "<a href=\"#" + escape_html(s.id) + "\">" + escape_html(s.title) + "</a>";
  o += "</nav>\n";
  for (const auto& s : sections)
    o += "<section id=\"" + escape_html(s.id) + "\"><h2>" + escape_html(s.title) + "</h2>\n" +
         s.body + "</section>\n";
  // Written by the page's script after drawing (report/charts.h).
  o += "<div id=\"render-status\" hidden></div>\n";
  o += "<script>\n" + script + "\n</script>\n</body></html>\n";
  return o;
}

}  // namespace dalnas::report
