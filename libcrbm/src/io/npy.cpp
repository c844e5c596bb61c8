// NumPy .npy reader and writers. Format: "\x93NUMPY", major, minor, header length
// (uint16 LE for v1, uint32 LE for v2/v3), a Python dict literal
// {'descr': '<f4', 'fortran_order': False, 'shape': (N, D), } and the raw C-order data.
#include <cctype>
#include <cstring>

#include "crbm/atomic_file.hpp"
#include "crbm/data.hpp"

namespace crbm {
namespace {

constexpr char kNpyMagic[] = "\x93NUMPY";
constexpr size_t kNpyMagicLen = 6;
constexpr int kMaxNpyDims = 32;

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

// Finds the value that follows 'key': in a Python dict literal; returns its offset.
size_t find_key(const std::string& header, const std::string& key, const std::string& path) {
  for (const char quote : {'\'', '"'}) {
    const std::string quoted = std::string(1, quote) + key + quote;
    size_t pos = header.find(quoted);
    if (pos == std::string::npos) continue;
    pos += quoted.size();
    while (pos < header.size() && std::isspace(static_cast<unsigned char>(header[pos]))) ++pos;
    if (pos < header.size() && header[pos] == ':') {
      ++pos;
      while (pos < header.size() && std::isspace(static_cast<unsigned char>(header[pos]))) ++pos;
      return pos;
    }
  }
  CRBM_FAIL(path, ": malformed .npy header (no '", key, "' entry): ", printable(header));
}

NpyHeader parse_header(const std::string& header, const std::string& path) {
  NpyHeader h;
  size_t pos = find_key(header, "descr", path);
  if (pos >= header.size() || (header[pos] != '\'' && header[pos] != '"')) {
    CRBM_FAIL(path,
              ": malformed .npy header ('descr' is not a string; structured dtypes are "
              "not supported): ",
              printable(header));
  }
  const char quote = header[pos];
  const size_t end = header.find(quote, pos + 1);
  if (end == std::string::npos) CRBM_FAIL(path, ": malformed .npy header: ", printable(header));
  h.descr = header.substr(pos + 1, end - pos - 1);

  pos = find_key(header, "fortran_order", path);
  if (header.compare(pos, 4, "True") == 0) {
    h.fortran_order = true;
  } else if (header.compare(pos, 5, "False") != 0) {
    CRBM_FAIL(path, ": malformed .npy header ('fortran_order' is neither True nor False): ",
              printable(header));
  }

  pos = find_key(header, "shape", path);
  if (pos >= header.size() || header[pos] != '(') {
    CRBM_FAIL(path, ": malformed .npy header ('shape' is not a tuple): ", printable(header));
  }
  ++pos;
  for (;;) {
    while (pos < header.size() &&
           (std::isspace(static_cast<unsigned char>(header[pos])) || header[pos] == ',')) {
      ++pos;
    }
    if (pos >= header.size()) CRBM_FAIL(path, ": malformed .npy header: ", printable(header));
    if (header[pos] == ')') break;
    if (!std::isdigit(static_cast<unsigned char>(header[pos]))) {
      CRBM_FAIL(path, ": malformed .npy header (bad 'shape' entry): ", printable(header));
    }
    uint64_t value = 0;
    while (pos < header.size() && std::isdigit(static_cast<unsigned char>(header[pos]))) {
      value = value * 10 + static_cast<uint64_t>(header[pos] - '0');
      if (value > (uint64_t{1} << 48))
        CRBM_FAIL(path, ": .npy dimension too large: ", printable(header));
      ++pos;
    }
    while (pos < header.size() && (header[pos] == 'L')) ++pos;  // Python 2 longs
    h.shape.push_back(static_cast<int64_t>(value));
    if (h.shape.size() > static_cast<size_t>(kMaxNpyDims)) {
      CRBM_FAIL(path, ": .npy array has more than ", kMaxNpyDims, " dimensions");
    }
  }
  return h;
}

struct NpyType {
  const char* descr;
  int itemsize;
  const char* name;
};

// '<' little-endian, '|' not applicable; '=' native (little-endian on every
// supported host) is accepted as well.
const NpyType kNpyTypes[] = {{"f4", 4, "f4"}, {"f8", 8, "f8"}, {"u1", 1, "u1"}, {"i1", 1, "i1"},
                             {"b1", 1, "b1"}, {"i4", 4, "i4"}, {"i8", 8, "i8"}};

template <typename T>
T load_le(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // little-endian host
  return v;
}

float decode(const uint8_t* p, const std::string& name) {
  switch (name[0]) {
    case 'f':
      return name[1] == '4' ? load_le<float>(p) : static_cast<float>(load_le<double>(p));
    case 'u':
      return static_cast<float>(p[0]);
    case 'b':
      return p[0] != 0 ? 1.0f : 0.0f;
    default:  // i1, i4, i8
      if (name[1] == '1') return static_cast<float>(static_cast<int8_t>(p[0]));
      if (name[1] == '4') return static_cast<float>(load_le<int32_t>(p));
      return static_cast<float>(load_le<int64_t>(p));
  }
}

std::string shape_tuple(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += std::to_string(shape[i]) + ", ";
  if (shape.size() == 1) {
    s.pop_back();  // "(3,)"
  } else if (!shape.empty()) {
    s.resize(s.size() - 2);
  }
  return s + ")";
}

// The version 1 preamble, padded with spaces so that the data starts at a
// multiple of 64 bytes (what NumPy itself writes).
std::string npy_preamble(const std::string& descr, const std::vector<int64_t>& shape) {
  std::string dict =
      "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape_tuple(shape) + ", }";
  const size_t unpadded = kNpyMagicLen + 2 + 2 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict += '\n';
  CRBM_CHECK_THROW(dict.size() < 65536, "npy header too long");
  std::string out(kNpyMagic, kNpyMagicLen);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(dict.size() & 0xFF);
  out += static_cast<char>(dict.size() >> 8);
  return out + dict;
}

void write_npy_bytes(const std::string& path, const std::string& preamble, const void* data,
                     size_t nbytes) {
  write_file_atomically(path, [&](std::FILE* f) {
    if (std::fwrite(preamble.data(), 1, preamble.size(), f) != preamble.size() ||
        (nbytes > 0 && std::fwrite(data, 1, nbytes, f) != nbytes)) {
      CRBM_FAIL("short write");
    }
  });
}

}  // namespace

HostTensor read_npy(const std::string& path, std::string* stored_dtype) {
  const std::vector<uint8_t> bytes = read_file_contents(path);
  if (bytes.size() < kNpyMagicLen + 4 || std::memcmp(bytes.data(), kNpyMagic, kNpyMagicLen) != 0) {
    CRBM_FAIL(path, ": not a .npy file (no \\x93NUMPY magic)");
  }
  const int major = bytes[6];
  size_t header_len = 0;
  size_t prefix = 0;
  if (major == 1) {
    header_len = bytes[8] | (size_t{bytes[9]} << 8);
    prefix = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) CRBM_FAIL(path, ": truncated .npy preamble");
    header_len =
        bytes[8] | (size_t{bytes[9]} << 8) | (size_t{bytes[10]} << 16) | (size_t{bytes[11]} << 24);
    prefix = 12;
  } else {
    CRBM_FAIL(path, ": unsupported .npy format version ", major, ".", int{bytes[7]},
              " (supported: 1, 2, 3)");
  }
  if (header_len > bytes.size() - prefix) {
    CRBM_FAIL(path, ": truncated: .npy header length ", header_len, " but file has ",
              bytes.size() - prefix, " bytes after the preamble");
  }
  const std::string header(reinterpret_cast<const char*>(bytes.data() + prefix), header_len);
  const NpyHeader h = parse_header(header, path);
  if (h.fortran_order) {
    CRBM_FAIL(path, ": Fortran-order arrays are not supported (save with np.ascontiguousarray)");
  }
  const NpyType* type = nullptr;
  if (h.descr.size() == 3 && (h.descr[0] == '<' || h.descr[0] == '|' || h.descr[0] == '=')) {
    for (const NpyType& t : kNpyTypes) {
      if (h.descr.compare(1, 2, t.descr) == 0) type = &t;
    }
  }
  if (type == nullptr) {
    CRBM_FAIL(path, ": unsupported .npy dtype '", printable(h.descr),
              "' (supported: '<f4', '<f8', '|u1', '|i1', '|b1', '<i4', '<i8'; little-endian)");
  }
  const uint64_t payload = bytes.size() - prefix - header_len;
  const uint64_t itemsize = static_cast<uint64_t>(type->itemsize);
  uint64_t count = 1;
  for (const int64_t d : h.shape) {
    const uint64_t n = static_cast<uint64_t>(d);
    if (n != 0 && count > (uint64_t{1} << 59) / n) {  // keeps count * itemsize < 2^63
      CRBM_FAIL(path, ": truncated: header says shape ", shape_tuple(h.shape), " of ", h.descr,
                " (more than 2^59 elements), file has ", payload, " data bytes");
    }
    count *= n;
  }
  if (count * itemsize > payload) {
    CRBM_FAIL(path, ": truncated: header says shape ", shape_tuple(h.shape), " of ", h.descr, " = ",
              count * itemsize, " bytes, file has ", payload, " data bytes");
  }
  HostTensor t(h.shape);
  const uint8_t* src = bytes.data() + prefix + header_len;
  const std::string name = type->name;
  if (name == "f4") {
    if (count > 0) std::memcpy(t.data.data(), src, count * 4);
  } else {
    for (uint64_t i = 0; i < count; ++i) t.data[i] = decode(src + i * itemsize, name);
  }
  if (stored_dtype != nullptr) *stored_dtype = name;
  return t;
}

void write_npy(const std::string& path, const HostTensor& t) {
  CRBM_CHECK_THROW(HostTensor::count(t.shape) == t.numel(), "write_npy('", path, "'): shape ",
                   t.shape_string(), " does not match ", t.numel(), " elements");
  write_npy_bytes(path, npy_preamble("<f4", t.shape), t.data.data(), t.data.size() * 4);
}

void write_npy_u8(const std::string& path, const std::vector<uint8_t>& data,
                  const std::vector<int64_t>& shape) {
  CRBM_CHECK_THROW(HostTensor::count(shape) == static_cast<int64_t>(data.size()), "write_npy_u8('",
                   path, "'): shape has ", HostTensor::count(shape), " elements, data has ",
                   data.size());
  write_npy_bytes(path, npy_preamble("|u1", shape), data.data(), data.size());
}

}  // namespace crbm
