#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "core/error.h"
#include "core/npy.h"

namespace dalnas {
namespace {

std::string header_of(const std::string& bytes) {
  const size_t len = static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9])
                                                                << 8;
  return bytes.substr(10, len);
}

uint16_t half_bits(const std::string& bytes, size_t i) {
  uint16_t h;
  std::memcpy(&h, bytes.data() + 10 + header_of(bytes).size() + i * 2, 2);
  return h;
}

TEST(Npy, WritesNumpysExactHeaderAndLittleEndianData) {
  const std::vector<float> v = {0, 1, 2, 3, 4, 5};
  const std::string b = npy_bytes({2, 3}, v.data());
  ASSERT_EQ(b.size(), 128u + 24u);  // numpy aligns the data to 64 bytes
  EXPECT_EQ(b.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const std::string h = header_of(b);
  EXPECT_EQ(h.substr(0, 59), "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
  EXPECT_EQ(h.back(), '\n');
  EXPECT_EQ(h.find_first_not_of(' ', 59), h.size() - 1);  // spaces, then the newline
  float f;
  std::memcpy(&f, b.data() + 128 + 5 * 4, 4);
  EXPECT_EQ(f, 5.0f);
  // One-dimensional shapes keep Python's trailing comma; scalars are ().
  EXPECT_EQ((10 + header_of(npy_bytes({5}, v.data())).size()) % 64, 0u);
  EXPECT_NE(header_of(npy_bytes({5}, v.data())).find("'shape': (5,), }"), std::string::npos);
  EXPECT_NE(header_of(npy_bytes({}, v.data())).find("'shape': (), }"), std::string::npos);
}

TEST(Npy, Float16RoundsToNearestEvenLikeIeee) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> v = {1.0f,     0.1f,     1e-7f, 3e-5f, 65504.0f,      65519.0f,
                                65520.0f, 70000.0f, -0.0f, -inf,  2.9802322e-08f};
  const std::string b = npy_bytes({static_cast<int64_t>(v.size())}, v.data(), NpyDtype::Float16);
  EXPECT_NE(header_of(b).find("'descr': '<f2'"), std::string::npos);
  const uint16_t expect[] = {0x3c00, 0x2e66, 0x0002, 0x01f7, 0x7bff, 0x7bff,
                             0x7c00, 0x7c00, 0x8000, 0xfc00, 0x0000};  // last: 2^-25 ties to 0
  for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(half_bits(b, i), expect[i]) << "value " << v[i];
  // Back through the reader: exact half values.
  const NpyArray a = parse_npy(b, "x.npy");
  EXPECT_EQ(a.dtype, NpyDtype::Float16);
  EXPECT_EQ(a.data[0], 1.0f);
  EXPECT_EQ(a.data[1], 0.0999755859375f);
  EXPECT_EQ(a.data[2], 2 * 5.9604644775390625e-08f);
  EXPECT_EQ(a.data[4], 65504.0f);
  EXPECT_TRUE(std::isinf(a.data[6]));
  EXPECT_TRUE(std::signbit(a.data[8]));
}

TEST(Npy, RoundTripThroughAFile) {
  const auto dir = std::filesystem::temp_directory_path() / "dalnas_test_npy";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "a.npy").string();
  std::vector<float> v(2 * 4 * 3 * 5);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) * 0.37f - 11.0f;
  write_npy(path, {2, 4, 3, 5}, v.data());
  const NpyArray a = read_npy(path);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 4, 3, 5}));
  EXPECT_EQ(a.numel(), 120);
  EXPECT_EQ(a.data, v);
  std::filesystem::remove_all(dir);
}

// A file as other writers produce it: version 2.0 header, float64, no padding, '=' order.
TEST(Npy, ReadsVersion2AndFloat64) {
  const std::string h = "{'descr': '=f8', 'fortran_order': False, 'shape': (3,)}\n";
  std::string b("\x93NUMPY\x02\x00", 8);
  const uint32_t len = static_cast<uint32_t>(h.size());
  b.append(reinterpret_cast<const char*>(&len), 4);
  b += h;
  const double d[3] = {1.5, -2.25, 1e300};
  b.append(reinterpret_cast<const char*>(d), sizeof(d));
  const NpyArray a = parse_npy(b, "v2.npy");
  EXPECT_EQ(a.dtype, NpyDtype::Float64);
  ASSERT_EQ(a.data.size(), 3u);
  EXPECT_EQ(a.data[0], 1.5f);
  EXPECT_EQ(a.data[1], -2.25f);
  EXPECT_TRUE(std::isinf(a.data[2]));
}

void expect_error(const std::string& bytes, const std::string& needle) {
  try {
    parse_npy(bytes, "bad.npy");
    FAIL() << "no error for " << needle;
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.rfind("bad.npy: ", 0), 0u) << m;
    EXPECT_NE(m.find(needle), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
}

std::string with_header(const std::string& dict, size_t data_bytes) {
  std::string b("\x93NUMPY\x01\x00", 8);
  const std::string h = dict + "\n";
  b += static_cast<char>(h.size());
  b += static_cast<char>(0);
  return b + h + std::string(data_bytes, '\0');
}

TEST(Npy, RejectsWhatItCannotRead) {
  expect_error("PK\x03\x04 not numpy", "bad magic");
  expect_error(with_header("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8),
               "dtype '>f4'");
  expect_error(with_header("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", 8),
               "dtype '<i4'");
  expect_error(with_header("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", 8),
               "Fortran order");
  expect_error(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 20),
               "needs 24");
  expect_error(with_header("{'descr': '<f4', 'fortran_order': False}", 0), "no 'shape'");
  expect_error(std::string("\x93NUMPY\x01\x00\xff\x00{'descr'", 17), "truncated");
  EXPECT_THROW(read_npy("/nonexistent/dir/x.npy"), Error);
}

// Crafted headers whose shape products overflow: before the check, (2^31, 2^31) float32 needed
// 2^64 bytes, which wrapped to 0 and matched an empty body, and the reader then tried to
// allocate 2^62 floats.
TEST(Npy, ShapesWhoseSizeOverflowsAreErrorsNotAllocations) {
  const std::string wrap =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2147483648, "
      "2147483648), }";
  expect_error(with_header(wrap, 0), "overflows 64 bits");
  // The number of values itself overflows int64.
  expect_error(with_header("{'descr': '<f2', 'fortran_order': False, 'shape': "
                           "(999999999999999, 999999999999999), }",
                           0),
               "overflows 64 bits");
  // The values fit, their bytes do not (4.7e18 float32 values).
  expect_error(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': "
                           "(999999999999999, 4700), }",
                           0),
               "overflows 64 bits");
  int64_t n = 0;
  size_t bytes = 0;
  EXPECT_TRUE(shape_numel({2, 3, 4}, 8, n, bytes));
  EXPECT_EQ(n, 24);
  EXPECT_EQ(bytes, 192u);
  EXPECT_FALSE(shape_numel({2, -3}, 4, n, bytes));
  EXPECT_FALSE(shape_numel({int64_t(1) << 40, int64_t(1) << 40}, 4, n, bytes));
  // The writer refuses such a shape instead of writing a wrong header.
  const float one = 1;
  EXPECT_THROW(npy_bytes({int64_t(1) << 31, int64_t(1) << 31}, &one), Error);
}

// Fuzzing (fuzz/npy.cpp) found that an empty float32 array, shape (0, 5), copied zero bytes
// from a null pointer (undefined behaviour, reported by UBSan). It reads as an empty array.
TEST(Npy, EmptyArraysReadAsEmpty) {
  for (const char* descr : {"<f4", "<f2", "<f8"}) {
    const NpyArray a = parse_npy(with_header(std::string("{'descr': '") + descr +
                                                 "', 'fortran_order': False, 'shape': (0, 5), }",
                                             0),
                                 "empty.npy");
    EXPECT_EQ(a.shape, (std::vector<int64_t>{0, 5})) << descr;
    EXPECT_TRUE(a.data.empty()) << descr;
    EXPECT_EQ(a.numel(), 0) << descr;
  }
}

}  // namespace
}  // namespace dalnas
