// Deterministic mutation test of every file parser (the fuzz targets' parsers,
// tests/fuzz/parsers.hpp): each seed file of tests/fuzz/corpus/<parser>/ is
// parsed as is (it must load), then as seeded mutants -- byte flips, special
// values, truncations, insertions, duplicated ranges. A mutant may load or be
// rejected with crbm::Error; any other exception fails the test (a crash or a
// sanitizer report ends it). The libFuzzer runs in .ci/run go further.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "fuzz/parsers.hpp"
#include "support/temp_dir.hpp"

namespace crbm {
namespace {

namespace fs = std::filesystem;

constexpr int kMutantsPerSeed = 120;

using testing::read_file;
using testing::write_file;

std::string mutate(std::string s, std::mt19937_64& rng) {
  auto pick = [&](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  const int ops = 1 + static_cast<int>(rng() % 3);
  for (int op = 0; op < ops; ++op) {
    switch (rng() % 6) {
      case 0:  // random byte
        if (!s.empty()) s[pick(s.size())] = static_cast<char>(rng());
        break;
      case 1: {  // special value (sizes, signs, NaN bits)
        static const unsigned char kSpecial[] = {0x00, 0xff, 0x7f, 0x80, 0x01, 0x7f, '9', '-'};
        if (!s.empty()) s[pick(s.size())] = static_cast<char>(kSpecial[pick(sizeof kSpecial)]);
        break;
      }
      case 2:  // truncation
        s.resize(pick(s.size() + 1));
        break;
      case 3: {  // inserted bytes
        std::string junk(1 + pick(8), '\0');
        for (char& c : junk) c = static_cast<char>(rng());
        s.insert(pick(s.size() + 1), junk);
        break;
      }
      case 4: {  // a range duplicated (repeated lines, tensors, chunks)
        if (s.empty()) break;
        const size_t at = pick(s.size()), len = 1 + pick(std::min<size_t>(32, s.size() - at));
        s.insert(at, s.substr(at, len));
        break;
      }
      default:  // bit flip
        if (!s.empty()) s[pick(s.size())] ^= static_cast<char>(1u << pick(8));
        break;
    }
  }
  return s;
}

TEST(MutationTest, EveryParserRejectsMutantsOnlyWithCrbmError) {
  const fs::path corpus = fs::path(CRBM_SOURCE_DIR) / "tests" / "fuzz" / "corpus";
  const fs::path dir = fs::temp_directory_path() / ("crbm_mutation_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  uint64_t seed = 0;
  for (const std::string& parser : fuzz::parser_names()) {
    std::vector<fs::path> seeds;
    for (const auto& e : fs::directory_iterator(corpus / parser)) seeds.push_back(e.path());
    std::sort(seeds.begin(), seeds.end());
    ASSERT_FALSE(seeds.empty()) << "no seed files for " << parser;
    int accepted = 0, rejected = 0;
    for (const fs::path& seed_file : seeds) {
      const std::string original = read_file(seed_file);
      // Keep the seed's name: some parsers look at the extension.
      const fs::path mutant = dir / seed_file.filename();
      write_file(mutant, original);
      EXPECT_NO_THROW(fuzz::parse_file_as(parser, mutant.string())) << seed_file;
      std::mt19937_64 rng(++seed);
      for (int i = 0; i < kMutantsPerSeed; ++i) {
        const std::string bytes = mutate(original, rng);
        write_file(mutant, bytes);
        try {
          fuzz::parse_file_as(parser, mutant.string());
          ++accepted;
        } catch (const Error& e) {
          ++rejected;
          const std::string what = e.what();
          // One line, printable: the messages quote file bytes only escaped.
          for (const char c : what) {
            const auto u = static_cast<unsigned char>(c);
            ASSERT_TRUE(u >= 0x20 && u < 0x7f)
                << parser << " " << seed_file.filename() << " mutant " << i << ": unescaped byte "
                << int{u} << " in: " << printable(what);
          }
        } catch (const std::exception& e) {
          ADD_FAILURE() << parser << " " << seed_file.filename() << " mutant " << i
                        << " threw a non-crbm exception: " << e.what();
        }
      }
    }
    std::printf(
        "[ mutation ] %-12s %zu seeds, %d mutants: %d loaded, %d rejected with crbm::Error\n",
        parser.c_str(), seeds.size(), accepted + rejected, accepted, rejected);
    // CLI11's TOML/INI reader takes nearly any text; the others must notice damage.
    if (parser != "toml") {
      EXPECT_GT(rejected, 0) << parser << ": no mutant was rejected";
    }
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace crbm
