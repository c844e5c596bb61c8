// Entry point of the `crbm` command: builds the CLI11 app from the registered
// subcommands (one tools/cmd_<name>.cpp each), runs the chosen one, and turns
// every failure into one line "crbm: error: ..." on stderr and a non-zero exit.
#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <memory>
#include <new>
#include <string>

#include "common.hpp"
#include "crbm/train.hpp"

namespace {

// The subcommand named on the command line, for the "run 'crbm X --help'" hint.
std::string subcommand_in_argv(const CLI::App& app, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    for (const CLI::App* sub : app.get_subcommands({})) {
      if (sub->get_name() == argv[i]) return sub->get_name();
    }
  }
  return "";
}

int report(const std::string& message, int code) {
  std::fflush(stdout);
  fmt::print(stderr, "crbm: error: {}\n", crbm::tools::one_line(message));
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "crbm: train restricted Boltzmann machines and use them (libcrbm " +
          std::string(crbm::tools::kVersion) +
          ").\nStart with 'crbm train' (trains on a built-in toy dataset), then 'crbm info', "
          "'crbm sample' and 'crbm transform' on the model it writes.",
      "crbm"};
  app.require_subcommand(1);
  app.set_version_flag("--version", crbm::tools::kVersion);
  // Hidden aliases (older spellings) stay out of --help; subcommands inherit the formatter.
  app.formatter(std::make_shared<crbm::tools::HelpFormatter>());
  app.get_formatter()->column_width(38);
  // A repeated option takes its last value (scripts can append overrides).
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  for (crbm::tools::RegisterFn fn : crbm::tools::registered_subcommands()) fn(app);

  if (argc < 2) {  // a bare `crbm`: show what there is
    fmt::print("{}", app.help());
    return 2;
  }
  if (argv[1][0] != '-' && subcommand_in_argv(app, 2, argv).empty()) {
    std::string names;
    for (const CLI::App* sub : app.get_subcommands({})) {
      names += (names.empty() ? "" : ", ") + sub->get_name();
    }
    return report(
        fmt::format("unknown command '{}' (commands: {}; run 'crbm --help')", argv[1], names), 2);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --help-all, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    const std::string sub = subcommand_in_argv(app, argc, argv);
    const std::string hint = sub.empty() ? "crbm --help" : "crbm " + sub + " --help";
    return report(fmt::format("{} (run '{}')", e.what(), hint), 2);
  } catch (const crbm::DivergenceError& e) {
    return report(e.what(), 3);
  } catch (const std::bad_alloc&) {
    // Sizes set by options are checked before allocating (crbm/memory.hpp); this
    // is the last resort for the rest.
    return report(
        "out of memory: a host allocation failed; lower the sizes the options set (--limit, "
        "--batch-size, --hidden, --chains, --ais-runs, --ais-steps) or free memory",
        1);
  } catch (const std::exception& e) {
    return report(e.what(), 1);
  }
  return 0;
}
