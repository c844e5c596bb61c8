// Datasets on the host: readers for IDX (MNIST), NumPy .npy and Larochelle's
// .amat text, built-in toy sets (bars-and-stripes, Gaussian blobs), and the
// preprocessing the models need (binarization, standardization, hold-out split).
// Every reader bounds sizes against the bytes actually present and throws
// crbm::Error naming the file and what is wrong; it never crashes on garbage.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "crbm/tensor.hpp"

namespace crbm {

// (rows, cols) row-major bytes standing for the values byte * scale: uint8 pixels with
// scale 1/255 (the float 1.0f / 255.0f), binarized data as 0/1 with scale 1. A data set
// kept at one byte per value until its minibatches are converted; value(i) is the very
// float the float path holds (static_cast<float>(byte), then times the scale).
struct HostBytes {
  std::vector<uint8_t> data;
  int64_t rows = 0, cols = 0;
  float scale = 1.0f;

  bool empty() const { return data.empty(); }
  float value(size_t i) const { return static_cast<float>(data[i]) * scale; }
  // dst row r = row index[first + r] as floats, for r in [0, count): a minibatch of a
  // shuffle. dst holds count x cols floats; indices are checked.
  void rows_to_float(const std::vector<int32_t>& index, int64_t first, int64_t count,
                     float* dst) const;
  // Rows [first, first + count) as a (count, cols) float tensor.
  HostTensor to_float(int64_t first, int64_t count) const;
  HostTensor to_float() const { return to_float(0, rows); }
  // Per-column means (sum in row order, in double, over rows), as Rbm::init_random takes.
  std::vector<double> column_means() const;
};

struct Dataset {
  std::string source;           // the spec it came from, for messages ("mnist:/x:train")
  HostTensor x;                 // (N, D) float32; empty when the rows are in `bytes`
  HostBytes bytes;              // (N, D) uint8 instead of x (LoadOptions::keep_bytes)
  std::vector<int32_t> labels;  // empty when the data has none
  int num_classes = 0;          // 0 when no labels
  int channels = 1, height = 0, width = 0;  // image geometry when known (D == C*H*W), else 0

  bool stored_as_bytes() const { return x.shape.empty() && !bytes.empty(); }
  int64_t size() const {
    if (stored_as_bytes()) return bytes.rows;
    return x.shape.empty() ? 0 : x.shape[0];
  }
  int64_t dim() const {  // product of the non-row axes (x is (N, D), so D)
    if (stored_as_bytes()) return bytes.cols;
    int64_t d = x.shape.size() < 2 ? 0 : 1;
    for (size_t i = 1; i < x.shape.size(); ++i) d *= x.shape[i];
    return d;
  }
  bool has_geometry() const { return height > 0 && width > 0; }
};

// ---- file formats ----

// IDX (LeCun's MNIST format), raw or gzip: magic 0x00 0x00 <type> <ndims>, big-endian
// int32 dims, big-endian data. Types: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
// 0x0D float32, 0x0E float64. Values are converted to float as they are (uint8 stays
// 0..255). `stored_dtype`, when given, receives the NumPy name of the stored type
// ("u1", "i1", "i2", "i4", "f4", "f8").
HostTensor read_idx(const std::string& path, std::string* stored_dtype = nullptr);
// The uint8 payload of an IDX file of type 0x08 (no conversion; any other type throws
// naming the file and its type); `shape` receives the dimensions.
std::vector<uint8_t> read_idx_bytes(const std::string& path, std::vector<int64_t>* shape);
// A 1-D integer IDX file (MNIST labels).
std::vector<int32_t> read_idx_labels(const std::string& path);

// NumPy .npy, format versions 1, 2 and 3 (optionally gzipped), C order only.
// dtypes '<f4' (loaded directly), '|u1' (values as they are, 0..255), '|i1', '|b1',
// '<f8', '<i4', '<i8' (converted to float). `stored_dtype` as for read_idx.
HostTensor read_npy(const std::string& path, std::string* stored_dtype = nullptr);
// Writes '<f4' with a version 1 header, atomically.
void write_npy(const std::string& path, const HostTensor& t);
// Writes '|u1' with a version 1 header, atomically; data.size() must equal prod(shape).
void write_npy_u8(const std::string& path, const std::vector<uint8_t>& data,
                  const std::vector<int64_t>& shape);

// ---- preprocessing ----

enum class Binarize { none, threshold, stochastic };
// "none" | "threshold" | "stochastic"; anything else throws an Error listing them.
Binarize parse_binarize(const std::string& name);
const char* to_string(Binarize b);

// x_i = (x_i > threshold) ? 1 : 0.
void binarize_threshold(HostTensor& x, float threshold = 0.5f);
// x_i = (u_i < x_i) ? 1 : 0 with u_i = philox::uniform(seed, 0x5eed, 0, i), i the
// flat (row-major) element index: the same draw a backend's sample_bernoulli makes
// with RngKey {seed, 0x5eed, 0}.
constexpr uint32_t kBinarizeStream = 0x5eed;
void binarize_stochastic(HostTensor& x, uint64_t seed);

// Per-column statistics of a standardization x[:, c] = (x[:, c] - mean[c]) / stddev[c].
struct Standardization {
  std::vector<float> mean, stddev;
};
// Standardizes the columns of x (N, D) in place (population stddev, floored at
// min_std so constant columns do not blow up) and returns the statistics used.
Standardization standardize(HostTensor& x, float min_std = 1e-3f);
// Applies earlier statistics (e.g. the training set's) to other data, in place.
void apply_standardization(HostTensor& x, const Standardization& s);

// ---- datasets ----

struct LoadOptions {
  Binarize binarize = Binarize::none;
  uint64_t seed = 0;  // for Binarize::stochastic
  int64_t limit = 0;  // keep the first `limit` rows; 0 = all rows
  // Bernoulli visible units: every value must lie in [0, 1] (after threshold
  // binarization, before stochastic binarization, which draws with these values).
  bool unit_interval = false;
  // uint8 sources (mnist:, fashion-mnist:, idx: files of type 0x08) keep their rows in
  // Dataset::bytes (x stays empty): 4x less memory, converted to float per minibatch
  // (CdTrainer::train_epoch(const HostBytes&, ...)). Threshold binarization keeps them as
  // bytes (0/1, scale 1); stochastic binarization at load, and every other source, give x.
  bool keep_bytes = false;
};

// Loads a dataset from a spec:
//   builtin:NAME              bars (default; also "builtin:" and ""), bars3, bars6, blobs;
//                             docs: 2,000 synthetic bag-of-words documents (100 words,
//                             5 topics, 5-60 words each, labels = topic; bow.hpp)
//   mnist:DIR[:train|test]    {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] in DIR,
//                             pixels / 255, 28x28 (also Fashion-MNIST's Debian layout)
//   fashion-mnist[:train|test]  mnist:/usr/share/datasets/fashion-mnist (the Debian
//                             package dataset-fashion-mnist)
//   idx:FILE                  images (N, H, W) -> (N, H*W); uint8 scaled by 1/255
//   npy:FILE                  (N, D), (N, H, W) or (N, C, H, W); uint8 scaled by 1/255
//   amat:FILE                 Larochelle's binarized MNIST text (.amat[.gz]), 28x28
//   images:DIR[:SIZE[:COUNT]] COUNT random SIZE x SIZE gray patches (default 64, 2000)
//                             of the .png/.pgm/.ppm images in DIR, in [0, 1]
//   docword:FILE              bag-of-words counts (UCI docword text, raw or .gz; bow.hpp),
//                             labels from STEM.labels.txt beside STEM.docword.txt[.gz]
//   newsgroups:DIR[:train|test]  DIR/SPLIT.docword.txt[.gz] + DIR/SPLIT.labels.txt
//                             (the 20 Newsgroups export of docs/formats-bow.md)
//   FILE or DIR               an existing path without a prefix: the format is inferred
//                             from the extension (a directory is read as mnist:DIR)
// Order of processing: read, scale, keep the first `limit` rows, check that there is
// at least one row (Error "<source>: no rows ...") and that every value is finite
// (Error "<source>: element i (row r, column c) is NaN"), threshold binarization, the
// [0, 1] check when opt.unit_interval (Error "<source>: values range over [lo, hi], but
// bernoulli visible units need data in [0, 1] ..."), stochastic binarization.
Dataset load_dataset(const std::string& spec, const LoadOptions& opt = {});

// The names accepted by builtin:NAME.
std::vector<std::string> builtin_dataset_names();

// Moves a random `fraction` (in [0, 1)) of the rows of d into the returned dataset
// (at least one row when fraction > 0 and d has more than one row; d keeps at least
// one). Rows are chosen by a Philox-driven shuffle keyed by `seed`; both parts keep
// their original row order. Labels and geometry follow the rows (bytes stay bytes).
Dataset split_holdout(Dataset& d, double fraction, uint64_t seed);

}  // namespace crbm
