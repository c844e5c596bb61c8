// safetensors checkpoints: byte-exact layout (what Python's safetensors reads),
// round trips with metadata, atomic replacement, and a telling Error for each
// kind of corrupt file. Files are built by hand here so the reader is tested
// against the format, not against our own writer only.
#include "crbm/safetensors.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "crbm/atomic_file.hpp"
#include "support/expect_error.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using crbm::testing::Bytes;

class SafetensorsTest : public crbm::testing::TempDirTest {
 protected:
  // Names in the test directory other than `keep` (leftover temp files).
  std::vector<std::string> other_files(const std::vector<std::string>& keep) const {
    std::vector<std::string> out;
    for (const std::string& name : entries()) {
      if (std::find(keep.begin(), keep.end(), name) == keep.end()) out.push_back(name);
    }
    return out;
  }
};

using crbm::testing::read_bytes;
using crbm::testing::write_bytes;

void put_le64(Bytes& b, uint64_t v) {
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// A safetensors file from a header text and a data region, as the format defines it.
Bytes raw_file(const std::string& header, const Bytes& data) {
  Bytes b;
  put_le64(b, header.size());
  b.insert(b.end(), header.begin(), header.end());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

using crbm::testing::le_bytes;

using crbm::testing::expect_error;

crbm::SafetensorsFile small_model() {
  crbm::SafetensorsFile f;
  crbm::HostTensor w({3, 2});
  for (int i = 0; i < 6; ++i) w.data[i] = 0.25f * i - 0.5f;
  f.tensors["weights"] = w;
  f.tensors["visible_bias"] = crbm::HostTensor({3}, -1.5f);
  f.tensors["hidden_bias"] = crbm::HostTensor({2}, 2.0f);
  f.metadata["model"] = "rbm";
  f.metadata["format_version"] = "1";
  return f;
}

TEST_F(SafetensorsTest, BytesFollowTheFormat) {
  crbm::save_safetensors(path("m.safetensors"), small_model());
  const Bytes b = read_bytes(path("m.safetensors"));
  ASSERT_GE(b.size(), 8u);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | b[i];
  EXPECT_EQ(n % 8, 0u) << "header padded to a multiple of 8";
  ASSERT_LE(8 + n, b.size());
  std::string header(b.begin() + 8, b.begin() + 8 + static_cast<long>(n));
  while (!header.empty() && header.back() == ' ') header.pop_back();
  // Keys sorted, tensors contiguous in that order, F32, metadata string -> string.
  EXPECT_EQ(header,
            "{\"__metadata__\":{\"format_version\":\"1\",\"model\":\"rbm\"},"
            "\"hidden_bias\":{\"data_offsets\":[0,8],\"dtype\":\"F32\",\"shape\":[2]},"
            "\"visible_bias\":{\"data_offsets\":[8,20],\"dtype\":\"F32\",\"shape\":[3]},"
            "\"weights\":{\"data_offsets\":[20,44],\"dtype\":\"F32\",\"shape\":[3,2]}}");
  ASSERT_EQ(b.size(), 8 + n + 44);
  float w5;
  std::memcpy(&w5, b.data() + 8 + n + 20 + 5 * 4, 4);  // little-endian host
  EXPECT_EQ(w5, 0.75f);
  float vb0;
  std::memcpy(&vb0, b.data() + 8 + n + 8, 4);
  EXPECT_EQ(vb0, -1.5f);
}

TEST_F(SafetensorsTest, RoundTripWithMetadata) {
  crbm::SafetensorsFile f = small_model();
  f.tensors["scalar"] = crbm::HostTensor(std::vector<int64_t>{}, 3.0f);
  f.tensors["empty"] = crbm::HostTensor({0, 5});
  f.tensors["layer0.weights"] = crbm::HostTensor({2, 2}, NAN);  // written as is
  f.metadata["config"] = "{\"lr\": 0.05, \"name\": \"caf\xc3\xa9\"}";
  crbm::save_safetensors(path("m.safetensors"), f);
  const crbm::SafetensorsFile g = crbm::load_safetensors(path("m.safetensors"));
  EXPECT_EQ(g.metadata, f.metadata);
  ASSERT_EQ(g.tensors.size(), f.tensors.size());
  for (const auto& [name, t] : f.tensors) {
    const crbm::HostTensor& u = g.tensors.at(name);
    EXPECT_EQ(u.shape, t.shape) << name;
    ASSERT_EQ(u.data.size(), t.data.size()) << name;
    for (size_t i = 0; i < t.data.size(); ++i) {
      EXPECT_TRUE(u.data[i] == t.data[i] || (std::isnan(u.data[i]) && std::isnan(t.data[i])));
    }
  }
  // No metadata: no "__metadata__" key.
  crbm::SafetensorsFile bare;
  bare.tensors["x"] = crbm::HostTensor({1}, 1.0f);
  crbm::save_safetensors(path("bare.safetensors"), bare);
  const Bytes b = read_bytes(path("bare.safetensors"));
  EXPECT_EQ(std::string(b.begin() + 8, b.end()).find("__metadata__"), std::string::npos);
  EXPECT_TRUE(crbm::load_safetensors(path("bare.safetensors")).metadata.empty());
}

TEST_F(SafetensorsTest, ConvertsF64F16BF16) {
  Bytes data = le_bytes<double>({0.5, -2.0});
  const Bytes halves = le_bytes<uint16_t>({0x3C00, 0xC000, 0x3555, 0x0001});  // 1, -2, ~1/3, 2^-24
  const Bytes bf = le_bytes<uint16_t>({0x3F80, 0x4049});                      // 1, ~3.14
  data.insert(data.end(), halves.begin(), halves.end());
  data.insert(data.end(), bf.begin(), bf.end());
  const std::string header =
      "{\"a\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]},"
      "\"h\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[16,24]},"
      "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[24,28]}}";
  write_bytes(path("c.safetensors"), raw_file(header, data));
  const crbm::SafetensorsFile f = crbm::load_safetensors(path("c.safetensors"));
  EXPECT_EQ(f.tensors.at("a").data, (std::vector<float>{0.5f, -2.0f}));
  const std::vector<float>& h = f.tensors.at("h").data;
  EXPECT_EQ(h[0], 1.0f);
  EXPECT_EQ(h[1], -2.0f);
  EXPECT_NEAR(h[2], 1.0f / 3.0f, 1e-3);
  EXPECT_EQ(h[3], std::ldexp(1.0f, -24));
  EXPECT_EQ(f.tensors.at("b").data[0], 1.0f);
  EXPECT_NEAR(f.tensors.at("b").data[1], 3.140625f, 1e-6);
}

TEST_F(SafetensorsTest, AtomicReplaceAndFailure) {
  const std::string target = path("m.safetensors");
  crbm::save_safetensors(target, small_model());
  const Bytes before = read_bytes(target);
  // Overwriting works and leaves no temp files.
  crbm::SafetensorsFile f = small_model();
  f.metadata["model"] = "rbm2";
  crbm::save_safetensors(target, f);
  EXPECT_EQ(crbm::load_safetensors(target).metadata.at("model"), "rbm2");
  EXPECT_TRUE(other_files({"m.safetensors"}).empty());
  crbm::save_safetensors(target, small_model());
  ASSERT_EQ(read_bytes(target), before);

  // A writer that fails half way: the old file is untouched, the temp file gone.
  expect_error(
      [&] {
        crbm::write_file_atomically(target, [](std::FILE* out) {
          std::fputs("partial", out);
          throw crbm::Error("disk on fire");
        });
      },
      {target, "disk on fire"});
  EXPECT_EQ(read_bytes(target), before);
  EXPECT_TRUE(other_files({"m.safetensors"}).empty());

  // The target is a directory: rename fails, nothing is left behind.
  fs::create_directories(path("adir"));
  expect_error([&] { crbm::save_safetensors(path("adir"), small_model()); },
               {"cannot write '" + path("adir").string() + "'"});
  EXPECT_TRUE(fs::is_directory(path("adir")));
  EXPECT_TRUE(other_files({"m.safetensors", "adir"}).empty());

  // The directory does not exist.
  expect_error([&] { crbm::save_safetensors(path("missing/m.safetensors"), small_model()); },
               {path("missing/m.safetensors"), "No such file or directory"});

  // Invalid tensors are refused before anything is written.
  crbm::SafetensorsFile bad;
  bad.tensors["w"].shape = {2, 2};
  bad.tensors["w"].data = {1.0f};
  expect_error([&] { crbm::save_safetensors(target, bad); }, {target, "'w'"});
  EXPECT_EQ(read_bytes(target), before);
}

TEST_F(SafetensorsTest, CorruptFilesFailWithTellingMessages) {
  const std::string p = path("bad.safetensors");
  const Bytes data = le_bytes<float>({1, 2, 3, 4});
  const std::string good = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}";
  write_bytes(p, raw_file(good, data));
  ASSERT_EQ(crbm::load_safetensors(p).tensors.at("w").data, (std::vector<float>{1, 2, 3, 4}));

  auto check = [&](const Bytes& file, const std::vector<std::string>& fragments) {
    write_bytes(p, file);
    std::vector<std::string> all = {p + ": "};
    all.insert(all.end(), fragments.begin(), fragments.end());
    expect_error([&] { crbm::load_safetensors(p); }, all);
  };
  check({1, 2, 3}, {"8-byte"});
  Bytes huge_length;
  put_le64(huge_length, 1ull << 40);
  huge_length.insert(huge_length.end(), 100, ' ');
  check(huge_length, {"header length"});
  check(raw_file("{\"w\": [1, 2", data), {"not valid JSON"});
  check(raw_file("[1, 2, 3]", data), {"not a JSON object"});
  check(raw_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,160]}}", data),
        {"'w'", "data_offsets [0, 160]", "16 bytes"});
  Bytes truncated = raw_file(good, data);
  truncated.resize(truncated.size() - 4);
  check(truncated, {"'w'", "data region of 12 bytes", "truncated"});
  check(raw_file("{\"w\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", data),
        {"'w'", "dtype I32"});
  check(raw_file("{\"w\":{\"dtype\":\"Q7\",\"shape\":[4],\"data_offsets\":[0,16]}}", data),
        {"'w'", "unknown dtype 'Q7'"});
  check(raw_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[0,16]}}", data),
        {"'w'", "[3,2]", "24 bytes", "16 bytes"});
  check(raw_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
                 "\"data_offsets\":[0,16]}}",
                 data),
        {"'w'", "does not fit"});
  check(raw_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,-2],\"data_offsets\":[0,16]}}", data),
        {"non-negative"});
  check(raw_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2]}}", data), {"'w'", "data_offsets"});
  check(raw_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},"
                 "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
                 data),
        {"overlap"});
  check(raw_file("{\"__metadata__\":{\"epochs\":5}}", data), {"__metadata__", "'epochs'"});
  expect_error(
      [&] { crbm::load_safetensors(path("none.safetensors")); },
      {"cannot open '" + path("none.safetensors").string() + "': No such file or directory"});
}

TEST(RequireTensor, Messages) {
  crbm::SafetensorsFile f;
  f.tensors["a"] = crbm::HostTensor({3, 4});
  f.tensors["b"] = crbm::HostTensor({2});
  f.tensors["c"] = crbm::HostTensor({1});
  f.metadata["kind"] = "rbm";
  EXPECT_EQ(&crbm::require_tensor(f, "a", {3, 4}, "m.st"), &f.tensors.at("a"));
  EXPECT_NO_THROW(crbm::require_tensor(f, "a", {-1, 4}, "m.st"));
  expect_error(
      [&] {
        crbm::require_tensor(f, "weights", {3, 4}, "m.st");
      },
      {"m.st: missing tensor 'weights' (has: a, b, c)"});
  expect_error(
      [&] {
        crbm::require_tensor(f, "a", {3, 5}, "m.st");
      },
      {"m.st: tensor 'a' has shape [3,4], expected [3,5]"});
  expect_error([&] { crbm::require_tensor(f, "a", {12}, "m.st"); }, {"expected [12]"});
  EXPECT_EQ(crbm::require_metadata(f, "kind", "m.st"), "rbm");
  expect_error([&] { crbm::require_metadata(f, "units", "m.st"); },
               {"m.st: missing metadata 'units'"});
}

}  // namespace
