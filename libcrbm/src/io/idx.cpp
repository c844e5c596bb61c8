// IDX reader (the MNIST file format): 4-byte magic 00 00 <type> <ndims>, then
// ndims big-endian uint32 sizes, then the elements big-endian in C order.
// Sizes are checked against the bytes actually present before anything is allocated.
#include <cstring>

#include "crbm/atomic_file.hpp"
#include "crbm/data.hpp"

namespace crbm {
namespace {

constexpr int kMaxIdxDims = 8;

struct IdxType {
  uint8_t code;
  int itemsize;
  const char* dtype;  // NumPy name
};

const IdxType kIdxTypes[] = {{0x08, 1, "u1"}, {0x09, 1, "i1"}, {0x0B, 2, "i2"},
                             {0x0C, 4, "i4"}, {0x0D, 4, "f4"}, {0x0E, 8, "f8"}};

uint32_t load_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

uint64_t load_be64(const uint8_t* p) {
  return (uint64_t{load_be32(p)} << 32) | uint64_t{load_be32(p + 4)};
}

float decode_element(const uint8_t* p, uint8_t code) {
  switch (code) {
    case 0x08:
      return static_cast<float>(p[0]);
    case 0x09:
      return static_cast<float>(static_cast<int8_t>(p[0]));
    case 0x0B:
      return static_cast<float>(static_cast<int16_t>((uint16_t{p[0]} << 8) | uint16_t{p[1]}));
    case 0x0C:
      return static_cast<float>(static_cast<int32_t>(load_be32(p)));
    case 0x0D: {
      const uint32_t bits = load_be32(p);
      float f;
      std::memcpy(&f, &bits, sizeof f);
      return f;
    }
    default: {  // 0x0E
      const uint64_t bits = load_be64(p);
      double d;
      std::memcpy(&d, &bits, sizeof d);
      return static_cast<float>(d);
    }
  }
}

std::string hex32(uint32_t v) {
  static const char digits[] = "0123456789ABCDEF";
  std::string s = "0x";
  for (int shift = 28; shift >= 0; shift -= 4) s += digits[(v >> shift) & 0xF];
  return s;
}

struct IdxHeader {
  const IdxType* type = nullptr;
  std::vector<int64_t> shape;
  size_t header_bytes = 0;
  uint64_t count = 0;  // elements
};

// Checks the header against the bytes present (throws naming the file).
IdxHeader parse_idx_header(const std::string& path, const std::vector<uint8_t>& bytes) {
  const std::string what = is_gzip_file(path) ? "decompressed data has " : "file has ";
  if (bytes.size() < 4) {
    CRBM_FAIL(path, ": truncated: ", bytes.size(), " bytes, too short for an IDX header");
  }
  const uint32_t magic = load_be32(bytes.data());
  const IdxType* type = nullptr;
  for (const IdxType& t : kIdxTypes) {
    if (t.code == bytes[2]) type = &t;
  }
  const int ndims = bytes[3];
  if (bytes[0] != 0 || bytes[1] != 0 || ndims == 0 || ndims > kMaxIdxDims) {
    CRBM_FAIL(path, ": not an IDX file (magic ", hex32(magic), ")");
  }
  if (type == nullptr) {
    CRBM_FAIL(path, ": unsupported IDX element type 0x", hex32(bytes[2]).substr(8), " (magic ",
              hex32(magic),
              "; supported: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E "
              "float64)");
  }
  const size_t header_bytes = 4 + 4 * static_cast<size_t>(ndims);
  if (bytes.size() < header_bytes) {
    CRBM_FAIL(path, ": truncated: header of ", ndims, " dimensions needs ", header_bytes,
              " bytes, ", what, bytes.size());
  }
  std::vector<int64_t> shape;
  std::string dims_text;
  // Each size is < 2^32; stop multiplying before 2^59 so count * itemsize cannot
  // overflow, then compare with the bytes actually present.
  const uint64_t payload = bytes.size() - header_bytes;
  uint64_t count = 1;
  bool too_big = false;
  for (int i = 0; i < ndims; ++i) {
    const uint32_t n = load_be32(bytes.data() + 4 + 4 * i);
    shape.push_back(n);
    dims_text += (i ? " x " : "") + std::to_string(n);
    if (n != 0 && count > (uint64_t{1} << 59) / n) too_big = true;
    if (!too_big) count *= n;
  }
  const uint64_t itemsize = static_cast<uint64_t>(type->itemsize);
  if (too_big || count * itemsize > payload) {
    const std::string needed =
        too_big ? std::string("more than 2^59") : std::to_string(count * itemsize);
    CRBM_FAIL(path, ": truncated: header says ", dims_text, " = ", needed, " bytes of ",
              type->dtype, " data, ", what, payload, " after the ", header_bytes, "-byte header");
  }
  return IdxHeader{type, shape, header_bytes, count};
}

}  // namespace

HostTensor read_idx(const std::string& path, std::string* stored_dtype) {
  const std::vector<uint8_t> bytes = read_file_contents(path);
  const IdxHeader h = parse_idx_header(path, bytes);
  HostTensor t(h.shape);
  const uint8_t* src = bytes.data() + h.header_bytes;
  if (h.type->code == 0x08) {  // the common case (MNIST), without the per-element switch
    for (uint64_t i = 0; i < h.count; ++i) t.data[i] = static_cast<float>(src[i]);
  } else {
    const uint64_t itemsize = static_cast<uint64_t>(h.type->itemsize);
    for (uint64_t i = 0; i < h.count; ++i) {
      t.data[i] = decode_element(src + i * itemsize, h.type->code);
    }
  }
  if (stored_dtype != nullptr) *stored_dtype = h.type->dtype;
  return t;
}

std::vector<uint8_t> read_idx_bytes(const std::string& path, std::vector<int64_t>* shape) {
  std::vector<uint8_t> bytes = read_file_contents(path);
  const IdxHeader h = parse_idx_header(path, bytes);
  if (h.type->code != 0x08) {
    CRBM_FAIL(path, ": expected IDX uint8 data (type 0x08), the file stores ", h.type->dtype);
  }
  bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(h.header_bytes));
  bytes.resize(static_cast<size_t>(h.count));  // trailing bytes beyond the payload are ignored
  if (shape != nullptr) *shape = h.shape;
  return bytes;
}

std::vector<int32_t> read_idx_labels(const std::string& path) {
  std::string dtype;
  const HostTensor t = read_idx(path, &dtype);
  if (t.shape.size() != 1) {
    CRBM_FAIL(path, ": expected a 1-D IDX label file, got shape ", t.shape_string());
  }
  if (dtype[0] != 'u' && dtype[0] != 'i') {
    CRBM_FAIL(path, ": labels must be integers, the file stores ", dtype);
  }
  std::vector<int32_t> labels(t.data.size());
  for (size_t i = 0; i < labels.size(); ++i) {
    const float v = t.data[i];
    if (v < 0) CRBM_FAIL(path, ": label ", i, " is negative (", v, ")");
    labels[i] = static_cast<int32_t>(v);
  }
  return labels;
}

}  // namespace crbm
