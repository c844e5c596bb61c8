// Bag-of-words loader: docword round trip on synthetic documents (raw and gzip), the real
// 20 Newsgroups header when the shared data is present, and file:line errors for every
// kind of malformed input.
#include "crbm/bow.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "crbm/data.hpp"
#include "support/temp_dir.hpp"

namespace crbm {
namespace {

const testing::BuildDirFiles kFiles("bow_test");

using testing::write_file;

// A gzip member holding `text` in one stored (uncompressed) deflate block: enough to
// exercise the transparent decompression without linking zlib into the tests.
std::string gzip_stored(const std::string& text) {
  uint32_t table[256];
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char ch : text) crc = table[(crc ^ ch) & 0xFF] ^ (crc >> 8);
  crc ^= 0xFFFFFFFFu;
  std::string out = {'\x1f', '\x8b', 8, 0, 0, 0, 0, 0, 0, '\x03'};
  const uint16_t n = static_cast<uint16_t>(text.size()), nn = static_cast<uint16_t>(~n);
  out += '\x01';  // final block, stored
  out += char(n & 0xFF);
  out += char(n >> 8);
  out += char(nn & 0xFF);
  out += char(nn >> 8);
  out += text;
  for (int k = 0; k < 4; ++k) out += char((crc >> (8 * k)) & 0xFF);
  const uint32_t size = static_cast<uint32_t>(text.size());
  for (int k = 0; k < 4; ++k) out += char((size >> (8 * k)) & 0xFF);
  return out;
}

std::string error_of(const std::string& text) {
  const std::string path = kFiles.path("bad.txt");
  write_file(path, text);
  try {
    read_docword(path);
  } catch (const Error& e) {
    std::remove(path.c_str());
    return e.what();
  }
  std::remove(path.c_str());
  return "";
}

TEST(Bow, SyntheticDocumentsRoundTrip) {
  std::vector<int32_t> topic;
  const HostTensor docs = synthetic_documents(50, 30, 3, 5, 20, 7, &topic);
  ASSERT_EQ(docs.shape, (std::vector<int64_t>{50, 30}));
  for (int64_t d = 0; d < 50; ++d) {
    double len = 0, in_block = 0;
    for (int64_t w = 0; w < 30; ++w) {
      len += docs.data[d * 30 + w];
      if (w / 10 == topic[d]) in_block += docs.data[d * 30 + w];
    }
    EXPECT_GE(len, 5);
    EXPECT_LE(len, 20);
    EXPECT_GT(in_block, 0.4 * len) << "document " << d << " should favour its topic's words";
  }
  const std::string path = kFiles.path("roundtrip.txt");
  write_docword(path, docs);
  const HostTensor back = read_docword(path);
  EXPECT_EQ(back.shape, docs.shape);
  EXPECT_EQ(back.data, docs.data);
  BowReadOptions first10;
  first10.max_docs = 10;
  const HostTensor head = read_docword(path, first10);
  ASSERT_EQ(head.rows(), 10);
  EXPECT_TRUE(std::equal(head.data.begin(), head.data.end(), docs.data.begin()));
  std::remove(path.c_str());
}

TEST(Bow, ReadsGzip) {
  const std::string text = "2\n3\n3\n1 1 2\n1 3 1\n2 2 5\n";
  const std::string path = kFiles.path("small.txt.gz");
  write_file(path, gzip_stored(text));
  const HostTensor t = read_docword(path);
  EXPECT_EQ(t.data, (std::vector<float>{2, 0, 1, 0, 5, 0}));
  std::remove(path.c_str());
}

TEST(Bow, NewsgroupsFileWhenPresent) {
  const std::string path = "/work/shared/data/newsgroups20_w1000/test.docword.txt.gz";
  if (!std::ifstream(path).good()) GTEST_SKIP() << path << " not present";
  BowReadOptions o;
  o.max_docs = 100;
  const HostTensor t = read_docword(path, o);
  EXPECT_EQ(t.shape, (std::vector<int64_t>{100, 1000}));
  for (int64_t d = 0; d < 100; ++d) {
    double len = 0;
    for (int64_t w = 0; w < 1000; ++w) len += t.data[d * 1000 + w];
    EXPECT_GE(len, 1) << "no empty documents in this set";
  }
}

TEST(Bow, MalformedInputNamesFileAndLine) {
  struct Case {
    const char* text;
    const char* line;  // ":<line>:"
    const char* what;
  };
  const Case cases[] = {
      {"", ":0:", "missing header line 1"},
      {"2\n3\n", ":2:", "missing header line 3"},
      {"2\nx\n1\n1 1 1\n", ":2:", "vocabulary size"},
      {"2\n3\n1\n1 1\n", ":4:", "three non-negative integers"},
      {"2\n3\n1\n1 1 1.5\n", ":4:", "three non-negative integers"},
      {"2\n3\n1\n3 1 1\n", ":4:", "docID 3 outside 1..2"},
      {"2\n3\n1\n1 4 1\n", ":4:", "wordID 4 outside 1..3"},
      {"2\n3\n1\n1 0 1\n", ":4:", "wordID 0 outside"},
      {"2\n3\n1\n1 1 0\n", ":4:", "count 0"},
      {"2\n3\n2\n1 1 1\n1 1 2\n", ":5:", "repeated entry"},
      {"2\n3\n1\n1 1 1\n2 2 2\n", ":5:", "more entries than"},
      {"2\n3\n3\n1 1 1\n", ":4:", "NNZ is 3 but the file has 1"},
      {"0\n3\n0\n", "", "0 documents"},
  };
  for (const Case& c : cases) {
    const std::string msg = error_of(c.text);
    EXPECT_NE(msg.find(c.what), std::string::npos) << "input:\n" << c.text << "\nerror: " << msg;
    EXPECT_NE(msg.find(std::string("bad.txt") + c.line), std::string::npos)
        << "input:\n"
        << c.text << "\nerror: " << msg;
  }
  EXPECT_THROW(read_docword(kFiles.path("does-not-exist")), Error);
}

TEST(Bow, LabelLines) {
  const std::string path = kFiles.path("labels.txt");
  write_file(path, "1\n20\n\n3\n");
  EXPECT_EQ(read_label_lines(path), (std::vector<int32_t>{0, 19, 2}));
  write_file(path, "1\n0\n");
  EXPECT_THROW(read_label_lines(path), Error);
  std::remove(path.c_str());
}

// The data specs: docword:FILE picks up STEM.labels.txt beside STEM.docword.txt, newsgroups:DIR
// reads SPLIT.docword.txt + SPLIT.labels.txt, a label count that disagrees is named, and
// builtin:docs gives integer counts with topic labels.
TEST(Bow, DocwordAndNewsgroupsSpecs) {
  namespace fs = std::filesystem;
  const fs::path dir = kFiles.path("spec_dir");
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::vector<int32_t> topics;
  const HostTensor counts = synthetic_documents(12, 30, 3, 2, 9, 5, &topics);
  write_docword((dir / "train.docword.txt").string(), counts);
  std::string labels;
  for (int32_t t : topics) labels += std::to_string(t + 1) + "\n";
  write_file((dir / "train.labels.txt").string(), labels);

  const Dataset a = load_dataset("docword:" + (dir / "train.docword.txt").string());
  EXPECT_EQ(a.x.shape, counts.shape);
  EXPECT_EQ(a.x.data, counts.data);
  EXPECT_EQ(a.labels, topics);
  EXPECT_EQ(a.num_classes, 3);
  const Dataset b = load_dataset("newsgroups:" + dir.string() + ":train");
  EXPECT_EQ(b.x.data, counts.data);
  EXPECT_EQ(b.labels, topics);
  LoadOptions lim;
  lim.limit = 5;
  EXPECT_EQ(load_dataset("newsgroups:" + dir.string(), lim).labels.size(), 5u);

  try {
    load_dataset("newsgroups:" + dir.string() + ":test");
    ADD_FAILURE() << "a missing split must throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("test.docword.txt"), std::string::npos) << e.what();
  }
  write_file((dir / "train.labels.txt").string(), "1\n2\n");
  try {
    load_dataset("docword:" + (dir / "train.docword.txt").string());
    ADD_FAILURE() << "12 documents with 2 labels must throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("2 labels"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);

  const Dataset docs = load_dataset("builtin:docs");
  EXPECT_EQ(docs.x.shape, (std::vector<int64_t>{2000, 100}));
  EXPECT_EQ(docs.num_classes, 5);
  for (int64_t r = 0; r < 2000; r += 97) {
    double len = 0;
    for (int64_t c = 0; c < 100; ++c) {
      const float v = docs.x.data[r * 100 + c];
      EXPECT_EQ(v, std::floor(v));
      len += v;
    }
    EXPECT_GE(len, 5);
    EXPECT_LE(len, 60);
  }
}

}  // namespace
}  // namespace crbm
