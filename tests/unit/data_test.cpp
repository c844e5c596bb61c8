// Data readers and preprocessing: IDX (raw and gzip, hand-built here), .npy,
// .amat, the builtin sets, binarization, standardization, hold-out split, and the
// error messages for missing, truncated and malformed files.
#include "crbm/data.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "crbm/atomic_file.hpp"
#include "philox.cuh"
#include "support/expect_error.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using crbm::testing::Bytes;

// A per-test directory under the system temp dir.
class DataTest : public crbm::testing::TempDirTest {};

using crbm::testing::write_bytes;
using crbm::testing::write_file;

void put_be32(Bytes& b, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<uint8_t>(v >> shift));
}

Bytes idx_file(uint8_t type, const std::vector<uint32_t>& dims, const Bytes& payload) {
  Bytes b = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (const uint32_t d : dims) put_be32(b, d);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

uint32_t crc32(const Bytes& data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (const uint8_t byte : data) {
    crc ^= byte;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

// gzip (RFC 1952) with "stored" deflate blocks (RFC 1951, BTYPE=00): a valid
// gzip stream built without zlib, so the reader is checked against the spec.
Bytes gzip_stored(const Bytes& data) {
  Bytes out = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
  size_t pos = 0;
  do {
    const size_t len = std::min<size_t>(65535, data.size() - pos);
    const bool last = pos + len == data.size();
    out.push_back(last ? 1 : 0);
    out.push_back(static_cast<uint8_t>(len));
    out.push_back(static_cast<uint8_t>(len >> 8));
    out.push_back(static_cast<uint8_t>(~len));
    out.push_back(static_cast<uint8_t>(~len >> 8));
    out.insert(out.end(), data.begin() + pos, data.begin() + pos + len);
    pos += len;
  } while (pos < data.size());
  const uint32_t crc = crc32(data), size = static_cast<uint32_t>(data.size());
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(crc >> (8 * i)));
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(size >> (8 * i)));
  return out;
}

using crbm::testing::expect_error;

// .npy v1 with a hand-written header (no padding rules needed by readers).
Bytes npy_file(const std::string& dict, const Bytes& payload, int version = 1) {
  Bytes b = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<uint8_t>(version), 0};
  const std::string header = dict + "\n";
  const size_t n = header.size();
  b.push_back(static_cast<uint8_t>(n));
  b.push_back(static_cast<uint8_t>(n >> 8));
  if (version >= 2) {
    b.push_back(static_cast<uint8_t>(n >> 16));
    b.push_back(static_cast<uint8_t>(n >> 24));
  }
  b.insert(b.end(), header.begin(), header.end());
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

using crbm::testing::le_bytes;

const Bytes kPixels = {0, 255, 128, 1, 2, 3, 4, 5, 6, 7, 8, 9};  // 3 images of 2 x 2

// kPixels loaded as a dataset (from any format): 3 one-channel 2 x 2 images scaled to [0, 1].
void expect_pixel_images(const crbm::Dataset& d) {
  EXPECT_EQ(d.size(), 3);
  EXPECT_EQ(d.dim(), 4);
  EXPECT_EQ(d.channels, 1);
  EXPECT_EQ(d.height, 2);
  EXPECT_EQ(d.width, 2);
  EXPECT_FLOAT_EQ(d.x.data[1], 1.0f);
  EXPECT_FLOAT_EQ(d.x.data[2], 128.0f / 255.0f);
}

// ---------------- IDX ----------------

TEST_F(DataTest, IdxRawUint8) {
  write_bytes(path("a-ubyte"), idx_file(0x08, {3, 2, 2}, kPixels));
  std::string dtype;
  const crbm::HostTensor t = crbm::read_idx(path("a-ubyte"), &dtype);
  EXPECT_EQ(t.shape, (std::vector<int64_t>{3, 2, 2}));
  EXPECT_EQ(dtype, "u1");
  for (size_t i = 0; i < kPixels.size(); ++i) EXPECT_EQ(t.data[i], kPixels[i]);
}

TEST_F(DataTest, IdxGzipAndDataset) {
  write_bytes(path("a-ubyte.gz"), gzip_stored(idx_file(0x08, {3, 2, 2}, kPixels)));
  const crbm::HostTensor t = crbm::read_idx(path("a-ubyte.gz"));
  ASSERT_EQ(t.numel(), 12);
  EXPECT_EQ(t.data[1], 255.0f);
  const crbm::Dataset d = crbm::load_dataset("idx:" + path("a-ubyte.gz").string());
  expect_pixel_images(d);
  // Without a prefix the format comes from the name.
  EXPECT_EQ(crbm::load_dataset(path("a-ubyte.gz")).x.data, d.x.data);
}

TEST_F(DataTest, IdxLargeGzipManyBlocks) {
  Bytes payload(200000);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 7);
  write_bytes(path("big.gz"), gzip_stored(idx_file(0x08, {200, 1000}, payload)));
  const crbm::HostTensor t = crbm::read_idx(path("big.gz"));
  ASSERT_EQ(t.numel(), 200000);
  EXPECT_EQ(t.data[123457], static_cast<uint8_t>(123457 * 7));
}

TEST_F(DataTest, IdxFloatInt32AndInt16) {
  Bytes f;
  for (const float v : {1.5f, -2.25f}) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    put_be32(f, bits);
  }
  write_bytes(path("f"), idx_file(0x0D, {2}, f));
  EXPECT_EQ(crbm::read_idx(path("f")).data, (std::vector<float>{1.5f, -2.25f}));
  Bytes i;
  put_be32(i, static_cast<uint32_t>(-7));
  put_be32(i, 100000);
  write_bytes(path("i"), idx_file(0x0C, {1, 2}, i));
  EXPECT_EQ(crbm::read_idx(path("i")).data, (std::vector<float>{-7.0f, 100000.0f}));
  write_bytes(path("s"), idx_file(0x0B, {1}, {0xFF, 0xFE}));
  EXPECT_EQ(crbm::read_idx(path("s")).data, (std::vector<float>{-2.0f}));
}

TEST_F(DataTest, IdxTruncated) {
  write_bytes(path("t"), idx_file(0x08, {3, 2, 2}, {1, 2, 3, 4, 5}));
  expect_error([&] { crbm::read_idx(path("t")); },
               {path("t"), "truncated", "3 x 2 x 2 = 12 bytes", "file has 5"});
  write_bytes(path("h"), {0, 0, 8, 3, 0, 0});  // header itself cut short
  expect_error([&] { crbm::read_idx(path("h")); }, {path("h"), "truncated"});
}

TEST_F(DataTest, IdxTruncatedGzipStream) {
  Bytes gz = gzip_stored(idx_file(0x08, {3, 2, 2}, kPixels));
  gz.resize(gz.size() - 14);  // cut into the data and drop the trailer
  write_bytes(path("t.gz"), gz);
  expect_error([&] { crbm::read_idx(path("t.gz")); }, {path("t.gz")});
}

TEST_F(DataTest, IdxWrongMagic) {
  write_bytes(path("m"), {0x12, 0x34, 0x08, 0x01, 0, 0, 0, 1, 5});
  expect_error([&] { crbm::read_idx(path("m")); },
               {path("m"), "not an IDX file", "magic 0x12340801"});
  write_bytes(path("ty"), idx_file(0x07, {1}, {5}));
  expect_error([&] { crbm::read_idx(path("ty")); }, {path("ty"), "element type"});
}

TEST_F(DataTest, IdxMissingFile) {
  expect_error([&] { crbm::read_idx(path("nope")); },
               {"cannot open '" + path("nope").string() + "': No such file or directory"});
}

TEST_F(DataTest, IdxHugeDimsFailCleanly) {
  const Bytes huge = idx_file(0x08, {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, {1, 2, 3});
  write_bytes(path("huge"), huge);
  expect_error([&] { crbm::read_idx(path("huge")); }, {path("huge"), "truncated"});
  write_bytes(path("huge.gz"), gzip_stored(huge));
  expect_error([&] { crbm::read_idx(path("huge.gz")); }, {path("huge.gz"), "truncated"});
  write_bytes(path("tera"), idx_file(0x0D, {1000000, 1000000}, {}));
  expect_error([&] { crbm::read_idx(path("tera")); }, {"truncated"});
}

TEST_F(DataTest, MnistDirectory) {
  const std::string dir = path("mnist");
  fs::create_directories(dir);
  write_bytes(dir + "/t10k-images-idx3-ubyte.gz", gzip_stored(idx_file(0x08, {3, 2, 2}, kPixels)));
  write_bytes(dir + "/t10k-labels-idx1-ubyte", idx_file(0x08, {3}, {7, 0, 3}));
  const crbm::Dataset d = crbm::load_dataset("mnist:" + dir + ":test");
  EXPECT_EQ(d.source, "mnist:" + dir + ":test");
  EXPECT_EQ(d.size(), 3);
  EXPECT_EQ(d.dim(), 4);
  EXPECT_EQ(d.labels, (std::vector<int32_t>{7, 0, 3}));
  EXPECT_EQ(d.num_classes, 8);
  EXPECT_FLOAT_EQ(d.x.data[1], 1.0f);
  // The training split is absent: the message names the file looked for.
  expect_error([&] { crbm::load_dataset("mnist:" + dir); }, {"train-images-idx3-ubyte"});
}

TEST_F(DataTest, MnistLabelCountMismatch) {
  const std::string dir = path("mnist");
  fs::create_directories(dir);
  write_bytes(dir + "/train-images-idx3-ubyte", idx_file(0x08, {3, 2, 2}, kPixels));
  write_bytes(dir + "/train-labels-idx1-ubyte", idx_file(0x08, {2}, {1, 2}));
  expect_error([&] { crbm::load_dataset("mnist:" + dir + ":train"); },
               {"3 images", "2 labels", "train-labels-idx1-ubyte"});
}

// ---------------- NPY ----------------

TEST_F(DataTest, NpyFloatRoundTrip) {
  crbm::HostTensor t({2, 3});
  for (int i = 0; i < 6; ++i) t.data[i] = 0.5f * i - 1.0f;
  crbm::write_npy(path("a.npy"), t);
  // Version 1 header, data aligned to 64 bytes as NumPy writes it.
  std::ifstream in(path("a.npy"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 10u);
  EXPECT_EQ(bytes.substr(1, 5), "NUMPY");
  EXPECT_EQ(bytes[6], 1);
  const size_t header_len = static_cast<uint8_t>(bytes[8]) | (static_cast<uint8_t>(bytes[9]) << 8);
  EXPECT_EQ((10 + header_len) % 64, 0u);
  EXPECT_NE(bytes.find("'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"),
            std::string::npos);
  EXPECT_EQ(bytes.size(), 10 + header_len + 24);
  std::string dtype;
  const crbm::HostTensor back = crbm::read_npy(path("a.npy"), &dtype);
  EXPECT_EQ(dtype, "f4");
  EXPECT_EQ(back.shape, t.shape);
  EXPECT_EQ(back.data, t.data);
  // 1-D shapes are written as "(n,)".
  crbm::write_npy(path("v.npy"), crbm::HostTensor({4}, 2.0f));
  EXPECT_EQ(crbm::read_npy(path("v.npy")).shape, (std::vector<int64_t>{4}));
}

TEST_F(DataTest, NpyUint8RoundTripAndScaling) {
  crbm::write_npy_u8(path("u.npy"), kPixels, {3, 2, 2});
  std::string dtype;
  const crbm::HostTensor t = crbm::read_npy(path("u.npy"), &dtype);
  EXPECT_EQ(dtype, "u1");
  EXPECT_EQ(t.shape, (std::vector<int64_t>{3, 2, 2}));
  EXPECT_EQ(t.data[1], 255.0f);
  expect_pixel_images(crbm::load_dataset("npy:" + path("u.npy").string()));
  crbm::write_npy_u8(path("c.npy"), kPixels, {1, 3, 2, 2});
  const crbm::Dataset c = crbm::load_dataset(path("c.npy"));
  EXPECT_EQ(c.channels, 3);
  EXPECT_EQ(c.dim(), 12);
  EXPECT_THROW(crbm::write_npy_u8(path("bad.npy"), kPixels, {5}), crbm::Error);
}

TEST_F(DataTest, NpyOtherDtypesAndVersions) {
  write_bytes(path("f8.npy"), npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
                                       le_bytes<double>({0.25, -3.0})));
  EXPECT_EQ(crbm::read_npy(path("f8.npy")).data, (std::vector<float>{0.25f, -3.0f}));
  write_bytes(path("i4.npy"),
              npy_file("{'descr': '<i4', 'fortran_order': False, 'shape': (1, 2), }",
                       le_bytes<int32_t>({-5, 9})));
  EXPECT_EQ(crbm::read_npy(path("i4.npy")).data, (std::vector<float>{-5.0f, 9.0f}));
  write_bytes(path("i8.npy"),
              npy_file("{\"descr\": \"<i8\", \"fortran_order\": False, \"shape\": (2,)}",
                       le_bytes<int64_t>({1LL << 40, 3}), 2));
  EXPECT_EQ(crbm::read_npy(path("i8.npy")).data,
            (std::vector<float>{static_cast<float>(1LL << 40), 3.0f}));
  write_bytes(path("v3.npy"), npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (), }",
                                       le_bytes<float>({7.0f}), 3));
  const crbm::HostTensor scalar = crbm::read_npy(path("v3.npy"));
  EXPECT_TRUE(scalar.shape.empty());
  EXPECT_EQ(scalar.data, (std::vector<float>{7.0f}));
}

TEST_F(DataTest, NpyErrors) {
  write_bytes(path("f.npy"), npy_file("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
                                      le_bytes<float>({1, 2, 3, 4})));
  expect_error([&] { crbm::read_npy(path("f.npy")); }, {path("f.npy"), "Fortran"});
  write_bytes(path("c.npy"),
              npy_file("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", Bytes(8, 0)));
  expect_error([&] { crbm::read_npy(path("c.npy")); }, {path("c.npy"), "dtype '<c8'"});
  write_bytes(path("be.npy"),
              npy_file("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", Bytes(4, 0)));
  expect_error([&] { crbm::read_npy(path("be.npy")); }, {"dtype '>f4'"});
  write_bytes(path("t.npy"), npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }",
                                      le_bytes<float>({1, 2, 3})));
  expect_error([&] { crbm::read_npy(path("t.npy")); },
               {path("t.npy"), "truncated", "12 data bytes"});
  write_bytes(path("h.npy"),
              npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000, "
                       "100000000000, 100000000000), }",
                       {}));
  expect_error([&] { crbm::read_npy(path("h.npy")); }, {"truncated"});
  write_bytes(path("m.npy"), {'n', 'o', 't', ' ', 'n', 'p', 'y', 0, 0, 0, 0});
  expect_error([&] { crbm::read_npy(path("m.npy")); }, {path("m.npy"), "not a .npy"});
  Bytes cut = npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", {});
  cut.resize(20);
  write_bytes(path("cut.npy"), cut);
  expect_error([&] { crbm::read_npy(path("cut.npy")); }, {"truncated"});
}

TEST_F(DataTest, NanInDataNamesRowAndColumn) {
  crbm::HostTensor t({3, 4}, 0.5f);
  t.data[1 * 4 + 2] = std::numeric_limits<float>::quiet_NaN();
  crbm::write_npy(path("nan.npy"), t);
  expect_error([&] { crbm::load_dataset("npy:" + path("nan.npy").string()); },
               {"npy:" + path("nan.npy").string(), "element 6 (row 1, column 2) is NaN"});
  t.data[6] = 0.0f;
  t.data[11] = -std::numeric_limits<float>::infinity();
  crbm::write_npy(path("inf.npy"), t);
  expect_error([&] { crbm::load_dataset("npy:" + path("inf.npy").string()); },
               {"(row 2, column 3) is Inf"});
}

// ---------------- amat ----------------

TEST_F(DataTest, AmatText) {
  std::string text;
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 784; ++c)
      text += ((r + c) % 3 == 0 ? "1" : "0") + std::string(c < 783 ? " " : "");
    text += "\n";
  }
  write_file(path("a.amat"), text);
  const crbm::Dataset d = crbm::load_dataset("amat:" + path("a.amat").string());
  EXPECT_EQ(d.size(), 3);
  EXPECT_EQ(d.dim(), 784);
  EXPECT_EQ(d.height, 28);
  EXPECT_EQ(d.width, 28);
  EXPECT_EQ(d.x.data[785], 0.0f);  // row 1, column 1: (1 + 1) % 3 != 0
  EXPECT_EQ(d.x.data[784 + 2], 1.0f);
  write_bytes(path("a.amat.gz"), gzip_stored(Bytes(text.begin(), text.end())));
  EXPECT_EQ(crbm::load_dataset(path("a.amat.gz")).x.data, d.x.data);
  write_file(path("bad.amat"), "0 1 0.5\n1 0\n");
  expect_error([&] { crbm::load_dataset("amat:" + path("bad.amat").string()); },
               {path("bad.amat"), "line 2 has 2 values, expected 3"});
  write_file(path("junk.amat"), "0 x 1\n");
  expect_error([&] { crbm::load_dataset("amat:" + path("junk.amat").string()); }, {"cannot parse"});
}

// ---------------- preprocessing ----------------

TEST(Binarize, ParseAndThreshold) {
  EXPECT_EQ(crbm::parse_binarize("none"), crbm::Binarize::none);
  EXPECT_EQ(crbm::parse_binarize("threshold"), crbm::Binarize::threshold);
  EXPECT_EQ(crbm::parse_binarize("stochastic"), crbm::Binarize::stochastic);
  expect_error([] { crbm::parse_binarize("random"); },
               {"'random'", "none", "threshold", "stochastic"});
  crbm::HostTensor x({1, 5});
  x.data = {0.0f, 0.5f, 0.50001f, 0.9f, -1.0f};
  crbm::binarize_threshold(x);
  EXPECT_EQ(x.data, (std::vector<float>{0, 0, 1, 1, 0}));
  x.data = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f};
  crbm::binarize_threshold(x, 0.25f);
  EXPECT_EQ(x.data, (std::vector<float>{0, 0, 1, 1, 1}));
}

TEST(Binarize, StochasticMeanAndDeterminism) {
  const int64_t n = 200000;
  const float p = 0.3f;
  crbm::HostTensor a({n / 100, 100}, p), b = a, c = a;
  crbm::binarize_stochastic(a, 42);
  crbm::binarize_stochastic(b, 42);
  crbm::binarize_stochastic(c, 43);
  EXPECT_EQ(a.data, b.data);
  EXPECT_NE(a.data, c.data);
  double sum = 0;
  for (const float v : a.data) {
    ASSERT_TRUE(v == 0.0f || v == 1.0f);
    sum += v;
  }
  const double sd = std::sqrt(p * (1 - p) / n);
  EXPECT_NEAR(sum / n, p, 5 * sd);
  // The documented convention: u_i = philox::uniform(seed, 0x5eed, 0, i).
  for (const uint64_t i : {0ull, 1ull, 4ull, 12345ull}) {
    const float u = crbm::philox::uniform(42, 0x5eed, 0, i);
    EXPECT_EQ(a.data[i], u < p ? 1.0f : 0.0f);
  }
  // Probabilities 0 and 1 are deterministic.
  crbm::HostTensor edge({1, 2});
  edge.data = {0.0f, 1.0f};
  crbm::binarize_stochastic(edge, 7);
  EXPECT_EQ(edge.data, (std::vector<float>{0.0f, 1.0f}));
}

TEST(Standardize, ColumnsHaveZeroMeanUnitStd) {
  crbm::HostTensor x({4, 3});
  x.data = {1, 10, 5, 2, 20, 5, 3, 30, 5, 4, 40, 5};
  const crbm::Standardization s = crbm::standardize(x, 1e-3f);
  EXPECT_FLOAT_EQ(s.mean[0], 2.5f);
  EXPECT_FLOAT_EQ(s.mean[1], 25.0f);
  EXPECT_NEAR(s.stddev[0], std::sqrt(1.25f), 1e-6);
  EXPECT_FLOAT_EQ(s.stddev[2], 1e-3f);  // constant column: floored
  for (int c = 0; c < 3; ++c) {
    double m = 0, v = 0;
    for (int r = 0; r < 4; ++r) m += x.data[r * 3 + c] / 4.0;
    for (int r = 0; r < 4; ++r) v += std::pow(x.data[r * 3 + c] - m, 2) / 4.0;
    EXPECT_NEAR(m, 0.0, 1e-6);
    if (c < 2) {
      EXPECT_NEAR(v, 1.0, 1e-5);
    }
  }
  crbm::HostTensor y({1, 3});
  y.data = {2.5f, 25.0f, 5.0f};
  crbm::apply_standardization(y, s);
  EXPECT_EQ(y.data, (std::vector<float>{0, 0, 0}));
}

// ---------------- builtin datasets ----------------

// True when the n x n pattern has constant rows or constant columns.
bool is_bars_or_stripes(const float* p, int n) {
  bool rows_constant = true, cols_constant = true;
  for (int r = 0; r < n; ++r) {
    for (int c = 0; c < n; ++c) {
      if (p[r * n + c] != p[r * n]) rows_constant = false;
      if (p[r * n + c] != p[c]) cols_constant = false;
    }
  }
  return rows_constant || cols_constant;
}

void check_bars(const std::string& spec, int n, int64_t patterns) {
  const crbm::Dataset d = crbm::load_dataset(spec);
  ASSERT_EQ(d.size(), patterns * 20) << spec;
  ASSERT_EQ(d.dim(), n * n);
  EXPECT_EQ(d.height, n);
  EXPECT_EQ(d.width, n);
  EXPECT_TRUE(d.labels.empty());
  std::set<std::vector<float>> distinct;
  for (int64_t r = 0; r < d.size(); ++r) {
    const float* row = d.x.data.data() + r * n * n;
    for (int i = 0; i < n * n; ++i) ASSERT_TRUE(row[i] == 0.0f || row[i] == 1.0f);
    ASSERT_TRUE(is_bars_or_stripes(row, n)) << spec << " row " << r;
    distinct.emplace(row, row + n * n);
  }
  EXPECT_EQ(static_cast<int64_t>(distinct.size()), patterns) << spec;
  EXPECT_EQ(crbm::load_dataset(spec).x.data, d.x.data) << "not deterministic";
}

TEST(Builtin, Bars) {
  check_bars("builtin:bars", 4, 30);
  check_bars("builtin:bars3", 3, 14);
  check_bars("builtin:bars6", 6, 126);
  const crbm::Dataset a = crbm::load_dataset(""), b = crbm::load_dataset("builtin:");
  EXPECT_EQ(a.size(), 600);
  EXPECT_EQ(a.source, "builtin:bars");
  EXPECT_EQ(a.x.data, b.x.data);
  // Shuffled: the first rows are not all one pattern.
  std::set<std::vector<float>> first;
  for (int r = 0; r < 30; ++r)
    first.emplace(a.x.data.begin() + r * 16, a.x.data.begin() + r * 16 + 16);
  EXPECT_GT(first.size(), 10u);
}

TEST(Builtin, Blobs) {
  const crbm::Dataset d = crbm::load_dataset("builtin:blobs");
  ASSERT_EQ(d.size(), 1000);
  ASSERT_EQ(d.dim(), 8);
  EXPECT_EQ(d.height, 0);
  EXPECT_EQ(d.num_classes, 4);
  ASSERT_EQ(d.labels.size(), 1000u);
  std::vector<double> mean(32, 0.0);
  std::vector<int> count(4, 0);
  for (int64_t r = 0; r < 1000; ++r) {
    const int k = d.labels[r];
    ++count[k];
    for (int c = 0; c < 8; ++c) {
      ASSERT_TRUE(std::isfinite(d.x.data[r * 8 + c]));
      mean[k * 8 + c] += d.x.data[r * 8 + c];
    }
  }
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(count[k], 250);
    for (int c = 0; c < 8; ++c) {
      EXPECT_NEAR(mean[k * 8 + c] / count[k], c / 2 == k ? 3.0 : 0.0, 0.35) << k << "," << c;
    }
  }
  EXPECT_EQ(crbm::load_dataset("builtin:blobs").x.data, d.x.data);
}

TEST(Builtin, UnknownNameAndSpecs) {
  expect_error([] { crbm::load_dataset("builtin:stripes"); }, {"'stripes'", "bars3", "blobs"});
  expect_error([] { crbm::load_dataset("no-such-thing"); }, {"'no-such-thing'", "builtin:NAME"});
  expect_error([] { crbm::load_dataset("/nonexistent/x.npy"); },
               {"cannot open '/nonexistent/x.npy'"});
}

TEST(LoadOptions, LimitAndBinarize) {
  crbm::LoadOptions opt;
  opt.limit = 10;
  const crbm::Dataset d = crbm::load_dataset("builtin:blobs", opt);
  EXPECT_EQ(d.size(), 10);
  EXPECT_EQ(d.labels.size(), 10u);
  const crbm::Dataset all = crbm::load_dataset("builtin:blobs");
  EXPECT_EQ(d.x.data, std::vector<float>(all.x.data.begin(), all.x.data.begin() + 80));
  opt.binarize = crbm::Binarize::threshold;
  for (const float v : crbm::load_dataset("builtin:blobs", opt).x.data) {
    EXPECT_TRUE(v == 0.0f || v == 1.0f);
  }
}

TEST(SplitHoldout, MovesAFractionOfRows) {
  crbm::Dataset d = crbm::load_dataset("builtin:blobs");
  const crbm::Dataset original = d;
  const crbm::Dataset held = crbm::split_holdout(d, 0.1, 5);
  EXPECT_EQ(held.size(), 100);
  EXPECT_EQ(d.size(), 900);
  EXPECT_EQ(held.labels.size(), 100u);
  EXPECT_EQ(d.labels.size(), 900u);
  EXPECT_EQ(held.num_classes, 4);
  // Every original row ends up in exactly one part.
  std::multiset<std::vector<float>> all, parts;
  for (int64_t r = 0; r < 1000; ++r) {
    all.emplace(original.x.data.begin() + r * 8, original.x.data.begin() + r * 8 + 8);
  }
  for (const crbm::Dataset* p : {static_cast<const crbm::Dataset*>(&d), &held}) {
    for (int64_t r = 0; r < p->size(); ++r) {
      parts.emplace(p->x.data.begin() + r * 8, p->x.data.begin() + r * 8 + 8);
    }
  }
  EXPECT_EQ(all, parts);
  // Deterministic for a seed, different for another.
  crbm::Dataset again = original, other = original;
  EXPECT_EQ(crbm::split_holdout(again, 0.1, 5).x.data, held.x.data);
  EXPECT_NE(crbm::split_holdout(other, 0.1, 6).x.data, held.x.data);
  // A tiny fraction still holds out one row; bad fractions throw.
  crbm::Dataset small = crbm::load_dataset("builtin:bars");
  EXPECT_EQ(crbm::split_holdout(small, 1e-9, 1).size(), 1);
  EXPECT_EQ(small.size(), 599);
  EXPECT_THROW(crbm::split_holdout(small, 1.0, 1), crbm::Error);
  EXPECT_THROW(crbm::split_holdout(small, -0.5, 1), crbm::Error);
}

// ---------------- uint8 rows (LoadOptions::keep_bytes) ----------------

// 7 images of 3 x 3 with every kind of byte (0, 255, the 0.5 threshold's neighbours).
Bytes byte_pixels() {
  Bytes b;
  for (int i = 0; i < 63; ++i) b.push_back(static_cast<uint8_t>((i * 37 + 11) % 256));
  b[0] = 0;
  b[1] = 255;
  b[2] = 127;
  b[3] = 128;
  return b;
}

TEST_F(DataTest, BytesGiveTheFloatPathsValues) {
  write_bytes(path("b-ubyte.gz"), gzip_stored(idx_file(0x08, {7, 3, 3}, byte_pixels())));
  crbm::LoadOptions opt;
  const crbm::Dataset f = crbm::load_dataset("idx:" + path("b-ubyte.gz").string(), opt);
  opt.keep_bytes = true;
  const crbm::Dataset b = crbm::load_dataset("idx:" + path("b-ubyte.gz").string(), opt);
  ASSERT_TRUE(b.stored_as_bytes());
  EXPECT_TRUE(b.x.data.empty());
  EXPECT_EQ(b.bytes.data, byte_pixels());
  EXPECT_EQ(b.size(), 7);
  EXPECT_EQ(b.dim(), 9);
  EXPECT_EQ(b.height, 3);
  EXPECT_EQ(b.width, 3);
  EXPECT_EQ(b.bytes.to_float().data, f.x.data);  // the very same floats
  EXPECT_EQ(b.bytes.to_float(2, 3).data,
            std::vector<float>(f.x.data.begin() + 18, f.x.data.begin() + 45));
  // A shuffled minibatch and the column means.
  const std::vector<int32_t> index = {6, 0, 3, 3};
  std::vector<float> batch(3 * 9);
  b.bytes.rows_to_float(index, 1, 3, batch.data());
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 9; ++c) EXPECT_EQ(batch[r * 9 + c], f.x.data[index[1 + r] * 9 + c]);
  }
  EXPECT_THROW(b.bytes.rows_to_float({7}, 0, 1, batch.data()), crbm::Error);
  EXPECT_THROW(b.bytes.rows_to_float(index, 2, 3, batch.data()), crbm::Error);
  const std::vector<double> means = b.bytes.column_means();
  for (int c = 0; c < 9; ++c) {
    double m = 0.0;
    for (int r = 0; r < 7; ++r) m += f.x.data[r * 9 + c];
    EXPECT_EQ(means[c], m / 7.0);
  }
  // Threshold binarization, a limit and the hold-out split as on floats.
  opt.binarize = crbm::Binarize::threshold;
  opt.limit = 6;
  opt.unit_interval = true;
  crbm::Dataset tb = crbm::load_dataset("idx:" + path("b-ubyte.gz").string(), opt);
  opt.keep_bytes = false;
  crbm::Dataset tf = crbm::load_dataset("idx:" + path("b-ubyte.gz").string(), opt);
  ASSERT_TRUE(tb.stored_as_bytes());
  EXPECT_EQ(tb.bytes.scale, 1.0f);
  EXPECT_EQ(tb.bytes.to_float().data, tf.x.data);
  EXPECT_EQ(tb.bytes.data[2], 0);  // 127/255 <= 0.5
  EXPECT_EQ(tb.bytes.data[3], 1);  // 128/255 > 0.5
  const crbm::Dataset hb = crbm::split_holdout(tb, 0.34, 3);
  const crbm::Dataset hf = crbm::split_holdout(tf, 0.34, 3);
  ASSERT_TRUE(hb.stored_as_bytes());
  EXPECT_EQ(hb.size(), 2);
  EXPECT_EQ(tb.size(), 4);
  EXPECT_EQ(hb.bytes.to_float().data, hf.x.data);
  EXPECT_EQ(tb.bytes.to_float().data, tf.x.data);
  // Stochastic binarization at load draws on floats: x, no bytes.
  opt.keep_bytes = true;
  opt.binarize = crbm::Binarize::stochastic;
  const crbm::Dataset sb = crbm::load_dataset("idx:" + path("b-ubyte.gz").string(), opt);
  opt.keep_bytes = false;
  EXPECT_FALSE(sb.stored_as_bytes());
  EXPECT_EQ(sb.x.data, crbm::load_dataset("idx:" + path("b-ubyte.gz").string(), opt).x.data);
}

TEST_F(DataTest, BytesFromMnistAndFallbacks) {
  const std::string dir = path("mnist");
  fs::create_directories(dir);
  write_bytes(dir + "/train-images-idx3-ubyte.gz",
              gzip_stored(idx_file(0x08, {7, 3, 3}, byte_pixels())));
  write_bytes(dir + "/train-labels-idx1-ubyte", idx_file(0x08, {7}, {0, 1, 2, 3, 4, 5, 6}));
  crbm::LoadOptions opt;
  opt.keep_bytes = true;
  const crbm::Dataset b = crbm::load_dataset("mnist:" + dir, opt);
  const crbm::Dataset f = crbm::load_dataset("mnist:" + dir);
  ASSERT_TRUE(b.stored_as_bytes());
  EXPECT_EQ(b.bytes.to_float().data, f.x.data);
  EXPECT_EQ(b.labels, f.labels);
  EXPECT_EQ(b.num_classes, 7);
  // Not uint8 data: read_idx_bytes names the file and type; keep_bytes falls back to floats.
  write_bytes(path("f-ubyte"), idx_file(0x0D, {2, 1}, Bytes{0x3f, 0x80, 0, 0, 0x40, 0, 0, 0}));
  expect_error([&] { crbm::read_idx_bytes(path("f-ubyte"), nullptr); },
               {path("f-ubyte"), "type 0x08", "f4"});
  const crbm::Dataset fb = crbm::load_dataset("idx:" + path("f-ubyte").string(), opt);
  EXPECT_FALSE(fb.stored_as_bytes());
  EXPECT_EQ(fb.x.data, (std::vector<float>{1.0f, 2.0f}));
  // A truncated file reports what the float reader always reported.
  Bytes cut = idx_file(0x08, {7, 3, 3}, byte_pixels());
  cut.resize(cut.size() - 5);
  write_bytes(path("cut-ubyte"), cut);
  expect_error([&] { crbm::load_dataset("idx:" + path("cut-ubyte").string(), opt); },
               {path("cut-ubyte"), "truncated"});
}

TEST_F(DataTest, GzipWithSeveralMembers) {
  // Two concatenated gzip members (as `cat a.gz b.gz` makes): one file of both payloads,
  // whichever decoder reads it.
  const Bytes first = idx_file(0x08, {7, 3, 3}, byte_pixels());
  const Bytes second = {1, 2, 3, 4, 5};
  Bytes both = gzip_stored(first);
  const Bytes tail = gzip_stored(second);
  both.insert(both.end(), tail.begin(), tail.end());
  write_bytes(path("two.gz"), both);
  Bytes expected = first;
  expected.insert(expected.end(), second.begin(), second.end());
  EXPECT_EQ(crbm::read_file_contents(path("two.gz")), expected);
  // The trailer's size (ISIZE) wrong: corrupt data, named.
  Bytes bad = gzip_stored(first);
  bad[bad.size() - 4] ^= 0x01;
  write_bytes(path("bad.gz"), bad);
  expect_error([&] { crbm::read_file_contents(path("bad.gz")); }, {path("bad.gz")});
}

// ---------------- real data (optional) ----------------

TEST(RealData, MnistTestSplit) {
  const char* root = std::getenv("CRBM_DATA_DIR");
  if (root == nullptr || !fs::exists(fs::path(root) / "mnist")) {
    GTEST_SKIP() << "set CRBM_DATA_DIR to a directory with mnist/ (e.g. ../shared/data) to run";
  }
  const std::string dir = (fs::path(root) / "mnist").string();
  const crbm::Dataset d = crbm::load_dataset("mnist:" + dir + ":test");
  ASSERT_EQ(d.size(), 10000);
  ASSERT_EQ(d.dim(), 784);
  EXPECT_EQ(d.height, 28);
  EXPECT_EQ(d.width, 28);
  EXPECT_EQ(d.num_classes, 10);
  EXPECT_EQ(d.labels.size(), 10000u);
  EXPECT_EQ(d.labels[0], 7);  // the first test digit is a 7
  float lo = 1, hi = 0;
  for (const float v : d.x.data) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  EXPECT_EQ(lo, 0.0f);
  EXPECT_EQ(hi, 1.0f);
}

}  // namespace
