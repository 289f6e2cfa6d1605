#pragma once
// HTML text for the report: escaping, base64 data URIs, and a page made of sections.
// Everything the page needs is inline (no network at view time).
#include <string>
#include <vector>

namespace dalnas::report {

// Text for an HTML element or a double-quoted attribute: & < > " ' escaped.
std::string escape_html(const std::string& s);
// JSON text to place inside <script>: "</" (and "<!--") can no longer end the element.
std::string script_safe(const std::string& json_text);
// RFC 4648 base64 (with padding).
std::string base64(const std::string& bytes);
// "data:<mime>;base64,<...>"
std::string data_uri(const std::string& mime, const std::string& bytes);

// A table: header cells and rows of cells, already HTML (escape text yourself).
// `sortable`: a click on a header sorts by that column (the page's script).
std::string html_table(const std::vector<std::string>& header,
                       const std::vector<std::vector<std::string>>& rows, bool sortable = false,
                       const std::string& id = "");

struct Section {
  std::string id, title;
  std::string body;  // HTML
};

// The whole page: title, the chart library's source (inlined), a navigation list, the
// sections, and `script` (the page's own code) after them.
std::string html_page(const std::string& title, const std::vector<Section>& sections,
                      const std::string& chart_library_js, const std::string& script);

}  // namespace dalnas::report
