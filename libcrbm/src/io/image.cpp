// PNG grids of tiles and PNG/PGM/PPM reading, on libpng's simplified API
// (png_image_*: no setjmp/longjmp, so C++ exceptions never cross libpng frames).
// Grid geometry: width = zoom * (cols * (W + pad) + pad), likewise for the height.
#include "crbm/image.hpp"

#include <png.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>

#include "crbm/atomic_file.hpp"

namespace crbm {
namespace {

constexpr int64_t kMaxImageBytes = int64_t{1} << 31;
constexpr int64_t kMaxImageSide = 1000000;  // libpng's default user limit

uint8_t to_byte(float t) {  // t in [0, 1] (NaN -> 0)
  if (!(t > 0.0f)) return 0;
  if (t >= 1.0f) return 255;
  return static_cast<uint8_t>(std::lround(t * 255.0f));
}

struct Range {
  float lo = INFINITY, hi = -INFINITY;
  void add(float v) {
    if (std::isfinite(v)) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  uint8_t map(float v) const {
    if (std::isnan(v)) return 0;
    if (std::isinf(v)) return v > 0 ? 255 : 0;
    if (!(hi > lo)) return 128;  // constant (or no finite values): mid-gray
    return to_byte((v - lo) / (hi - lo));
  }
};

// Skips whitespace and '#' comments in a PNM header.
size_t skip_pnm_space(const std::vector<uint8_t>& b, size_t pos) {
  while (pos < b.size()) {
    if (b[pos] == '#') {
      while (pos < b.size() && b[pos] != '\n') ++pos;
    } else if (std::isspace(b[pos])) {
      ++pos;
    } else {
      break;
    }
  }
  return pos;
}

int64_t read_pnm_int(const std::vector<uint8_t>& b, size_t& pos, const std::string& path) {
  pos = skip_pnm_space(b, pos);
  if (pos >= b.size() || !std::isdigit(b[pos])) CRBM_FAIL(path, ": malformed PGM/PPM header");
  int64_t v = 0;
  while (pos < b.size() && std::isdigit(b[pos])) {
    v = v * 10 + (b[pos++] - '0');
    if (v > kMaxImageSide) CRBM_FAIL(path, ": PGM/PPM header value too large");
  }
  return v;
}

HostTensor read_pnm(const std::vector<uint8_t>& b, const std::string& path) {
  const int channels = b[1] == '5' ? 1 : 3;
  size_t pos = 2;
  const int64_t width = read_pnm_int(b, pos, path);
  const int64_t height = read_pnm_int(b, pos, path);
  const int64_t maxval = read_pnm_int(b, pos, path);
  if (width <= 0 || height <= 0 || maxval <= 0 || maxval > 65535) {
    CRBM_FAIL(path, ": bad PGM/PPM header (", width, " x ", height, ", maxval ", maxval, ")");
  }
  if (pos >= b.size() || !std::isspace(b[pos])) CRBM_FAIL(path, ": malformed PGM/PPM header");
  ++pos;  // exactly one whitespace byte before the raster
  const int64_t sample_bytes = maxval > 255 ? 2 : 1;
  const int64_t count = width * height * channels;
  if (count * sample_bytes > static_cast<int64_t>(b.size() - pos)) {
    CRBM_FAIL(path, ": truncated: header says ", width, " x ", height, " x ", channels, " = ",
              count * sample_bytes, " bytes, file has ", b.size() - pos);
  }
  HostTensor t({channels, height, width});
  const float scale = 1.0f / static_cast<float>(maxval);
  const uint8_t* src = b.data() + pos;
  for (int64_t i = 0; i < count; ++i) {  // i runs over interleaved (y, x, c)
    const int64_t value =
        sample_bytes == 2 ? (int64_t{src[2 * i]} << 8) | src[2 * i + 1] : int64_t{src[i]};
    const int64_t c = i % channels, pixel = i / channels;
    t.data[c * height * width + pixel] = std::min(1.0f, static_cast<float>(value) * scale);
  }
  return t;
}

HostTensor read_png_bytes(const std::vector<uint8_t>& b, const std::string& path) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, b.data(), b.size())) {
    CRBM_FAIL(path, ": cannot read PNG: ", image.message);
  }
  const int channels = (image.format & PNG_FORMAT_FLAG_COLOR) ? 3 : 1;
  image.format = channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  const int64_t width = image.width, height = image.height;
  if (width * height * channels > kMaxImageBytes) {
    png_image_free(&image);
    CRBM_FAIL(path, ": image too large (", width, " x ", height, ")");
  }
  std::vector<uint8_t> pixels(static_cast<size_t>(width * height * channels));
  if (!png_image_finish_read(&image, nullptr, pixels.data(), 0, nullptr)) {
    const std::string message = image.message;
    png_image_free(&image);
    CRBM_FAIL(path, ": cannot read PNG: ", message);
  }
  HostTensor t({channels, height, width});
  for (int64_t p = 0; p < width * height; ++p) {
    for (int c = 0; c < channels; ++c) {
      t.data[c * width * height + p] = pixels[p * channels + c] * (1.0f / 255.0f);
    }
  }
  return t;
}

}  // namespace

void write_png(const std::string& path, const std::vector<uint8_t>& pixels, int width, int height,
               int channels) {
  if (width <= 0 || height <= 0 || width > kMaxImageSide || height > kMaxImageSide) {
    CRBM_FAIL("cannot write '", path, "': bad image size ", width, " x ", height);
  }
  if (channels < 1 || channels > 4) {
    CRBM_FAIL("cannot write '", path, "': ", channels, " channels (expected 1, 2, 3 or 4)");
  }
  if (static_cast<int64_t>(pixels.size()) != int64_t{width} * height * channels) {
    CRBM_FAIL("cannot write '", path, "': ", pixels.size(), " bytes for a ", width, " x ", height,
              " x ", channels, " image");
  }
  static const png_uint_32 kFormats[] = {PNG_FORMAT_GRAY, PNG_FORMAT_GA, PNG_FORMAT_RGB,
                                         PNG_FORMAT_RGBA};
  write_file_atomically(path, [&](std::FILE* f) {
    png_image image;
    std::memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = static_cast<png_uint_32>(width);
    image.height = static_cast<png_uint_32>(height);
    image.format = kFormats[channels - 1];
    if (!png_image_write_to_stdio(&image, f, 0, pixels.data(), 0, nullptr)) {
      const std::string message = image.message;
      png_image_free(&image);
      CRBM_FAIL("libpng: ", message);
    }
  });
}

void write_png_grid(const std::string& path, const HostTensor& tiles, int channels, int height,
                    int width, const GridOptions& opt) {
  if (channels != 1 && channels != 3) {
    CRBM_FAIL("cannot write '", path, "': tiles must have 1 or 3 channels, got ", channels);
  }
  if (height <= 0 || width <= 0 || opt.padding < 0 || opt.zoom < 1 || opt.columns < 0) {
    CRBM_FAIL("cannot write '", path, "': bad grid geometry (tile ", height, " x ", width,
              ", padding ", opt.padding, ", zoom ", opt.zoom, ", columns ", opt.columns, ")");
  }
  const int64_t tile_size = int64_t{channels} * height * width;
  const int64_t n = tiles.shape.empty() ? 0 : tiles.rows();
  if (n == 0 || tiles.numel() != n * tile_size) {
    CRBM_FAIL("cannot write '", path, "': tiles of shape ", tiles.shape_string(),
              " are not (N >= 1, ", channels, "*", height, "*", width, " = ", tile_size, ")");
  }
  const int64_t cols = opt.columns > 0
                           ? opt.columns
                           : static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(n))));
  const int64_t rows = (n + cols - 1) / cols;
  const int64_t pad = opt.padding, zoom = opt.zoom;
  const int64_t grid_w = cols * (width + pad) + pad, grid_h = rows * (height + pad) + pad;
  const int64_t out_w = grid_w * zoom, out_h = grid_h * zoom;
  if (out_w > kMaxImageSide || out_h > kMaxImageSide || out_w * out_h * channels > kMaxImageBytes) {
    CRBM_FAIL("cannot write '", path, "': grid of ", out_w, " x ", out_h, " pixels is too large");
  }
  Range global;
  if (opt.scale == TileScale::global) {
    for (const float v : tiles.data) global.add(v);
  }
  std::vector<uint8_t> grid(static_cast<size_t>(grid_w * grid_h * channels), opt.pad_value);
  for (int64_t i = 0; i < n; ++i) {
    const float* tile = tiles.data.data() + i * tile_size;
    Range range = global;
    if (opt.scale == TileScale::per_tile) {
      range = Range{};
      for (int64_t k = 0; k < tile_size; ++k) range.add(tile[k]);
    }
    const int64_t x0 = pad + (i % cols) * (width + pad), y0 = pad + (i / cols) * (height + pad);
    for (int c = 0; c < channels; ++c) {
      for (int y = 0; y < height; ++y) {
        for (int x = 0; x < width; ++x) {
          const float v = tile[(int64_t{c} * height + y) * width + x];
          uint8_t byte;
          if (opt.scale == TileScale::unit) {
            byte = std::isinf(v) ? (v > 0 ? 255 : 0) : to_byte(v);
          } else {
            byte = range.map(v);
          }
          grid[((y0 + y) * grid_w + x0 + x) * channels + c] = byte;
        }
      }
    }
  }
  if (zoom == 1) {
    write_png(path, grid, static_cast<int>(grid_w), static_cast<int>(grid_h), channels);
    return;
  }
  std::vector<uint8_t> zoomed(static_cast<size_t>(out_w * out_h * channels));
  for (int64_t y = 0; y < out_h; ++y) {
    for (int64_t x = 0; x < out_w; ++x) {
      std::memcpy(&zoomed[(y * out_w + x) * channels],
                  &grid[((y / zoom) * grid_w + x / zoom) * channels], channels);
    }
  }
  write_png(path, zoomed, static_cast<int>(out_w), static_cast<int>(out_h), channels);
}

HostTensor read_image(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file_contents(path, kMaxImageBytes);
  static const uint8_t kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (bytes.size() >= 8 && std::memcmp(bytes.data(), kPngSignature, 8) == 0) {
    return read_png_bytes(bytes, path);
  }
  if (bytes.size() >= 3 && bytes[0] == 'P' && (bytes[1] == '5' || bytes[1] == '6')) {
    return read_pnm(bytes, path);
  }
  CRBM_FAIL(path, ": unsupported image format (expected PNG or binary PGM/PPM, P5/P6)");
}

}  // namespace crbm
