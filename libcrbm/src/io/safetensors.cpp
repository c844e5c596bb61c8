// safetensors reader/writer. Layout: u64 LE header length N | N bytes of JSON
// (padded with spaces) | data region; each tensor's data_offsets are relative to
// the start of the data region. Readers trust nothing: every size is bounded first.
#include "crbm/safetensors.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "crbm/atomic_file.hpp"

namespace crbm {
namespace {

using nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

struct DtypeInfo {
  const char* name;
  int itemsize;
  bool loadable;  // converted to float by this reader
};

const DtypeInfo kDtypes[] = {{"F32", 4, true},   {"F64", 8, true},      {"F16", 2, true},
                             {"BF16", 2, true},  {"I8", 1, false},      {"U8", 1, false},
                             {"I16", 2, false},  {"U16", 2, false},     {"I32", 4, false},
                             {"U32", 4, false},  {"I64", 8, false},     {"U64", 8, false},
                             {"BOOL", 1, false}, {"F8_E4M3", 1, false}, {"F8_E5M2", 1, false}};

const DtypeInfo* find_dtype(const std::string& name) {
  for (const DtypeInfo& d : kDtypes) {
    if (name == d.name) return &d;
  }
  return nullptr;
}

float half_to_float(uint16_t h) {
  const uint32_t sign = (h >> 15) & 1u;
  const uint32_t exponent = (h >> 10) & 0x1Fu;
  const uint32_t mantissa = h & 0x3FFu;
  float magnitude;
  if (exponent == 0) {
    magnitude = std::ldexp(static_cast<float>(mantissa), -24);  // subnormal
  } else if (exponent == 31) {
    magnitude = mantissa == 0 ? INFINITY : NAN;
  } else {
    magnitude = std::ldexp(static_cast<float>(mantissa | 0x400u), static_cast<int>(exponent) - 25);
  }
  return sign ? -magnitude : magnitude;
}

float bits_to_float(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

void put_le64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

uint64_t get_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

std::string shape_text(const std::vector<int64_t>& s) {
  std::string t = "[";
  for (size_t i = 0; i < s.size(); ++i) t += (i ? "," : "") + std::to_string(s[i]);
  return t + "]";
}

// A non-negative JSON integer, or an Error naming `what`.
uint64_t json_index(const json& v, const std::string& path, const std::string& what) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0)
    return static_cast<uint64_t>(v.get<int64_t>());
  CRBM_FAIL(path, ": ", what, " must be a non-negative integer, got ", printable(v.dump()));
}

struct Entry {
  std::string name;
  const DtypeInfo* dtype = nullptr;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;
};

class File {
 public:
  explicit File(const std::string& path) : f_(std::fopen(path.c_str(), "rb")) {
    if (f_ == nullptr) {
      const int err = errno;
      CRBM_FAIL("cannot open '", path, "': ", std::strerror(err));
    }
  }
  ~File() { std::fclose(f_); }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  std::FILE* get() const { return f_; }

 private:
  std::FILE* f_;
};

void read_exactly(std::FILE* f, uint64_t offset, void* dst, uint64_t n, const std::string& path) {
  if (n == 0) return;
  if (::fseeko(f, static_cast<off_t>(offset), SEEK_SET) != 0 ||
      std::fread(dst, 1, static_cast<size_t>(n), f) != n) {
    CRBM_FAIL(path, ": read error at byte ", offset, " (", n, " bytes)");
  }
}

}  // namespace

void save_safetensors(const std::string& path, const SafetensorsFile& f) {
  json header = json::object();
  uint64_t offset = 0;
  for (const auto& [name, t] : f.tensors) {
    if (name.empty() || name == "__metadata__") {
      CRBM_FAIL("cannot write '", path, "': invalid tensor name '", name, "'");
    }
    if (HostTensor::count(t.shape) != t.numel()) {
      CRBM_FAIL("cannot write '", path, "': tensor '", name, "' has shape ", t.shape_string(),
                " but ", t.numel(), " elements");
    }
    for (const int64_t d : t.shape) {
      if (d < 0) CRBM_FAIL("cannot write '", path, "': tensor '", name, "' has a negative dim");
    }
    const uint64_t nbytes = static_cast<uint64_t>(t.numel()) * sizeof(float);
    header[name] = {
        {"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
  }
  if (!f.metadata.empty()) header["__metadata__"] = f.metadata;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  uint8_t length[8];
  put_le64(length, text.size());
  write_file_atomically(path, [&](std::FILE* out) {
    bool ok = std::fwrite(length, 1, 8, out) == 8 &&
              std::fwrite(text.data(), 1, text.size(), out) == text.size();
    for (const auto& entry : f.tensors) {
      const std::vector<float>& data = entry.second.data;
      if (ok && !data.empty()) {
        ok = std::fwrite(data.data(), sizeof(float), data.size(), out) == data.size();
      }
    }
    if (!ok) CRBM_FAIL("short write (", std::strerror(errno), ")");
  });
}

SafetensorsFile load_safetensors(const std::string& path) {
  File file(path);
  struct stat st {};
  if (::fstat(::fileno(file.get()), &st) != 0 || !S_ISREG(st.st_mode)) {
    CRBM_FAIL(path, ": not a regular file");
  }
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8) {
    CRBM_FAIL(path, ": not a safetensors file (", file_size,
              " bytes, less than the 8-byte header "
              "length)");
  }
  uint8_t length_bytes[8];
  read_exactly(file.get(), 0, length_bytes, 8, path);
  const uint64_t header_len = get_le64(length_bytes);
  if (header_len > file_size - 8 || header_len > kMaxHeaderBytes || header_len < 2) {
    CRBM_FAIL(path, ": corrupt header length ", header_len, " (file has ", file_size,
              " bytes; the header must fit in it and be under ", kMaxHeaderBytes, " bytes)");
  }
  std::string text(static_cast<size_t>(header_len), '\0');
  read_exactly(file.get(), 8, text.data(), header_len, path);
  json header;
  try {
    header = json::parse(text);
  } catch (const json::exception& e) {
    CRBM_FAIL(path, ": header is not valid JSON: ", printable(e.what()));
  }
  if (!header.is_object()) CRBM_FAIL(path, ": header is not a JSON object");

  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = file_size - data_start;
  SafetensorsFile out;
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) CRBM_FAIL(path, ": __metadata__ is not a JSON object");
      for (const auto& [key, v] : value.items()) {
        if (!v.is_string()) {
          CRBM_FAIL(path, ": __metadata__ value for '", printable(key),
                    "' is not a string: ", printable(v.dump()));
        }
        out.metadata[key] = v.get<std::string>();
      }
      continue;
    }
    const std::string what = "tensor '" + printable(name) + "'";
    if (!value.is_object() || !value.contains("dtype") || !value.contains("shape") ||
        !value.contains("data_offsets")) {
      CRBM_FAIL(path, ": ", what, " needs \"dtype\", \"shape\" and \"data_offsets\", got ",
                printable(value.dump()));
    }
    Entry e;
    e.name = name;
    const json& dtype = value["dtype"];
    if (!dtype.is_string()) {
      CRBM_FAIL(path, ": ", what, " has a non-string dtype ", printable(dtype.dump()));
    }
    e.dtype = find_dtype(dtype.get<std::string>());
    if (e.dtype == nullptr) {
      CRBM_FAIL(path, ": ", what, " has unknown dtype '", printable(dtype.get<std::string>()), "'");
    }
    const json& shape = value["shape"];
    const json& offsets = value["data_offsets"];
    if (!shape.is_array()) {
      CRBM_FAIL(path, ": ", what, " shape is not an array: ", printable(shape.dump()));
    }
    if (!offsets.is_array() || offsets.size() != 2) {
      CRBM_FAIL(path, ": ", what, " data_offsets must be [begin, end], got ",
                printable(offsets.dump()));
    }
    e.begin = json_index(offsets[0], path, what + " data_offsets");
    e.end = json_index(offsets[1], path, what + " data_offsets");
    if (e.begin > e.end || e.end > data_size) {
      CRBM_FAIL(path, ": ", what, " data_offsets [", e.begin, ", ", e.end,
                "] lie outside the data region of ", data_size, " bytes (file truncated?)");
    }
    const uint64_t nbytes = e.end - e.begin;
    uint64_t count = 1;
    for (const json& d : shape) {
      const uint64_t n = json_index(d, path, what + " shape entry");
      if (n != 0 && count > nbytes / n) {
        CRBM_FAIL(path, ": ", what, " shape ", printable(shape.dump()), " does not fit its ",
                  nbytes, " bytes");
      }
      count *= n;
      e.shape.push_back(static_cast<int64_t>(n));
    }
    if (count * static_cast<uint64_t>(e.dtype->itemsize) != nbytes) {
      CRBM_FAIL(path, ": ", what, " has shape ", shape_text(e.shape), " of ", e.dtype->name, " = ",
                count * e.dtype->itemsize, " bytes, but data_offsets span ", nbytes, " bytes");
    }
    entries.push_back(e);
  }
  // Overlapping tensors would alias each other's bytes: reject.
  std::vector<const Entry*> by_offset;
  for (const Entry& e : entries) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const Entry* a, const Entry* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const Entry& prev = *by_offset[i - 1];
    const Entry& cur = *by_offset[i];
    if (cur.begin < prev.end && cur.begin != cur.end) {
      CRBM_FAIL(path, ": tensors '", printable(prev.name), "' [", prev.begin, ", ", prev.end,
                "] and '", printable(cur.name), "' [", cur.begin, ", ", cur.end, "] overlap");
    }
  }
  // The spec: the data region is entirely indexed, without holes; bytes after the
  // last tensor mean a torn or tampered file.
  uint64_t covered = 0;
  for (const Entry* e : by_offset) {
    if (e->begin == e->end) continue;
    if (e->begin != covered) {
      CRBM_FAIL(path, ": bytes ", covered, "..", e->begin,
                " of the data region belong to no tensor", " (before tensor '", printable(e->name),
                "')");
    }
    covered = e->end;
  }
  if (covered != data_size) {
    CRBM_FAIL(path, ": ", data_size - covered, " bytes after the last tensor (the data region has ",
              data_size, " bytes, the tensors ", covered, ")");
  }
  for (const Entry& e : entries) {
    if (!e.dtype->loadable) {
      CRBM_FAIL(path, ": tensor '", printable(e.name), "' has dtype ", e.dtype->name,
                "; only F32, F64, F16 and BF16 tensors can be loaded");
    }
    HostTensor t(e.shape);
    const uint64_t nbytes = e.end - e.begin;
    const std::string dtype = e.dtype->name;
    if (dtype == "F32") {
      read_exactly(file.get(), data_start + e.begin, t.data.data(), nbytes, path);
    } else {
      std::vector<uint8_t> raw(static_cast<size_t>(nbytes));
      read_exactly(file.get(), data_start + e.begin, raw.data(), nbytes, path);
      for (size_t i = 0; i < t.data.size(); ++i) {
        if (dtype == "F64") {
          double v;
          std::memcpy(&v, raw.data() + 8 * i, 8);
          t.data[i] = static_cast<float>(v);
        } else {
          const uint16_t h = static_cast<uint16_t>(raw[2 * i] | (raw[2 * i + 1] << 8));
          t.data[i] = dtype == "F16" ? half_to_float(h) : bits_to_float(uint32_t{h} << 16);
        }
      }
    }
    out.tensors.emplace(e.name, std::move(t));
  }
  return out;
}

const HostTensor& require_tensor(const SafetensorsFile& f, const std::string& name,
                                 const std::vector<int64_t>& expected_shape,
                                 const std::string& path_for_messages) {
  const auto it = f.tensors.find(name);
  if (it == f.tensors.end()) {
    std::string names;
    for (const auto& entry : f.tensors) names += (names.empty() ? "" : ", ") + entry.first;
    CRBM_FAIL(path_for_messages, ": missing tensor '", name,
              "' (has: ", names.empty() ? "no tensors" : printable(names), ")");
  }
  const std::vector<int64_t>& shape = it->second.shape;
  bool match = shape.size() == expected_shape.size();
  for (size_t i = 0; match && i < shape.size(); ++i) {
    match = expected_shape[i] == -1 || expected_shape[i] == shape[i];
  }
  if (!match) {
    CRBM_FAIL(path_for_messages, ": tensor '", name, "' has shape ", shape_text(shape),
              ", expected ", shape_text(expected_shape));
  }
  return it->second;
}

const std::string& require_metadata(const SafetensorsFile& f, const std::string& key,
                                    const std::string& path_for_messages) {
  const auto it = f.metadata.find(key);
  if (it == f.metadata.end()) CRBM_FAIL(path_for_messages, ": missing metadata '", key, "'");
  return it->second;
}

void require_weight_chain(const SafetensorsFile& f, int64_t n, int64_t first_rows,
                          const std::string& bias, std::vector<HostTensor>& weights,
                          std::vector<HostTensor>& biases, const std::string& path_for_messages) {
  int64_t rows = first_rows;
  for (int64_t l = 0; l < n; ++l) {
    const std::string pre = "layer" + std::to_string(l) + ".";
    const HostTensor& w = require_tensor(f, pre + "weights", {rows, -1}, path_for_messages);
    weights.push_back(w);
    biases.push_back(require_tensor(f, pre + bias, {w.shape[1]}, path_for_messages));
    rows = w.shape[1];
  }
}

void require_model(const SafetensorsFile& f, const std::string& kind, const std::string& what,
                   const std::string& path_for_messages) {
  const std::string& model = require_metadata(f, "model", path_for_messages);
  if (model != kind) {
    CRBM_FAIL(path_for_messages, ": holds a '", model, "' model, not ", what);
  }
}

int64_t require_metadata_int(const SafetensorsFile& f, const std::string& key, int64_t min,
                             int64_t max, const std::string& path_for_messages) {
  const std::string& text = require_metadata(f, key, path_for_messages);
  int64_t n = 0;
  try {
    n = std::stoll(text);
  } catch (const std::exception&) {
    CRBM_FAIL(path_for_messages, ": metadata '", key, "' is not a number");
  }
  if (n < min || n > max) {
    CRBM_FAIL(path_for_messages, ": metadata ", key, " = ", n, " (expected ", min, "..", max, ")");
  }
  return n;
}

SafetensorsFile new_checkpoint(const std::string& model,
                               const std::map<std::string, std::string>& extra) {
  SafetensorsFile file;
  file.metadata = extra;
  file.metadata["format"] = "crbm";
  file.metadata["format_version"] = "1";
  file.metadata["model"] = model;
  return file;
}

}  // namespace crbm
