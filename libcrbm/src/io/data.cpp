// Dataset specs (builtin:, mnist:, idx:, npy:, amat:) -> Dataset, plus the
// preprocessing around them: finite-value validation, binarization (threshold or
// Philox Bernoulli draws), per-column standardization and the hold-out split.
#include "crbm/data.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "crbm/atomic_file.hpp"
#include "crbm/bow.hpp"
#include "crbm/enum_names.hpp"
#include "crbm/image.hpp"
#include "crbm/preprocess.hpp"
#include "philox.cuh"

namespace crbm {
namespace {

constexpr uint32_t kShuffleStream = 0x5411;    // builtin datasets' row order
constexpr uint32_t kHoldoutStream = 0x401d;    // split_holdout
constexpr uint32_t kBlobsStream = 0xb10b;      // builtin:blobs values
constexpr uint64_t kBuiltinSeed = 0x0c2b3a11;  // fixed: builtins are the same everywhere
constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
bool path_exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}
bool is_directory(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// A uniformly random permutation of 0..n-1 (Fisher-Yates), a pure function of
// (seed, stream). 64 random bits per swap keep the modulo bias negligible.
std::vector<int64_t> philox_permutation(int64_t n, uint64_t seed, uint32_t stream) {
  std::vector<int64_t> perm(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) perm[i] = i;
  for (int64_t i = n - 1; i > 0; --i) {
    const philox::Words4 w = philox::block(seed, stream, 0, static_cast<uint64_t>(i));
    const uint64_t bits = (uint64_t{w.x[0]} << 32) | w.x[1];
    const int64_t j = static_cast<int64_t>(bits % static_cast<uint64_t>(i + 1));
    std::swap(perm[i], perm[j]);
  }
  return perm;
}

// Copies the rows `order` of x (and labels) into a new dataset with d's metadata.
Dataset take_rows(const Dataset& d, const std::vector<int64_t>& order, const std::string& source) {
  Dataset out;
  out.source = source;
  out.num_classes = d.num_classes;
  out.channels = d.channels;
  out.height = d.height;
  out.width = d.width;
  const int64_t cols = d.dim();
  if (d.stored_as_bytes()) {
    out.bytes.rows = static_cast<int64_t>(order.size());
    out.bytes.cols = cols;
    out.bytes.scale = d.bytes.scale;
    out.bytes.data.resize(order.size() * static_cast<size_t>(cols));
    for (size_t r = 0; r < order.size(); ++r) {
      std::copy_n(d.bytes.data.begin() + order[r] * cols, cols, out.bytes.data.begin() + r * cols);
    }
  } else {
    out.x = HostTensor({static_cast<int64_t>(order.size()), cols});
    for (size_t r = 0; r < order.size(); ++r) {
      std::copy_n(d.x.data.begin() + order[r] * cols, cols, out.x.data.begin() + r * cols);
    }
  }
  if (!d.labels.empty()) {
    out.labels.reserve(order.size());
    for (const int64_t r : order) out.labels.push_back(d.labels[static_cast<size_t>(r)]);
  }
  return out;
}

// ---- builtin datasets ----

// Bars and stripes on an n x n grid: every pattern whose rows are each all on or
// all off, or whose columns are; 2 * 2^n - 2 distinct (blank and full counted once).
Dataset make_bars(int n, const std::string& source) {
  const int64_t d = int64_t{n} * n;
  std::vector<std::vector<float>> patterns;
  for (uint32_t mask = 0; mask < (1u << n); ++mask) {
    std::vector<float> p(static_cast<size_t>(d));
    for (int r = 0; r < n; ++r)
      for (int c = 0; c < n; ++c) p[r * n + c] = static_cast<float>((mask >> r) & 1u);
    patterns.push_back(p);
  }
  for (uint32_t mask = 1; mask + 1 < (1u << n); ++mask) {
    std::vector<float> p(static_cast<size_t>(d));
    for (int r = 0; r < n; ++r)
      for (int c = 0; c < n; ++c) p[r * n + c] = static_cast<float>((mask >> c) & 1u);
    patterns.push_back(p);
  }
  constexpr int kRepeats = 20;
  const int64_t count = static_cast<int64_t>(patterns.size()) * kRepeats;
  const std::vector<int64_t> order = philox_permutation(count, kBuiltinSeed, kShuffleStream);
  Dataset out;
  out.source = source;
  out.x = HostTensor({count, d});
  for (int64_t r = 0; r < count; ++r) {
    const auto& p = patterns[static_cast<size_t>(order[r] % static_cast<int64_t>(patterns.size()))];
    std::copy(p.begin(), p.end(), out.x.data.begin() + r * d);
  }
  out.height = out.width = n;
  return out;
}

// Four isotropic unit-variance Gaussians in 8 dimensions; component k has mean 3
// on dimensions 2k and 2k+1 and 0 elsewhere. Labels are the components.
Dataset make_blobs(const std::string& source) {
  constexpr int64_t kRows = 1000, kDim = 8, kComponents = 4;
  const std::vector<int64_t> order = philox_permutation(kRows, kBuiltinSeed, kShuffleStream);
  Dataset out;
  out.source = source;
  out.x = HostTensor({kRows, kDim});
  out.num_classes = static_cast<int>(kComponents);
  for (int64_t r = 0; r < kRows; ++r) {
    const int64_t k = order[r] % kComponents;
    out.labels.push_back(static_cast<int32_t>(k));
    for (int64_t c = 0; c < kDim; ++c) {
      const float mean = (c / 2 == k) ? 3.0f : 0.0f;
      out.x.data[r * kDim + c] =
          mean + philox::normal(kBuiltinSeed, kBlobsStream, 0, static_cast<uint64_t>(r * kDim + c));
    }
  }
  return out;
}

Dataset load_builtin(const std::string& name, const std::string& source) {
  if (name.empty() || name == "bars") return make_bars(4, source);
  if (name == "bars3") return make_bars(3, source);
  if (name == "bars6") return make_bars(6, source);
  if (name == "blobs") return make_blobs(source);
  if (name == "docs") {  // bag-of-words counts: 2,000 documents, 100 words, 5 topics
    Dataset d;
    d.source = source;
    d.x = synthetic_documents(2000, 100, 5, 5, 60, /*seed=*/2009, &d.labels);
    d.num_classes = 5;
    return d;
  }
  std::string names;
  for (const std::string& n : builtin_dataset_names()) names += (names.empty() ? "" : ", ") + n;
  CRBM_FAIL(source, ": unknown builtin dataset '", name, "' (choices: ", names, ")");
}

// ---- file-backed datasets ----

// (N, D) -> no geometry; (N, H, W) -> 1 x H x W; (N, C, H, W) -> C x H x W.
void set_rows_and_geometry(Dataset& d, HostTensor t, const std::string& path) {
  const std::vector<int64_t> shape = t.shape;
  if (shape.size() < 2 || shape.size() > 4) {
    CRBM_FAIL(path, ": expected an array of shape (N, D), (N, H, W) or (N, C, H, W), got ",
              t.shape_string());
  }
  int64_t dim = 1;
  for (size_t i = 1; i < shape.size(); ++i) dim *= shape[i];
  const auto fits_int = [](int64_t v) { return v <= (int64_t{1} << 30); };
  if (shape.size() == 3 && fits_int(shape[1]) && fits_int(shape[2])) {
    d.channels = 1;
    d.height = static_cast<int>(shape[1]);
    d.width = static_cast<int>(shape[2]);
  } else if (shape.size() == 4 && fits_int(shape[1]) && fits_int(shape[2]) && fits_int(shape[3])) {
    d.channels = static_cast<int>(shape[1]);
    d.height = static_cast<int>(shape[2]);
    d.width = static_cast<int>(shape[3]);
  }
  t.shape = {shape[0], dim};
  d.x = std::move(t);
}

constexpr float kByteScale = 1.0f / 255.0f;  // uint8 data -> [0, 1]

void scale_bytes(HostTensor& t) {
  for (float& v : t.data) v *= kByteScale;
}

// The uint8 payload of an IDX file, or nothing when it is not uint8 data or anything is
// wrong with it: the float reader then reads it again and reports what is wrong exactly as
// it always has.
std::vector<uint8_t> try_read_idx_bytes(const std::string& path, std::vector<int64_t>* shape) {
  try {
    return read_idx_bytes(path, shape);
  } catch (const Error&) {
    shape->clear();
    return {};
  }
}

// (N, d1, ...) uint8 -> (N, prod d) bytes with geometry as set_rows_and_geometry sets it.
void set_byte_rows_and_geometry(Dataset& d, std::vector<uint8_t> bytes,
                                const std::vector<int64_t>& shape, const std::string& path) {
  HostTensor geometry;  // shape only, to reuse the float version's rules
  geometry.shape = shape;
  set_rows_and_geometry(d, std::move(geometry), path);
  d.bytes.rows = d.x.shape[0];
  d.bytes.cols = d.x.shape[1];
  d.bytes.scale = kByteScale;
  d.bytes.data = std::move(bytes);
  d.x = HostTensor();
}

std::string find_mnist_file(const std::string& dir, const std::string& stem,
                            const std::string& kind) {
  // "train-images-idx3-ubyte" (LeCun, Debian's Fashion-MNIST) or
  // "train-images.idx3-ubyte" (some mirrors), raw or gzipped.
  const std::string base = dir + "/" + stem;
  for (const char* sep : {"-", "."}) {
    for (const char* ext : {"", ".gz"}) {
      const std::string p =
          base + "-" + kind + sep + (kind == "images" ? "idx3" : "idx1") + "-ubyte" + ext;
      if (path_exists(p)) return p;
    }
  }
  if (!is_directory(dir)) {
    const bool has_colon = dir.find(':') != std::string::npos;
    CRBM_FAIL("cannot open '", dir, "': No such file or directory",
              has_colon ? " (the MNIST splits are :train and :test)" : "");
  }
  CRBM_FAIL("cannot open '", base, "-", kind, "-", (kind == "images" ? "idx3" : "idx1"),
            "-ubyte[.gz]': No such file or directory");
}

Dataset load_mnist(const std::string& dir, const std::string& split, const std::string& source,
                   bool keep_bytes) {
  if (split != "train" && split != "test") {
    CRBM_FAIL(source, ": unknown MNIST split '", split, "' (choices: train, test)");
  }
  const std::string stem = split == "train" ? "train" : "t10k";
  const std::string images_path = find_mnist_file(dir, stem, "images");
  const std::string labels_path = find_mnist_file(dir, stem, "labels");
  Dataset d;
  d.source = source;
  HostTensor images;
  std::vector<uint8_t> bytes;
  if (keep_bytes) bytes = try_read_idx_bytes(images_path, &images.shape);
  const bool as_bytes = !bytes.empty();
  if (!as_bytes) images = read_idx(images_path);
  if (images.shape.size() != 3) {
    CRBM_FAIL(images_path, ": expected images of shape (N, H, W), got ", images.shape_string());
  }
  if (as_bytes) {
    set_byte_rows_and_geometry(d, std::move(bytes), images.shape, images_path);
  } else {
    scale_bytes(images);
    set_rows_and_geometry(d, std::move(images), images_path);
  }
  d.labels = read_idx_labels(labels_path);
  if (static_cast<int64_t>(d.labels.size()) != d.size()) {
    CRBM_FAIL(source, ": ", d.size(), " images in '", images_path, "' but ", d.labels.size(),
              " labels in '", labels_path, "'");
  }
  for (const int32_t l : d.labels) d.num_classes = std::max(d.num_classes, l + 1);
  return d;
}

// docword:FILE: a bag-of-words count matrix (bow.hpp); class labels from the sibling
// STEM.labels.txt (one 1-based class per line) when FILE is STEM.docword.txt[.gz] and it exists.
Dataset load_docword(const std::string& path, const std::string& source) {
  Dataset d;
  d.source = source;
  d.x = read_docword(path);
  std::string stem = path;
  for (const char* suffix : {".gz", ".txt", ".docword"}) {
    if (ends_with(stem, suffix)) stem.resize(stem.size() - std::strlen(suffix));
  }
  const std::string labels_path = stem + ".labels.txt";
  if (stem != path && path_exists(labels_path)) {
    d.labels = read_label_lines(labels_path, 1);
    if (static_cast<int64_t>(d.labels.size()) != d.size()) {
      CRBM_FAIL(source, ": ", d.size(), " documents in '", path, "' but ", d.labels.size(),
                " labels in '", labels_path, "'");
    }
    for (const int32_t l : d.labels) d.num_classes = std::max(d.num_classes, l + 1);
  }
  return d;
}

// newsgroups:DIR[:train|test]: DIR/SPLIT.docword.txt(.gz) with DIR/SPLIT.labels.txt (the layout
// of the 20 Newsgroups export described in docs/formats-bow.md).
Dataset load_newsgroups(const std::string& dir, const std::string& split,
                        const std::string& source) {
  if (split != "train" && split != "test") {
    CRBM_FAIL(source, ": unknown split '", split, "' (choices: train, test)");
  }
  if (!is_directory(dir)) CRBM_FAIL(source, ": '", dir, "' is not a directory");
  for (const char* ext : {".docword.txt.gz", ".docword.txt"}) {
    const std::string path = dir + "/" + split + ext;
    if (!path_exists(path)) continue;
    Dataset d = load_docword(path, source);
    if (d.labels.empty()) {
      CRBM_FAIL(source, ": '", dir + "/" + split, ".labels.txt' is missing");
    }
    return d;
  }
  CRBM_FAIL(source, ": no '", split, ".docword.txt.gz' or '", split, ".docword.txt' in '", dir,
            "'");
}

Dataset load_array(const std::string& path, const std::string& source, bool npy, bool keep_bytes) {
  if (keep_bytes && !npy) {
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes = try_read_idx_bytes(path, &shape);
    if (!bytes.empty() && shape.size() >= 2 && shape.size() <= 4) {
      Dataset d;
      d.source = source;
      set_byte_rows_and_geometry(d, std::move(bytes), shape, path);
      return d;
    }
  }
  std::string dtype;
  HostTensor t = npy ? read_npy(path, &dtype) : read_idx(path, &dtype);
  if (dtype == "u1") scale_bytes(t);
  Dataset d;
  d.source = source;
  set_rows_and_geometry(d, std::move(t), path);
  return d;
}

// Larochelle's .amat: one example per line, whitespace-separated numbers.
Dataset load_amat(const std::string& path, const std::string& source) {
  std::vector<uint8_t> text = read_file_contents(path);
  text.push_back('\0');
  const char* p = reinterpret_cast<const char*>(text.data());
  const char* const end = p + text.size() - 1;
  std::vector<float> values;
  int64_t cols = -1, rows = 0, line = 0;
  while (p < end) {
    ++line;
    int64_t in_row = 0;
    while (p < end && *p != '\n') {
      if (*p == ' ' || *p == '\t' || *p == '\r') {
        ++p;
        continue;
      }
      const bool simple =
          (*p == '0' || *p == '1') &&
          (p + 1 == end || p[1] == ' ' || p[1] == '\n' || p[1] == '\t' || p[1] == '\r');
      if (simple) {
        values.push_back(*p == '1' ? 1.0f : 0.0f);
        ++p;
      } else {
        char* after = nullptr;
        const float v = std::strtof(p, &after);
        if (after == p) {
          CRBM_FAIL(path, ": line ", line, ": cannot parse '",
                    printable(std::string(p, std::min<size_t>(12, end - p))), "' as a number");
        }
        values.push_back(v);
        p = after;
      }
      ++in_row;
    }
    if (p < end) ++p;  // '\n'
    if (in_row == 0) continue;
    if (cols < 0) cols = in_row;
    if (in_row != cols) {
      CRBM_FAIL(path, ": line ", line, " has ", in_row, " values, expected ", cols,
                " like the first row");
    }
    ++rows;
  }
  if (rows == 0) CRBM_FAIL(path, ": no data rows");
  Dataset d;
  d.source = source;
  d.x.shape = {rows, cols};
  d.x.data = std::move(values);
  const int side = static_cast<int>(std::lround(std::sqrt(static_cast<double>(cols))));
  if (int64_t{side} * side == cols) d.height = d.width = side;  // 784 -> 28 x 28
  return d;
}

std::string inferred_kind(const std::string& path) {
  if (is_directory(path)) return "mnist";
  std::string p = path;
  if (ends_with(p, ".gz")) p.resize(p.size() - 3);
  if (ends_with(p, ".npy")) return "npy";
  if (ends_with(p, ".amat")) return "amat";
  if (ends_with(p, "-ubyte") || ends_with(p, ".idx") || p.find(".idx") != std::string::npos) {
    return "idx";
  }
  return "";
}

const char* kSpecHelp =
    "builtin:NAME | mnist:DIR[:train|test] | fashion-mnist[:train|test] | idx:FILE | npy:FILE | "
    "amat:FILE | images:DIR[:SIZE[:COUNT]] | docword:FILE | newsgroups:DIR[:train|test] | an "
    "existing .npy/.amat/IDX file or MNIST directory";

// images:DIR[:SIZE[:COUNT]]: COUNT random SIZE x SIZE gray patches (default 64 x 64,
// 2,000) from every .png/.pgm/.ppm image in DIR, values in [0, 1]; RGB images are
// averaged to gray. Patch positions come from Philox keyed by the load seed.
Dataset load_image_patches(const std::string& rest, uint64_t seed, const std::string& spec) {
  std::string dir = rest;
  int64_t size = 64, count = 2000;
  const auto parse_int = [&](const std::string& text, const char* what) {
    char* end = nullptr;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || v < 1) {
      CRBM_FAIL(spec, ": ", what, " '", text,
                "' is not a positive integer (images:DIR[:SIZE[:COUNT]])");
    }
    return static_cast<int64_t>(v);
  };
  // Trailing numeric fields are SIZE and COUNT (a directory name may contain ':').
  std::vector<std::string> numbers;
  for (int i = 0; i < 2; ++i) {
    const size_t colon = dir.rfind(':');
    if (colon == std::string::npos) break;
    const std::string tail = dir.substr(colon + 1);
    if (tail.empty() || tail.find_first_not_of("0123456789") != std::string::npos) break;
    numbers.insert(numbers.begin(), tail);
    dir.resize(colon);
  }
  if (!numbers.empty()) size = parse_int(numbers[0], "SIZE");
  if (numbers.size() > 1) count = parse_int(numbers[1], "COUNT");
  DIR* handle = opendir(dir.c_str());
  if (handle == nullptr)
    CRBM_FAIL(spec, ": cannot open directory '", dir, "': ", std::strerror(errno));
  std::vector<std::string> files;
  while (const dirent* entry = readdir(handle)) {
    const std::string name = entry->d_name;
    if (ends_with(name, ".png") || ends_with(name, ".pgm") || ends_with(name, ".ppm")) {
      files.push_back(dir + "/" + name);
    }
  }
  closedir(handle);
  std::sort(files.begin(), files.end());  // the same patches whatever the directory order
  if (files.empty()) CRBM_FAIL(spec, ": no .png/.pgm/.ppm images in '", dir, "'");
  std::vector<HostTensor> images;
  for (const std::string& file : files) {
    HostTensor im = read_image(file);  // [C, H, W] in [0, 1]
    if (im.shape[0] != 1) {
      const int64_t c = im.shape[0], hw = im.shape[1] * im.shape[2];
      HostTensor gray({1, im.shape[1], im.shape[2]});
      for (int64_t i = 0; i < hw; ++i) {
        float s = 0.0f;
        for (int64_t k = 0; k < c; ++k) s += im.data[k * hw + i];
        gray.data[i] = s / static_cast<float>(c);
      }
      im = std::move(gray);
    }
    if (im.shape[1] < size || im.shape[2] < size) {
      CRBM_FAIL(spec, ": '", file, "' is ", im.shape[2], "x", im.shape[1], ", smaller than the ",
                size, "x", size, " patches");
    }
    images.push_back(std::move(im));
  }
  Dataset d;
  d.source = spec;
  d.x = extract_patches(images, size, count, seed);
  d.channels = 1;
  d.height = static_cast<int>(size);
  d.width = static_cast<int>(size);
  return d;
}

void check_finite(const Dataset& d) {
  const int64_t cols = std::max<int64_t>(d.dim(), 1);
  for (size_t i = 0; i < d.x.data.size(); ++i) {
    const float v = d.x.data[i];
    if (!std::isfinite(v)) {
      CRBM_FAIL(d.source, ": element ", i, " (row ", static_cast<int64_t>(i) / cols, ", column ",
                static_cast<int64_t>(i) % cols, ") is ", std::isnan(v) ? "NaN" : "Inf");
    }
  }
}

}  // namespace

// ---- uint8 rows ----

void HostBytes::rows_to_float(const std::vector<int32_t>& index, int64_t first, int64_t count,
                              float* dst) const {
  CRBM_CHECK_THROW(first >= 0 && count >= 0 && first + count <= static_cast<int64_t>(index.size()),
                   "rows_to_float: rows [", first, ", ", first + count, ") of ", index.size(),
                   " indices");
  for (int64_t r = 0; r < count; ++r) {
    const int64_t row = index[static_cast<size_t>(first + r)];
    CRBM_CHECK_THROW(row >= 0 && row < rows, "rows_to_float: index ", row, " outside ", rows,
                     " rows");
    const uint8_t* from = data.data() + row * cols;
    float* to = dst + r * cols;
    for (int64_t c = 0; c < cols; ++c) to[c] = static_cast<float>(from[c]) * scale;
  }
}

HostTensor HostBytes::to_float(int64_t first, int64_t count) const {
  CRBM_CHECK_THROW(first >= 0 && count >= 0 && first + count <= rows, "to_float: rows [", first,
                   ", ", first + count, ") of ", rows);
  HostTensor t({count, cols});
  const uint8_t* from = data.data() + first * cols;
  for (int64_t i = 0; i < count * cols; ++i) t.data[i] = static_cast<float>(from[i]) * scale;
  return t;
}

std::vector<double> HostBytes::column_means() const {
  std::vector<double> mean(static_cast<size_t>(cols), 0.0);
  if (rows == 0) return mean;
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* row = data.data() + r * cols;
    for (int64_t c = 0; c < cols; ++c) mean[c] += static_cast<float>(row[c]) * scale;
  }
  for (double& m : mean) m /= static_cast<double>(rows);
  return mean;
}

// ---- preprocessing ----

namespace {
constexpr EnumName<Binarize> kBinarizeNames[] = {{Binarize::none, "none"},
                                                 {Binarize::threshold, "threshold"},
                                                 {Binarize::stochastic, "stochastic"}};
}  // namespace

CRBM_ENUM_NAME_FUNCTIONS(Binarize, kBinarizeNames, parse_binarize, "binarization")

void binarize_threshold(HostTensor& x, float threshold) {
  for (float& v : x.data) v = v > threshold ? 1.0f : 0.0f;
}

void binarize_stochastic(HostTensor& x, uint64_t seed) {
  for (size_t i = 0; i < x.data.size(); ++i) {
    const float u = philox::uniform(seed, kBinarizeStream, 0, i);
    x.data[i] = math::bernoulli_from_uniform(x.data[i], u);
  }
}

Standardization standardize(HostTensor& x, float min_std) {
  const int64_t rows = x.shape.empty() ? 0 : x.rows();
  const int64_t cols = x.shape.empty() ? 0 : x.cols();
  Standardization s;
  s.mean.assign(static_cast<size_t>(cols), 0.0f);
  s.stddev.assign(static_cast<size_t>(cols), 1.0f);
  if (rows == 0) return s;
  std::vector<double> sum(static_cast<size_t>(cols), 0.0), sum_sq(static_cast<size_t>(cols), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) sum[c] += x.data[r * cols + c];
  }
  for (int64_t c = 0; c < cols; ++c) sum[c] /= static_cast<double>(rows);
  // Two passes: centred squares avoid the cancellation of E[x^2] - E[x]^2.
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const double dev = x.data[r * cols + c] - sum[c];
      sum_sq[c] += dev * dev;
    }
  }
  for (int64_t c = 0; c < cols; ++c) {
    s.mean[c] = static_cast<float>(sum[c]);
    const double sd = std::sqrt(sum_sq[c] / static_cast<double>(rows));
    s.stddev[c] = static_cast<float>(std::max<double>(sd, min_std));
  }
  apply_standardization(x, s);
  return s;
}

void apply_standardization(HostTensor& x, const Standardization& s) {
  const int64_t rows = x.shape.empty() ? 0 : x.rows();
  const int64_t cols = x.shape.empty() ? 0 : x.cols();
  CRBM_CHECK_THROW(
      static_cast<int64_t>(s.mean.size()) == cols && static_cast<int64_t>(s.stddev.size()) == cols,
      "standardization statistics for ", s.mean.size(), " columns applied to data of ", cols,
      " columns");
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      float& v = x.data[r * cols + c];
      v = (v - s.mean[c]) / s.stddev[c];
    }
  }
}

// ---- datasets ----

std::vector<std::string> builtin_dataset_names() {
  return {"bars", "bars3", "bars6", "blobs", "docs"};
}

Dataset load_dataset(const std::string& spec, const LoadOptions& opt) {
  if (opt.limit < 0) CRBM_FAIL(spec, ": limit must be >= 0 (0 = all rows), got ", opt.limit);
  Dataset d;
  const auto split_suffix = [](std::string& rest, std::string& split) {
    split = "train";
    for (const char* s : {"train", "test"}) {
      const std::string suffix = std::string(":") + s;
      if (ends_with(rest, suffix)) {
        split = s;
        rest.resize(rest.size() - suffix.size());
      }
    }
  };
  if (spec.empty() || starts_with(spec, "builtin:")) {
    const std::string name = spec.empty() ? "" : spec.substr(8);
    d = load_builtin(name, spec.empty() ? "builtin:bars" : spec);
  } else if (starts_with(spec, "mnist:")) {
    std::string dir = spec.substr(6), split;
    split_suffix(dir, split);
    if (dir.empty()) CRBM_FAIL(spec, ": expected mnist:DIR[:train|test]");
    d = load_mnist(dir, split, spec, opt.keep_bytes);
  } else if (spec == "fashion-mnist" || starts_with(spec, "fashion-mnist:")) {
    std::string rest = spec, split;
    split_suffix(rest, split);
    if (rest != "fashion-mnist") CRBM_FAIL(spec, ": expected fashion-mnist[:train|test]");
    if (!is_directory(kFashionMnistDir)) {
      CRBM_FAIL(spec, ": cannot open '", kFashionMnistDir,
                "': No such file or directory (install it with: apt-get install "
                "dataset-fashion-mnist)");
    }
    d = load_mnist(kFashionMnistDir, split, spec, opt.keep_bytes);
  } else if (starts_with(spec, "idx:")) {
    d = load_array(spec.substr(4), spec, /*npy=*/false, opt.keep_bytes);
  } else if (starts_with(spec, "npy:")) {
    d = load_array(spec.substr(4), spec, /*npy=*/true, opt.keep_bytes);
  } else if (starts_with(spec, "amat:")) {
    d = load_amat(spec.substr(5), spec);
  } else if (starts_with(spec, "docword:")) {
    d = load_docword(spec.substr(8), spec);
  } else if (starts_with(spec, "newsgroups:")) {
    std::string dir = spec.substr(11), split;
    split_suffix(dir, split);
    if (dir.empty()) CRBM_FAIL(spec, ": expected newsgroups:DIR[:train|test]");
    d = load_newsgroups(dir, split, spec);
  } else if (starts_with(spec, "images:")) {
    d = load_image_patches(spec.substr(7), opt.seed, spec);
  } else if (path_exists(spec) || !inferred_kind(spec).empty()) {
    const std::string kind = inferred_kind(spec);
    if (kind.empty()) {
      CRBM_FAIL("cannot tell the format of '", spec,
                "' from its name: prefix it with idx:, npy: or amat: (specs: ", kSpecHelp, ")");
    }
    return load_dataset(kind + ":" + spec, opt);
  } else {
    CRBM_FAIL("unknown dataset spec '", spec, "': not an existing path, and not one of ",
              kSpecHelp);
  }

  if (d.stored_as_bytes() && opt.binarize == Binarize::stochastic) {
    d.x = d.bytes.to_float();  // the draws are made on floats
    d.bytes = HostBytes();
  }
  if (opt.limit > 0 && opt.limit < d.size()) {
    const int64_t cols = d.dim();
    if (d.stored_as_bytes()) {
      d.bytes.rows = opt.limit;
      d.bytes.data.resize(static_cast<size_t>(opt.limit * cols));
    } else {
      d.x.shape[0] = opt.limit;
      d.x.data.resize(static_cast<size_t>(opt.limit * cols));
    }
    if (!d.labels.empty()) d.labels.resize(static_cast<size_t>(opt.limit));
  }
  if (d.size() < 1 || d.dim() < 1) {
    CRBM_FAIL(d.source, ": no rows (the data set is empty: ", d.size(), " rows of ", d.dim(),
              " values)");
  }
  check_finite(d);  // bytes are finite
  if (opt.binarize == Binarize::threshold) {
    if (d.stored_as_bytes()) {
      HostBytes& b = d.bytes;
      for (size_t i = 0; i < b.data.size(); ++i) b.data[i] = b.value(i) > 0.5f ? 1 : 0;
      b.scale = 1.0f;
    } else {
      binarize_threshold(d.x);
    }
  }
  if (opt.unit_interval) {
    float lo = 0.0f, hi = 0.0f;
    if (d.stored_as_bytes()) {  // the conversion is monotonic: the extreme bytes
      const auto [b_lo, b_hi] = std::minmax_element(d.bytes.data.begin(), d.bytes.data.end());
      lo = static_cast<float>(*b_lo) * d.bytes.scale;
      hi = static_cast<float>(*b_hi) * d.bytes.scale;
    } else {
      const auto [x_lo, x_hi] = std::minmax_element(d.x.data.begin(), d.x.data.end());
      lo = *x_lo;
      hi = *x_hi;
    }
    if (lo < 0.0f || hi > 1.0f) {
      CRBM_FAIL(d.source, ": values range over [", lo, ", ", hi,
                "], but bernoulli visible units need data in [0, 1] (use --visible gaussian "
                "for real-valued data, or binarize it with --binarize threshold)");
    }
  }
  if (opt.binarize == Binarize::stochastic) binarize_stochastic(d.x, opt.seed);
  return d;
}

Dataset split_holdout(Dataset& d, double fraction, uint64_t seed) {
  if (!(fraction >= 0.0 && fraction < 1.0)) {
    CRBM_FAIL(d.source, ": hold-out fraction must be in [0, 1), got ", fraction);
  }
  const int64_t n = d.size();
  int64_t held = static_cast<int64_t>(std::llround(fraction * static_cast<double>(n)));
  if (fraction > 0.0 && n > 1) held = std::min(std::max<int64_t>(held, 1), n - 1);
  if (n <= 1) held = 0;
  std::vector<char> chosen(static_cast<size_t>(n), 0);
  const std::vector<int64_t> perm = philox_permutation(n, seed, kHoldoutStream);
  for (int64_t i = 0; i < held; ++i) chosen[static_cast<size_t>(perm[i])] = 1;
  std::vector<int64_t> keep_rows, held_rows;
  for (int64_t r = 0; r < n; ++r) (chosen[r] ? held_rows : keep_rows).push_back(r);
  Dataset holdout = take_rows(d, held_rows, d.source + " (held out)");
  Dataset kept = take_rows(d, keep_rows, d.source);
  d = std::move(kept);
  return holdout;
}

}  // namespace crbm
