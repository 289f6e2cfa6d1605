// HTML escaping (genome strings, reasons), base64 and script-safe JSON.
#include <gtest/gtest.h>

#include "report/architecture_svg.h"
#include "report/html.h"

namespace dalnas::report {
namespace {

TEST(Html, EscapesMarkupInTextAndAttributes) {
  EXPECT_EQ(escape_html("ConvBnAct-16-k3-relu_max_dec-8"), "ConvBnAct-16-k3-relu_max_dec-8");
  EXPECT_EQ(escape_html("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;");
  // A table built from a hostile cell keeps it inside the cell.
  const std::string t = html_table({"genome"}, {{escape_html("</td><td>x")}});
  EXPECT_EQ(t.find("</td><td>x"), std::string::npos);
  EXPECT_NE(t.find("&lt;/td&gt;&lt;td&gt;x"), std::string::npos);
}

TEST(Html, ScriptSafeJsonCannotCloseTheScriptElement) {
  const std::string s = script_safe(R"({"genome":"</script><b>"})");
  EXPECT_EQ(s.find("</"), std::string::npos);
  EXPECT_EQ(s, R"({"genome":"\u003c/script>\u003cb>"})");
}

TEST(Html, Base64MatchesRfc4648Vectors) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64(std::string("\xff\x00\x80", 3)), "/wCA");
  EXPECT_EQ(data_uri("image/png", "foo"), "data:image/png;base64,Zm9v");
}

TEST(Html, PageHasTheSectionsTheLibraryAndTheStatusElement) {
  const std::string p = html_page("t <1>", {{"a", "A & B", "<p>x</p>"}}, "var LIB=1;", "var S=2;");
  EXPECT_NE(p.find("<title>t &lt;1&gt;</title>"), std::string::npos);
  EXPECT_NE(p.find("<h2>A &amp; B</h2>"), std::string::npos);
  EXPECT_NE(p.find("var LIB=1;"), std::string::npos);
  EXPECT_LT(p.find("id=\"render-status\""), p.find("var S=2;"));
}

TEST(ArchitectureSvg, DrawsEveryStageAndDecoderLevel) {
  const Genome g = Genome::parse(
      "ConvBnAct-16-k3-relu_max_MBConv-24-k3-e4-relu6_avg_ResNetBlock-32-k5-gelu_dec-16");
  const std::string svg = architecture_svg(g, 4);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("ConvBnAct 16 ch, k3, relu"), std::string::npos);
  EXPECT_NE(svg.find("MBConv 24 ch, k3, e4, relu6"), std::string::npos);
  EXPECT_NE(svg.find("bottleneck"), std::string::npos);
  EXPECT_NE(svg.find("avg pool"), std::string::npos);
  size_t rects = 0;
  for (size_t p = 0; (p = svg.find("<rect", p)) != std::string::npos; ++p) ++rects;
  EXPECT_EQ(rects, 1u + 3u + 2u + 1u) << "input, 3 stages, 2 decoder levels, head";
  size_t skips = 0;
  for (size_t p = 0; (p = svg.find(">skip<", p)) != std::string::npos; ++p) ++skips;
  EXPECT_EQ(skips, 2u);
}

}  // namespace
}  // namespace dalnas::report
