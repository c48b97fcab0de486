// libFuzzer target for INI option files (common/options.cpp: --config FILE of
// every subcommand) and the INI reader of run directories (read_ini_settings,
// common/sweep_grid.cpp).
//
//   tests/fuzz/run.sh ini [SECONDS]
//
// An input is the text of an INI file, parsed against an option table with
// rlae train's kinds of values (string, int, long long, double, bool, a
// switch). It must parse or throw rlae::Error (a UsageError naming the option);
// anything else (a crash, a sanitizer report, a Boost exception escaping) is a
// finding. A file that parses is written back as the resolved configuration
// (format_resolved_config, what every run saves as config.ini), which must
// parse again to the same configuration.
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "common/check.h"
#include "common/options.h"
#include "common/sweep_grid.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

rlae::po::options_description table() {
  using rlae::opt;
  rlae::po::options_description d("fuzz");
  d.add_options()
      ("members", opt<std::string>("DIR[,DIR...]"), "")
      ("out", opt<std::string>("DIR", "runs/train"), "")
      ("seed", opt<long long>("S", 0), "")
      ("iterations", opt<int>("N", 100), "")
      ("lr", opt<double>("FLOAT", 1e-4), "")
      ("clip", opt<double>("FLOAT", 0.2), "")
      ("replay", opt<bool>("BOOL", true), "")
      ("resume", rlae::po::bool_switch(), "");
  return d;
}

// The resolved text without the "# default" markers (a value read back from a
// file is no longer a default).
std::string without_markers(std::string s) {
  const std::string marker = "  # default";
  for (size_t at; (at = s.find(marker)) != std::string::npos;) s.erase(at, marker.size());
  return s;
}

std::string resolve(const rlae::po::options_description& desc, const std::string& path) {
  const char* argv[] = {"fuzz", "--config", path.c_str()};
  std::ostringstream help;
  const auto vm = rlae::parse_command_options({"fuzz", "", ""}, desc, 3, argv, help);
  if (!vm) std::abort();  // no --help was given
  return rlae::format_resolved_config(desc, *vm);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const rlae::po::options_description desc = table();
  static const std::string path = fuzz::scratch_path("ini", ".ini");
  static const std::string again = fuzz::scratch_path("ini", ".resolved.ini");
  fuzz::write_bytes(path, std::string(reinterpret_cast<const char*>(data), size));
  try {
    (void)rlae::read_ini_settings(path);
  } catch (const rlae::Error&) {
  }
  std::string first;
  try {
    first = resolve(desc, path);
  } catch (const rlae::Error&) {
    return 0;  // rejected with a reason: fine
  }
  fuzz::write_bytes(again, first);
  const std::string second = resolve(desc, again);  // must not throw: rlae wrote it
  if (without_markers(first) != without_markers(second)) std::abort();
  return 0;
}
