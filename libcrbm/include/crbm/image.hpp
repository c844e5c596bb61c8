// Images on the host: PNG grids of tiles (filters, samples, reconstructions),
// plain PNG writing, and reading 8-bit PNG / binary PGM / PPM into [C, H, W]
// floats in [0, 1]. Writes are atomic.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "crbm/tensor.hpp"

namespace crbm {

// How tile values become 0..255:
//   per_tile: each tile's own min..max -> 0..255 (filters; a constant tile is mid-gray)
//   global:   one min..max over all tiles (constant input -> mid-gray)
//   unit:     clamp to [0, 1] -> 0..255 (probabilities, samples)
// Non-finite values: NaN -> 0, +Inf -> 255, -Inf -> 0; they do not enter min/max.
enum class TileScale { per_tile, global, unit };

struct GridOptions {
  int columns = 0;  // tiles per row; 0 = ceil(sqrt(n))
  int padding = 1;  // pixels between tiles and around the border
  TileScale scale = TileScale::per_tile;
  int zoom = 1;           // each pixel (padding included) becomes zoom x zoom
  uint8_t pad_value = 0;  // gray level of the padding
};

// tiles: (N, C*H*W), C = 1 (gray) or 3 (RGB), each tile planar C x H x W.
// The grid is columns x rows = ceil(N / columns) tiles; its size in pixels is
//   width  = zoom * (columns * (W + padding) + padding)
//   height = zoom * (rows    * (H + padding) + padding).
// Unused cells at the end are padding. Written atomically as one PNG.
void write_png_grid(const std::string& path, const HostTensor& tiles, int channels, int height,
                    int width, const GridOptions& opt = {});

// pixels: interleaved 8-bit, height rows of width * channels bytes; channels 1 (gray),
// 2 (gray+alpha), 3 (RGB) or 4 (RGBA). Written atomically.
void write_png(const std::string& path, const std::vector<uint8_t>& pixels, int width, int height,
               int channels);

// Reads a PNG (any bit depth / palette; alpha is dropped, 16-bit reduced to 8-bit)
// or a binary PGM (P5) / PPM (P6) into a [C, H, W] tensor with values in [0, 1];
// C = 1 for gray images, 3 for color.
HostTensor read_image(const std::string& path);

}  // namespace crbm
