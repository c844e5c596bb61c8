// The file parsers the fuzz targets and the mutation test drive, by name:
// safetensors (load + checkpoint validation), npy, idx, amat, docword, image
// (PNG/PGM/PPM) and toml (what `--config FILE` reads). A parser may throw
// crbm::Error; CLI11's parse errors, which the tools turn into crbm::Error,
// are translated the same way here.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "crbm/bow.hpp"
#include "crbm/data.hpp"
#include "crbm/error.hpp"
#include "crbm/image.hpp"
#include "crbm/safetensors.hpp"

namespace crbm::fuzz {

inline const std::vector<std::string>& parser_names() {
  static const std::vector<std::string> names = {"safetensors", "npy",   "idx", "amat",
                                                 "docword",     "image", "toml"};
  return names;
}

inline void parse_file_as(const std::string& parser, const std::string& path) {
  if (parser == "safetensors") {
    validate_checkpoint(load_safetensors(path), path);
  } else if (parser == "npy") {
    read_npy(path);
  } else if (parser == "idx") {
    read_idx(path);
  } else if (parser == "amat") {
    load_dataset("amat:" + path);
  } else if (parser == "docword") {
    read_docword(path);
  } else if (parser == "image") {
    read_image(path);
  } else if (parser == "toml") {
    try {
      CLI::ConfigTOML().from_file(path);
    } catch (const CLI::Error& e) {
      throw Error(path + ": " + printable(e.what()));
    }
  } else {
    throw Error("unknown parser '" + parser + "'");
  }
}

}  // namespace crbm::fuzz
