// Command-line + INI configuration for every rlae subcommand (Boost.Program_options).
//
// Every option of a subcommand can be given on the command line (`--lr 3e-4`) or
// in the INI file named by `--config FILE` (`lr = 3e-4`); the command line wins.
// Bad input throws rlae::UsageError with one line naming the option and the
// expected form; the CLI turns that into exit code 2.
#pragma once

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/value_semantic.hpp>
#include <boost/program_options/variables_map.hpp>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <type_traits>
#include <vector>

#include "common/check.h"

namespace rlae {

namespace po = boost::program_options;

struct CommandSpec {
  std::string name;     // "train"
  std::string summary;  // one line for `rlae --help`
  std::string usage;    // "rlae train --config FILE [options]"
};

// Parses argv (argv[0] is the subcommand name) against `desc`, to which `--help`
// and `--config FILE` are added. Returns std::nullopt when --help was given (the
// help text has been written to `help_out`). Positional arguments are accepted
// only when `positional` names an option of `desc`.
// Called by parse_command_options once the command line parsed without error and
// without --help, before the command does any work (the entry point uses it to
// re-execute with OMP_WAIT_POLICY=PASSIVE only when there is work to do; help
// texts and argument errors print from the first process). Null: none.
void set_options_parsed_hook(void (*hook)());

std::optional<po::variables_map> parse_command_options(
    const CommandSpec& spec, const po::options_description& desc, int argc,
    const char* const* argv, std::ostream& help_out,
    const char* positional = nullptr);

// The fully resolved configuration in INI form: every option with a value,
// one `key = value` line each, sorted by key; options that took their default
// are marked with a trailing comment. Readable back by `--config`.
std::string format_resolved_config(const po::options_description& desc,
                                   const po::variables_map& vm);

// Writes format_resolved_config() to `path` atomically (temporary name, rename).
void write_resolved_config(const std::string& path, const po::options_description& desc,
                           const po::variables_map& vm);

// Typed option values with a readable placeholder ("FLOAT", "N", "FILE"...),
// used in --help and in error messages.
template <typename T>
po::typed_value<T>* opt(const char* placeholder) {
  return po::value<T>()->value_name(placeholder);
}
// The shortest decimal spelling that reads back as exactly x (0.2, not 0.20000000000000001).
std::string shortest_double(double x);

template <typename T>
po::typed_value<T>* opt(const char* placeholder, const T& default_value) {
  if constexpr (std::is_floating_point_v<T>) {
    return po::value<T>()->value_name(placeholder)->default_value(default_value,
                                                                 shortest_double(static_cast<double>(default_value)));
  } else {
    return po::value<T>()->value_name(placeholder)->default_value(default_value);
  }
}

// Runs `f`, which turns option values into settings (an enum name, a list, a
// policy spec): an rlae::Error it throws is a bad option value, rethrown as
// rlae::UsageError (exit 2) with `who` ("rlae eval: ") in front.
template <typename F>
auto option_values(const std::string& who, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    throw UsageError(who + e.what());
  }
}

// Splits "a,b,c" into {"a","b","c"}, trimming spaces; empty items are an error
// naming `what`.
std::vector<std::string> split_list(const std::string& text, const std::string& what);

// "1,32" -> {1, 32}: a list of decimal integers in [min, max]; rlae::UsageError
// naming `what` (the option) for an empty item, a non-number or one out of range.
std::vector<int64_t> parse_int_list(const std::string& text, const std::string& what, int64_t min, int64_t max);

}  // namespace rlae
