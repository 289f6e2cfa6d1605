#pragma once
// NumPy .npy files (format versions 1.0 to 3.0) of float32 / float16, little-endian, C order:
// the array format every Python tool reads (numpy.load) and writes (numpy.save). Used to
// hand tiles to external devices and read their outputs back (docs/devices.md).
#include <cstdint>
#include <string>
#include <vector>

namespace dalnas {

enum class NpyDtype { Float32, Float16, Float64 };

struct NpyArray {
  std::vector<int64_t> shape;          // () for a scalar
  std::vector<float> data;             // C order, converted to float
  NpyDtype dtype = NpyDtype::Float32;  // as stored in the file
  int64_t numel() const;
};

// The file's bytes: version 1.0 header ('<f4' or '<f2', fortran_order False), padded so the
// data starts at a multiple of 64 bytes, as numpy writes it. `dtype` Float16 rounds to
// nearest even (overflow to inf); Float64 is not written (dalnas::Error).
std::string npy_bytes(const std::vector<int64_t>& shape, const float* data,
                      NpyDtype dtype = NpyDtype::Float32);
// Writes atomically (temporary file + rename).
void write_npy(const std::string& path, const std::vector<int64_t>& shape, const float* data,
               NpyDtype dtype = NpyDtype::Float32);

// Reads '<f4', '<f2' and '<f8' ('=' and '|' byte orders count as little-endian) in C order.
// Throws dalnas::Error "<path>: <problem>" for a missing file, a bad magic or header, big-endian
// or Fortran-ordered data, another dtype, a shape whose size overflows 64 bits, or a data size
// that does not match the shape.
NpyArray read_npy(const std::string& path);
NpyArray parse_npy(const std::string& bytes, const std::string& path);

// The number of values of `shape` and its size in bytes at `item_size` bytes a value; false
// when a dimension is negative or either product overflows (a crafted header).
bool shape_numel(const std::vector<int64_t>& shape, size_t item_size, int64_t& numel,
                 size_t& bytes);

// "[2, 1, 32, 32]"
std::string shape_string(const std::vector<int64_t>& shape);

}  // namespace dalnas
