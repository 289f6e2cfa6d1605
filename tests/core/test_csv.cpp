#include <gtest/gtest.h>

#include "core/csv.h"

namespace dalnas {
namespace {

TEST(Csv, SplitsQuotedFieldsAsRfc4180) {
  EXPECT_EQ(split_csv_line("a,b,,c"), (std::vector<std::string>{"a", "b", "", "c"}));
  EXPECT_EQ(split_csv_line("\"x,y\",\"say \"\"hi\"\"\",z\r"),
            (std::vector<std::string>{"x,y", "say \"hi\"", "z"}));
  EXPECT_EQ(split_csv_line(""), (std::vector<std::string>{""}));
}

TEST(Csv, NumbersMustBeWholeFields) {
  double d = 0;
  EXPECT_TRUE(parse_double("2.5e3", d));
  EXPECT_DOUBLE_EQ(d, 2500);
  for (const char* bad : {"", "1.5ms", "nan", "inf", "3 "})
    EXPECT_FALSE(parse_double(bad, d)) << bad;
  int i = 0;
  EXPECT_TRUE(parse_int("42", i));
  EXPECT_EQ(i, 42);
  EXPECT_TRUE(parse_int("7.0", i));
  EXPECT_EQ(i, 7);
  EXPECT_FALSE(parse_int("7.5", i));
  EXPECT_FALSE(parse_int("1e12", i));
  EXPECT_EQ(trim(" \t a b \t"), "a b");
  EXPECT_EQ(trim("   "), "");
}

}  // namespace
}  // namespace dalnas
