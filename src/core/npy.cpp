#include "core/npy.h"

#include <cctype>
#include <cstring>

#include "core/atomic_file.h"
#include "core/error.h"

namespace dalnas {

namespace {

// IEEE binary16 conversions (core cannot use precision/half.h, which is built on core):
// round to nearest even, gradual underflow, overflow to inf, NaN kept quiet.
uint16_t to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  x &= 0x7fffffffu;
  if (x >= 0x7f800000u) {  // inf or NaN
    return static_cast<uint16_t>(sign | 0x7c00u |
                                 (x > 0x7f800000u ? 0x200u | ((x >> 13) & 0x3ffu) : 0u));
  }
  if (x >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds past 65504
  if (x < 0x38800000u) {               // below 2^-14: subnormal half (or zero)
    if (x < 0x33000000u) return sign;  // below half of 2^-24: +-0
    const uint32_t e = x >> 23;
    const uint32_t m = (x & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - e;  // 14 + (127 - e) - 1 ... m >> (shift) gives the half mantissa
    const uint32_t q = m >> shift, r = m & ((1u << shift) - 1), halfway = 1u << (shift - 1);
    return static_cast<uint16_t>(sign |
                                 (q + ((r > halfway || (r == halfway && (q & 1u))) ? 1u : 0u)));
  }
  const uint32_t q = x >> 13, r = x & 0x1fffu;
  uint32_t h = q - (112u << 10);  // rebias exponent 127 -> 15
  if (r > 0x1000u || (r == 0x1000u && (q & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}

float from_half(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  uint32_t x;
  if (e == 0) {
    const float f = static_cast<float>(m) * 5.9604644775390625e-08f;  // m · 2^-24, exact
    std::memcpy(&x, &f, 4);
    x |= sign;
  } else if (e == 31) {
    x = sign | 0x7f800000u | (m << 13) | (m ? 0x400000u : 0u);
  } else {
    x = sign | ((e + 112u) << 23) | (m << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

}  // namespace

int64_t NpyArray::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;  // checked when read (shape_numel) or written
  return n;
}

bool shape_numel(const std::vector<int64_t>& shape, size_t item_size, int64_t& numel,
                 size_t& bytes) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(n, d, &n)) return false;
  }
  size_t b = 0;
  if (__builtin_mul_overflow(static_cast<size_t>(n), item_size, &b)) return false;
  numel = n;
  bytes = b;
  return true;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string npy_bytes(const std::vector<int64_t>& shape, const float* data, NpyDtype dtype) {
  if (dtype == NpyDtype::Float64) throw Error("npy: writing float64 is not supported");
  std::string dims;
  for (int64_t d : shape) {
    if (d < 0) throw Error("npy: negative dimension in shape " + shape_string(shape));
    dims += std::to_string(d) + ", ";
  }
  int64_t n = 0;
  size_t body = 0;
  if (!shape_numel(shape, dtype == NpyDtype::Float16 ? 2 : 4, n, body))
    throw Error("npy: shape " + shape_string(shape) + " overflows 64-bit sizes");
  // Python's tuple syntax: "(2, 3)", "(5,)", "()".
  if (!dims.empty()) dims.resize(dims.size() - (shape.size() > 1 ? 2 : 1));
  std::string header = "{'descr': '" + std::string(dtype == NpyDtype::Float16 ? "<f2" : "<f4") +
                       "', 'fortran_order': False, 'shape': (" + dims + "), }";
  // magic (6) + version (2) + length (2) + header + '\n', padded to 64 bytes.
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  if (header.size() > 65535) throw Error("npy: shape " + shape_string(shape) + " is too long");
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  const size_t at = out.size();
  out.resize(at + body);
  if (dtype == NpyDtype::Float16) {
    for (int64_t i = 0; i < n; ++i) {
      const uint16_t h = to_half(data[i]);
      std::memcpy(&out[at + static_cast<size_t>(i) * 2], &h, 2);
    }
  } else if (body > 0) {
    std::memcpy(&out[at], data, body);
  }
  return out;
}

void write_npy(const std::string& path, const std::vector<int64_t>& shape, const float* data,
               NpyDtype dtype) {
  write_file_atomic(path, npy_bytes(shape, data, dtype));
}

namespace {

// The value text after "'key':" in the header dict, up to the next top-level ',' or '}'.
std::string dict_value(const std::string& h, const std::string& key, const std::string& path) {
  size_t k = h.find("'" + key + "'");
  if (k == std::string::npos) k = h.find("\"" + key + "\"");
  if (k == std::string::npos) throw Error(path + ": npy header has no '" + key + "'");
  size_t p = h.find(':', k + key.size() + 2);
  if (p == std::string::npos) throw Error(path + ": npy header is malformed at '" + key + "'");
  ++p;
  while (p < h.size() && std::isspace(static_cast<unsigned char>(h[p]))) ++p;
  size_t e = p;
  if (e < h.size() && h[e] == '(') {
    e = h.find(')', e);
    if (e == std::string::npos) throw Error(path + ": npy header has an unclosed shape");
    return h.substr(p, e + 1 - p);
  }
  while (e < h.size() && h[e] != ',' && h[e] != '}') ++e;
  std::string v = h.substr(p, e - p);
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
  if (v.size() >= 2 && (v.front() == '\'' || v.front() == '"')) v = v.substr(1, v.size() - 2);
  return v;
}

}  // namespace

NpyArray parse_npy(const std::string& bytes, const std::string& path) {
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) {
    throw Error(path + ": not a NumPy .npy file (bad magic)");
  }
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t len = 0, at = 0;
  if (major == 1) {
    len = static_cast<unsigned char>(bytes[8]) |
          static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8;
    at = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw Error(path + ": npy header is truncated");
    for (int i = 0; i < 4; ++i)
      len |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    at = 12;
  } else {
    throw Error(path + ": npy format version " + std::to_string(major) + " is not supported");
  }
  if (bytes.size() < at + len) throw Error(path + ": npy header is truncated");
  const std::string h = bytes.substr(at, len);
  at += len;

  NpyArray a;
  const std::string descr = dict_value(h, "descr", path);
  if (descr.size() != 3 || (descr[0] != '<' && descr[0] != '=' && descr[0] != '|')) {
    throw Error(path + ": npy dtype '" + descr +
                "' is not supported (little-endian float32 '<f4', float16 '<f2' or float64 '<f8')");
  }
  const std::string kind = descr.substr(1);
  size_t item = 0;
  if (kind == "f4") {
    a.dtype = NpyDtype::Float32;
    item = 4;
  } else if (kind == "f2") {
    a.dtype = NpyDtype::Float16;
    item = 2;
  } else if (kind == "f8") {
    a.dtype = NpyDtype::Float64;
    item = 8;
  } else {
    throw Error(path + ": npy dtype '" + descr +
                "' is not supported (little-endian float32 '<f4', float16 '<f2' or float64 '<f8')");
  }
  if (dict_value(h, "fortran_order", path) != "False") {
    throw Error(path + ": npy array is in Fortran order; write it in C order");
  }
  const std::string sh = dict_value(h, "shape", path);
  if (sh.size() < 2 || sh.front() != '(' || sh.back() != ')') {
    throw Error(path + ": npy shape '" + sh + "' is malformed");
  }
  std::string num;
  for (size_t i = 1; i < sh.size(); ++i) {
    const char c = sh[i];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      num += c;
    } else if (c == ',' || c == ')') {
      if (!num.empty()) {
        if (num.size() > 15) throw Error(path + ": npy shape '" + sh + "' is too large");
        a.shape.push_back(std::stoll(num));
      } else if (c == ',') {
        throw Error(path + ": npy shape '" + sh + "' is malformed");
      }
      num.clear();
    } else if (c != ' ' && c != 'L') {
      throw Error(path + ": npy shape '" + sh + "' is malformed");
    }
  }
  int64_t n = 0;
  size_t need = 0;
  if (!shape_numel(a.shape, item, n, need)) {
    throw Error(path + ": npy shape " + shape_string(a.shape) +
                " is too large (its size overflows 64 bits)");
  }
  const size_t body = bytes.size() - at;
  if (body != need) {
    throw Error(path + ": npy data has " + std::to_string(body) + " bytes, shape " +
                shape_string(a.shape) + " needs " + std::to_string(need));
  }
  a.data.resize(static_cast<size_t>(n));
  const char* p = bytes.data() + at;
  if (a.dtype == NpyDtype::Float32) {
    if (body > 0) std::memcpy(a.data.data(), p, body);  // an empty array's data() may be null
  } else if (a.dtype == NpyDtype::Float16) {
    for (int64_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, p + i * 2, 2);
      a.data[static_cast<size_t>(i)] = from_half(h);
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      double d;
      std::memcpy(&d, p + i * 8, 8);
      a.data[static_cast<size_t>(i)] = static_cast<float>(d);
    }
  }
  return a;
}

NpyArray read_npy(const std::string& path) {
  return parse_npy(read_file(path), path);
}

}  // namespace dalnas
