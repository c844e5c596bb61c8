// UCI docword reader/writer and the synthetic-document generator (see bow.hpp).
// The reader walks the (decompressed) bytes line by line, parsing integers strictly,
// so every malformed line is reported with its file:line.
#include "crbm/bow.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "crbm/atomic_file.hpp"
#include "philox.cuh"

namespace crbm {
namespace {

// Splits the content into lines (without '\n' or a trailing '\r').
class LineReader {
 public:
  explicit LineReader(const std::vector<uint8_t>& bytes) : b_(bytes) {}
  bool next(std::string& line) {
    if (pos_ >= b_.size()) return false;
    size_t end = pos_;
    while (end < b_.size() && b_[end] != '\n') ++end;
    line.assign(reinterpret_cast<const char*>(b_.data()) + pos_, end - pos_);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    pos_ = end + 1;
    ++number_;
    return true;
  }
  int64_t number() const { return number_; }

 private:
  const std::vector<uint8_t>& b_;
  size_t pos_ = 0;
  int64_t number_ = 0;
};

bool blank(const std::string& s) {
  for (char c : s) {
    if (c != ' ' && c != '\t') return false;
  }
  return true;
}

// Whitespace-separated non-negative integers; false on anything else.
bool parse_integers(const std::string& line, std::vector<int64_t>& out) {
  out.clear();
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size()) break;
    if (line[i] < '0' || line[i] > '9') return false;
    int64_t v = 0;
    while (i < line.size() && line[i] >= '0' && line[i] <= '9') {
      if (v > (INT64_MAX - 9) / 10) return false;
      v = v * 10 + (line[i] - '0');
      ++i;
    }
    if (i < line.size() && line[i] != ' ' && line[i] != '\t') return false;
    out.push_back(v);
  }
  return true;
}

}  // namespace

HostTensor read_docword(const std::string& path, const BowReadOptions& options) {
  const std::vector<uint8_t> bytes = read_file_contents(path);
  LineReader lines(bytes);
  std::string line;
  std::vector<int64_t> f;
  int64_t header[3];
  const char* names[3] = {"number of documents", "vocabulary size", "number of nonzeros"};
  for (int k = 0; k < 3; ++k) {
    do {
      if (!lines.next(line)) {
        CRBM_FAIL(path, ":", lines.number(), ": missing header line ", k + 1, " (", names[k],
                  "); a docword file starts with D, W and NNZ on three lines");
      }
    } while (blank(line));
    if (!parse_integers(line, f) || f.size() != 1) {
      CRBM_FAIL(path, ":", lines.number(), ": expected the ", names[k], " as one integer, got '",
                printable(line), "'");
    }
    header[k] = f[0];
  }
  const int64_t docs = header[0], vocab = header[1], nnz = header[2];
  if (docs < 1 || vocab < 1) {
    CRBM_FAIL(path, ": header says ", docs, " documents and ", vocab, " words (both must be >= 1)");
  }
  const int64_t kept = options.max_docs > 0 ? std::min(options.max_docs, docs) : docs;
  if (kept > options.max_dense_bytes / 4 / vocab) {
    CRBM_FAIL(path, ": a dense ", kept, " x ", vocab, " count matrix exceeds ",
              options.max_dense_bytes, " bytes (use max_docs)");
  }
  HostTensor counts({kept, vocab}, 0.0f);
  int64_t entries = 0;
  while (lines.next(line)) {
    if (blank(line)) continue;
    const int64_t ln = lines.number();
    if (!parse_integers(line, f) || f.size() != 3) {
      CRBM_FAIL(path, ":", ln,
                ": expected \"docID wordID count\" (three non-negative integers), got '",
                printable(line), "'");
    }
    if (++entries > nnz) {
      CRBM_FAIL(path, ":", ln, ": more entries than the header's NNZ = ", nnz);
    }
    const int64_t d = f[0], w = f[1], c = f[2];
    if (d < 1 || d > docs) CRBM_FAIL(path, ":", ln, ": docID ", d, " outside 1..", docs);
    if (w < 1 || w > vocab) CRBM_FAIL(path, ":", ln, ": wordID ", w, " outside 1..", vocab);
    if (c < 1) CRBM_FAIL(path, ":", ln, ": count ", c, " (must be >= 1)");
    if (c > (int64_t{1} << 24)) CRBM_FAIL(path, ":", ln, ": count ", c, " too large for float32");
    if (d > kept) continue;
    float& cell = counts.data[(d - 1) * vocab + (w - 1)];
    if (cell != 0.0f) {
      CRBM_FAIL(path, ":", ln, ": repeated entry for document ", d, ", word ", w);
    }
    cell = static_cast<float>(c);
  }
  if (entries != nnz) {
    CRBM_FAIL(path, ":", lines.number(), ": the header's NNZ is ", nnz, " but the file has ",
              entries, " entries");
  }
  return counts;
}

std::vector<int32_t> read_label_lines(const std::string& path, int base) {
  const std::vector<uint8_t> bytes = read_file_contents(path);
  LineReader lines(bytes);
  std::string line;
  std::vector<int64_t> f;
  std::vector<int32_t> out;
  while (lines.next(line)) {
    if (blank(line)) continue;
    if (!parse_integers(line, f) || f.size() != 1 || f[0] < base || f[0] > INT32_MAX) {
      CRBM_FAIL(path, ":", lines.number(), ": expected one class number >= ", base, ", got '",
                printable(line), "'");
    }
    out.push_back(static_cast<int32_t>(f[0] - base));
  }
  return out;
}

void write_docword(const std::string& path, const HostTensor& counts) {
  const int64_t docs = counts.rows(), vocab = counts.cols();
  int64_t nnz = 0;
  for (float c : counts.data) {
    if (c < 0.0f || c != static_cast<float>(static_cast<int64_t>(c))) {
      CRBM_FAIL("write_docword: counts must be non-negative integers (got ", c, ")");
    }
    nnz += c > 0.0f;
  }
  write_file_atomically(path, [&](std::FILE* f) {
    std::fprintf(f, "%" PRId64 "\n%" PRId64 "\n%" PRId64 "\n", docs, vocab, nnz);
    for (int64_t d = 0; d < docs; ++d) {
      for (int64_t w = 0; w < vocab; ++w) {
        const float c = counts.data[d * vocab + w];
        if (c > 0.0f) {
          std::fprintf(f, "%" PRId64 " %" PRId64 " %" PRId64 "\n", d + 1, w + 1,
                       static_cast<int64_t>(c));
        }
      }
    }
  });
}

HostTensor synthetic_documents(int64_t docs, int64_t vocabulary, int topics, int64_t min_length,
                               int64_t max_length, uint64_t seed,
                               std::vector<int32_t>* topic_of_doc) {
  if (docs < 1 || vocabulary < 2 || topics < 1 || min_length < 1 || max_length < min_length) {
    CRBM_FAIL("synthetic_documents: docs ", docs, ", vocabulary ", vocabulary, ", topics ", topics,
              ", lengths ", min_length, "..", max_length);
  }
  // Topic t puts 80% of its mass evenly on its block of words, 20% on all words.
  std::vector<std::vector<double>> cdf(static_cast<size_t>(topics));
  const int64_t block = std::max<int64_t>(1, vocabulary / topics);
  for (int t = 0; t < topics; ++t) {
    double acc = 0;
    for (int64_t w = 0; w < vocabulary; ++w) {
      const bool in_block = w / block == t || (t == topics - 1 && w / block >= topics);
      acc += 0.2 / double(vocabulary) + (in_block ? 0.8 / double(block) : 0.0);
      cdf[t].push_back(acc);
    }
    for (double& c : cdf[t]) c /= acc;
  }
  HostTensor counts({docs, vocabulary}, 0.0f);
  if (topic_of_doc != nullptr) topic_of_doc->assign(static_cast<size_t>(docs), 0);
  for (int64_t d = 0; d < docs; ++d) {
    const philox::Words4 w = philox::block(seed, 0xb0b, uint64_t(d), 0);
    const int t = static_cast<int>(w.x[0] % uint32_t(topics));
    const int64_t len = min_length + int64_t(w.x[1] % uint32_t(max_length - min_length + 1));
    if (topic_of_doc != nullptr) (*topic_of_doc)[d] = t;
    for (int64_t k = 0; k < len; ++k) {
      const double u = philox::uniform(seed, 0xb0c, uint64_t(d), uint64_t(k));
      const auto it = std::lower_bound(cdf[t].begin(), cdf[t].end(), u);
      const int64_t word = std::min<int64_t>(it - cdf[t].begin(), vocabulary - 1);
      counts.data[d * vocabulary + word] += 1.0f;
    }
  }
  return counts;
}

}  // namespace crbm
