// Bag-of-words data for replicated-softmax models: the UCI "docword" text format
// (raw or gzip), read into a dense count matrix counts[d, w] (float, [docs x vocabulary]).
//   line 1: D (documents)   line 2: W (vocabulary)   line 3: NNZ (nonzero entries)
//   then NNZ lines "docID wordID count", 1-based ids, count >= 1 (see docs/formats-bow.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "crbm/tensor.hpp"

namespace crbm {

struct BowReadOptions {
  int64_t max_docs = 0;                        // keep documents 1..max_docs (0 = all)
  int64_t max_dense_bytes = int64_t{4} << 30;  // refuse larger dense matrices
};

// Reads a docword file; throws crbm::Error "<path>:<line>: <problem>" for malformed lines
// (wrong field count, non-integers, ids outside 1..D / 1..W, count < 1, a repeated
// (doc, word) pair, more or fewer entries than NNZ, a missing header).
HostTensor read_docword(const std::string& path, const BowReadOptions& options = {});

// One integer class per line (e.g. 20 Newsgroups' train.labels.txt), returned minus `base`.
std::vector<int32_t> read_label_lines(const std::string& path, int base = 1);

// Writes counts [docs x vocabulary] (non-negative integers) as docword text, atomically.
void write_docword(const std::string& path, const HostTensor& counts);

// Synthetic documents for tests: `topics` word distributions over `vocabulary` words
// (each concentrated on its own block of words), each document draws one topic and a
// length uniform in [min_length, max_length], then that many words. Deterministic in seed.
HostTensor synthetic_documents(int64_t docs, int64_t vocabulary, int topics, int64_t min_length,
                               int64_t max_length, uint64_t seed,
                               std::vector<int32_t>* topic_of_doc = nullptr);

}  // namespace crbm
