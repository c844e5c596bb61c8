// PNG grids: size from the padding/zoom geometry, pixel values for a known
// pattern under each TileScale, and reading PNG/PGM back as [C, H, W] in [0, 1].
#include "crbm/image.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "crbm/data.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;

class ImageTest : public crbm::testing::TempDirTest {};

// Pixel (c, y, x) of a [C, H, W] image as a byte.
int byte_at(const crbm::HostTensor& img, int c, int y, int x) {
  const int64_t h = img.shape[1], w = img.shape[2];
  return static_cast<int>(std::lround(img.data[(c * h + y) * w + x] * 255.0f));
}

TEST_F(ImageTest, GridGeometryAndUnitScale) {
  // 5 tiles of 2 x 3, values k/10 + pixel/100 in [0, 1].
  const int n = 5, h = 2, w = 3;
  crbm::HostTensor tiles({n, h * w});
  for (int k = 0; k < n; ++k)
    for (int p = 0; p < h * w; ++p) tiles.data[k * h * w + p] = k / 10.0f + p / 100.0f;
  crbm::GridOptions opt;
  opt.scale = crbm::TileScale::unit;
  opt.padding = 2;
  opt.pad_value = 77;
  crbm::write_png_grid(path("g.png"), tiles, 1, h, w, opt);
  const crbm::HostTensor img = crbm::read_image(path("g.png"));
  // Default columns = ceil(sqrt(5)) = 3, rows = 2.
  ASSERT_EQ(img.shape, (std::vector<int64_t>{1, 2 * (h + 2) + 2, 3 * (w + 2) + 2}));
  EXPECT_EQ(byte_at(img, 0, 0, 0), 77);
  for (int k = 0; k < n; ++k) {
    const int x0 = 2 + (k % 3) * (w + 2), y0 = 2 + (k / 3) * (h + 2);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const float v = k / 10.0f + (y * w + x) / 100.0f;
        EXPECT_EQ(byte_at(img, 0, y0 + y, x0 + x), std::lround(v * 255.0f)) << k << " " << y << x;
      }
  }
  // The unused sixth cell is padding.
  EXPECT_EQ(byte_at(img, 0, 2 + h + 2, 2 + 2 * (w + 2)), 77);
}

TEST_F(ImageTest, PerTileGlobalAndZoom) {
  crbm::HostTensor tiles({2, 4});
  tiles.data = {-1.0f, 0.0f,  1.0f,  3.0f,    // tile 0: min -1, max 3
                10.0f, 10.0f, 10.0f, 10.0f};  // tile 1: constant
  crbm::GridOptions opt;
  opt.columns = 2;
  opt.padding = 1;
  opt.zoom = 3;
  crbm::write_png_grid(path("p.png"), tiles, 1, 2, 2, opt);
  const crbm::HostTensor img = crbm::read_image(path("p.png"));
  ASSERT_EQ(img.shape, (std::vector<int64_t>{1, 3 * (1 * 3 + 1), 3 * (2 * 3 + 1)}));
  // Tile 0 at grid (1, 1) -> zoomed pixels (3..5, 3..5); per-tile: -1 -> 0, 3 -> 255.
  EXPECT_EQ(byte_at(img, 0, 3, 3), 0);
  EXPECT_EQ(byte_at(img, 0, 5, 5), 0);
  EXPECT_EQ(byte_at(img, 0, 3, 6), std::lround(0.25f * 255));
  EXPECT_EQ(byte_at(img, 0, 6, 3), std::lround(0.5f * 255));
  EXPECT_EQ(byte_at(img, 0, 8, 8), 255);
  EXPECT_EQ(byte_at(img, 0, 3, 12), 128);  // constant tile: mid-gray
  EXPECT_EQ(byte_at(img, 0, 2, 2), 0);     // padding
  opt.scale = crbm::TileScale::global;
  opt.zoom = 1;
  crbm::write_png_grid(path("q.png"), tiles, 1, 2, 2, opt);
  const crbm::HostTensor g = crbm::read_image(path("q.png"));
  EXPECT_EQ(byte_at(g, 0, 1, 1), 0);                                // -1
  EXPECT_EQ(byte_at(g, 0, 2, 2), std::lround(4.0f / 11.0f * 255));  // 3 in [-1, 10]
  EXPECT_EQ(byte_at(g, 0, 1, 4), 255);                              // 10
}

TEST_F(ImageTest, RgbTilesAreColor) {
  crbm::HostTensor tiles({1, 3 * 1 * 2});
  tiles.data = {1.0f, 0.0f,   // R plane
                0.0f, 1.0f,   // G plane
                0.5f, 0.5f};  // B plane
  crbm::GridOptions opt;
  opt.scale = crbm::TileScale::unit;
  opt.padding = 0;
  crbm::write_png_grid(path("rgb.png"), tiles, 3, 1, 2, opt);
  const crbm::HostTensor img = crbm::read_image(path("rgb.png"));
  ASSERT_EQ(img.shape, (std::vector<int64_t>{3, 1, 2}));
  EXPECT_EQ(byte_at(img, 0, 0, 0), 255);
  EXPECT_EQ(byte_at(img, 1, 0, 0), 0);
  EXPECT_EQ(byte_at(img, 1, 0, 1), 255);
  EXPECT_EQ(byte_at(img, 2, 0, 1), 128);
}

TEST_F(ImageTest, WritePngAndReadPgm) {
  crbm::write_png(path("w.png"), {0, 50, 100, 150, 200, 250}, 3, 2, 1);
  const crbm::HostTensor img = crbm::read_image(path("w.png"));
  ASSERT_EQ(img.shape, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(byte_at(img, 0, 1, 2), 250);
  // Binary PGM with a comment in the header.
  std::ofstream(path("a.pgm"), std::ios::binary) << "P5\n# comment\n3 2\n255\n"
                                                 << std::string("\x00\x10\x20\x30\x40\xff", 6);
  const crbm::HostTensor pgm = crbm::read_image(path("a.pgm"));
  ASSERT_EQ(pgm.shape, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(byte_at(pgm, 0, 0, 1), 16);
  EXPECT_EQ(byte_at(pgm, 0, 1, 2), 255);
}

// images:DIR[:SIZE[:COUNT]]: patches cut from every image of a directory; RGB
// averaged to gray; each patch is a window of its source image.
TEST_F(ImageTest, ImagePatchDataset) {
  std::vector<uint8_t> gray(20 * 12);
  for (size_t i = 0; i < gray.size(); ++i) gray[i] = static_cast<uint8_t>(i % 251);
  crbm::write_png(path("a.png"), gray, 20, 12, 1);
  std::vector<uint8_t> rgb(16 * 16 * 3, 0);
  for (size_t i = 0; i < 16 * 16; ++i) rgb[3 * i] = 90;  // red only: gray = 30
  crbm::write_png(path("b.png"), rgb, 16, 16, 3);
  crbm::LoadOptions opt;
  opt.seed = 3;
  const crbm::Dataset d = crbm::load_dataset("images:" + dir_.string() + ":8:50", opt);
  ASSERT_EQ(d.x.shape, (std::vector<int64_t>{50, 64}));
  EXPECT_EQ(d.height, 8);
  EXPECT_EQ(d.width, 8);
  int from_rgb = 0;
  for (int64_t p = 0; p < 50; ++p) {
    const float* patch = d.x.data.data() + p * 64;
    if (std::fabs(patch[0] - 30.0f / 255.0f) < 1e-6f && patch[63] == patch[0]) {
      ++from_rgb;
      continue;
    }
    // A window of the gradient image: find its top-left in a.png and compare all 64.
    bool found = false;
    for (int top = 0; top + 8 <= 12 && !found; ++top) {
      for (int left = 0; left + 8 <= 20 && !found; ++left) {
        bool same = true;
        for (int y = 0; y < 8 && same; ++y)
          for (int x = 0; x < 8 && same; ++x)
            same = std::lround(patch[y * 8 + x] * 255.0f) == gray[(top + y) * 20 + left + x];
        found = same;
      }
    }
    EXPECT_TRUE(found) << "patch " << p << " is not a window of either image";
  }
  EXPECT_GT(from_rgb, 0);
  EXPECT_LT(from_rgb, 50);
  // Same seed, same patches; patches larger than an image are refused by name.
  EXPECT_EQ(crbm::load_dataset("images:" + dir_.string() + ":8:50", opt).x.data, d.x.data);
  try {
    crbm::load_dataset("images:" + dir_.string() + ":14", opt);
    FAIL() << "expected an error";
  } catch (const crbm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("a.png"), std::string::npos) << e.what();
  }
  EXPECT_THROW(crbm::load_dataset("images:" + path("missing").string(), opt), crbm::Error);
}

TEST_F(ImageTest, Errors) {
  EXPECT_THROW(crbm::write_png(path("x.png"), {1, 2, 3}, 2, 2, 1), crbm::Error);
  EXPECT_THROW(crbm::write_png_grid(path("x.png"), crbm::HostTensor({2, 5}), 1, 2, 2), crbm::Error);
  EXPECT_THROW(crbm::write_png_grid(path("x.png"), crbm::HostTensor({2, 8}), 2, 2, 2), crbm::Error);
  EXPECT_FALSE(fs::exists(path("x.png")));
  std::ofstream(path("t.pgm"), std::ios::binary) << "P5\n30 20\n255\nabc";
  try {
    crbm::read_image(path("t.pgm"));
    ADD_FAILURE() << "truncated PGM accepted";
  } catch (const crbm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
  std::ofstream(path("j.jpg"), std::ios::binary) << "\xff\xd8\xff\xe0 not supported";
  EXPECT_THROW(crbm::read_image(path("j.jpg")), crbm::Error);
  std::ofstream(path("bad.png"), std::ios::binary) << "\x89PNG\r\n\x1a\n garbage after signature";
  EXPECT_THROW(crbm::read_image(path("bad.png")), crbm::Error);
  EXPECT_THROW(crbm::read_image(path("none.png")), crbm::Error);
}

TEST(RealImages, NaturalImagesIfAvailable) {
  const char* root = std::getenv("CRBM_DATA_DIR");
  const fs::path dir = root ? fs::path(root) / "natural_images" : fs::path();
  if (root == nullptr || !fs::exists(dir / "gray_pgm" / "skimage_camera.pgm")) {
    GTEST_SKIP() << "set CRBM_DATA_DIR to a directory with natural_images/ to run";
  }
  const crbm::HostTensor pgm = crbm::read_image((dir / "gray_pgm" / "skimage_camera.pgm").string());
  EXPECT_EQ(pgm.shape, (std::vector<int64_t>{1, 512, 512}));
  const crbm::HostTensor png = crbm::read_image((dir / "original" / "skimage_camera.png").string());
  EXPECT_EQ(png.shape[1], 512);
  for (const float v : png.data) ASSERT_TRUE(v >= 0.0f && v <= 1.0f);
}

}  // namespace
