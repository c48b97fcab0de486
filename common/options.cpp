#include "common/options.h"

#include <algorithm>
#include <boost/any.hpp>
#include <boost/program_options/errors.hpp>
#include <boost/program_options/parsers.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/check.h"
#include "common/fs.h"

namespace rlae {

std::string shortest_double(double x) {
  char buf[40];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, x);
    if (std::strtod(buf, nullptr) == x) break;
  }
  return buf;
}

namespace {

// The placeholder of an option ("FLOAT"), for "expected ..." in messages.
std::string expected_form(const po::options_description& desc, const std::string& name) {
  std::string key = name;
  while (!key.empty() && key.front() == '-') key.erase(key.begin());
  const po::option_description* d = desc.find_nothrow(key, /*approx=*/false);
  if (d == nullptr) return {};
  std::string form = d->semantic()->name();  // "FLOAT (=0.0001)" when defaulted
  const auto paren = form.find(" (=");
  if (paren != std::string::npos) form.resize(paren);
  return form == "arg" ? std::string() : form;
}

std::string any_to_string(const boost::any& v) {
  std::ostringstream os;
  os.precision(17);
  if (const auto* s = boost::any_cast<std::string>(&v)) return *s;
  if (const auto* b = boost::any_cast<bool>(&v)) return *b ? "true" : "false";
  if (const auto* i = boost::any_cast<int>(&v)) return std::to_string(*i);
  if (const auto* i = boost::any_cast<unsigned>(&v)) return std::to_string(*i);
  if (const auto* i = boost::any_cast<long>(&v)) return std::to_string(*i);
  if (const auto* i = boost::any_cast<long long>(&v)) return std::to_string(*i);
  if (const auto* i = boost::any_cast<unsigned long>(&v)) return std::to_string(*i);
  if (const auto* d = boost::any_cast<double>(&v)) return shortest_double(*d);
  if (const auto* f = boost::any_cast<float>(&v)) return shortest_double(static_cast<double>(*f));
  if (const auto* vs = boost::any_cast<std::vector<std::string>>(&v)) {
    std::string out;
    for (size_t i = 0; i < vs->size(); ++i) out += (i ? "," : "") + (*vs)[i];
    return out;
  }
  RLAE_ASSERT(false, "option value of an unsupported type: ", v.type().name());
  return {};
}

}  // namespace

namespace {
void (*g_options_parsed_hook)() = nullptr;

// Boost.Program_options' what() fills its message template by replacing
// %option%, %value%, ... until none is left: a value or name that itself holds
// such a placeholder (an option file line "seed = %value%") makes it loop forever
// (Boost 1.74; found by the ini fuzz target). When any token holds a '%', the
// message is built from the option's name alone.
std::string error_text(const po::error& e, bool tokens_have_percent) {
  if (!tokens_have_percent) return e.what();
  const auto* named = dynamic_cast<const po::error_with_option_name*>(&e);
  std::string name = named != nullptr ? named->get_option_name() : std::string();
  if (name.size() > 200) name = name.substr(0, 200) + "...";
  if (dynamic_cast<const po::validation_error*>(&e) != nullptr)
    return "the argument for option '" + name + "' is invalid";
  if (dynamic_cast<const po::multiple_occurrences*>(&e) != nullptr)
    return "option '" + name + "' cannot be specified more than once";
  if (dynamic_cast<const po::required_option*>(&e) != nullptr)
    return "the option '" + name + "' is required but missing";
  return name.empty() ? std::string("the options cannot be parsed") : "cannot parse option '" + name + "'";
}

bool has_percent(int argc, const char* const* argv) {
  for (int i = 0; i < argc; ++i)
    if (argv[i] != nullptr && std::strchr(argv[i], '%') != nullptr) return true;
  return false;
}
}  // namespace

void set_options_parsed_hook(void (*hook)()) { g_options_parsed_hook = hook; }

std::optional<po::variables_map> parse_command_options(
    const CommandSpec& spec, const po::options_description& desc, int argc,
    const char* const* argv, std::ostream& help_out, const char* positional) {
  po::options_description generic("General");
  generic.add_options()
      ("help,h", "print this help and exit")
      ("config", po::value<std::string>()->value_name("FILE"),
       "read options from an INI file; the command line overrides it");
  po::options_description all;
  all.add(desc).add(generic);

  const std::string where = "rlae " + spec.name + ": ";
  po::variables_map vm;
  std::string config_path;
  bool percent = has_percent(argc, argv);
  try {
    po::command_line_parser parser(argc, argv);
    parser.options(all).style(po::command_line_style::default_style &
                              ~po::command_line_style::allow_guessing);
    po::positional_options_description pos;
    if (positional != nullptr) pos.add(positional, -1);
    parser.positional(pos);
    po::store(parser.run(), vm);

    if (vm.count("help")) {
      help_out << "usage: " << spec.usage << "\n" << spec.summary << "\n\n" << all << "\n";
      return std::nullopt;
    }
    if (vm.count("config")) {
      config_path = vm["config"].as<std::string>();
      std::ifstream file(config_path);
      RLAE_USAGE_CHECK(file.good(), where, "cannot read config file '", config_path, "'");
      std::ostringstream text;
      text << file.rdbuf();
      percent = percent || text.str().find('%') != std::string::npos;
      std::istringstream in(text.str());
      // Values already stored from the command line are kept: the command line wins.
      po::store(po::parse_config_file(in, desc, /*allow_unregistered=*/false), vm);
    }
    po::notify(vm);
  } catch (const po::unknown_option& e) {
    const std::string src = config_path.empty() ? "" : " (command line or " + config_path + ")";
    RLAE_USAGE_CHECK(false, where, "unknown option '", e.get_option_name(), "'", src,
                     "; see 'rlae ", spec.name, " --help'");
  } catch (const po::validation_error& e) {
    const std::string form = expected_form(all, e.get_option_name());
    RLAE_USAGE_CHECK(false, where, error_text(e, percent), form.empty() ? "" : "; expected " + form);
  } catch (const po::error& e) {
    RLAE_USAGE_CHECK(false, where, error_text(e, percent), config_path.empty() ? "" : " (config " + config_path + ")",
                     "; see 'rlae ", spec.name, " --help'");
  }
  if (g_options_parsed_hook != nullptr) g_options_parsed_hook();
  return vm;
}

std::string format_resolved_config(const po::options_description& desc,
                                   const po::variables_map& vm) {
  std::vector<std::string> lines;
  for (const auto& d : desc.options()) {
    const std::string& key = d->long_name();
    auto it = vm.find(key);
    if (it == vm.end() || it->second.empty()) continue;
    std::string line = key + " = " + any_to_string(it->second.value());
    if (it->second.defaulted()) line += "  # default";
    lines.push_back(std::move(line));
  }
  std::sort(lines.begin(), lines.end());
  std::string out = "# resolved configuration written by rlae\n";
  for (const auto& l : lines) out += l + "\n";
  return out;
}

void write_resolved_config(const std::string& path, const po::options_description& desc,
                           const po::variables_map& vm) {
  write_file_atomic(path, format_resolved_config(desc, vm));
}

std::vector<std::string> split_list(const std::string& text, const std::string& what) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ',')) {
    const auto b = item.find_first_not_of(" \t");
    const auto e = item.find_last_not_of(" \t");
    RLAE_CHECK(b != std::string::npos, what, ": empty item in list '", text, "'");
    out.push_back(item.substr(b, e - b + 1));
  }
  RLAE_CHECK(!out.empty(), what, ": empty list");
  return out;
}

std::vector<int64_t> parse_int_list(const std::string& text, const std::string& what, int64_t min, int64_t max) {
  std::vector<int64_t> out;
  for (const std::string& item : option_values("", [&] { return split_list(text, what); })) {
    bool digits = !item.empty() && item.size() <= 18;
    for (size_t i = 0; i < item.size(); ++i)
      digits = digits && ((item[i] >= '0' && item[i] <= '9') || (i == 0 && item[i] == '-' && item.size() > 1));
    RLAE_USAGE_CHECK(digits, what, ": '", item, "' is not an integer");
    const int64_t v = std::stoll(item);
    RLAE_USAGE_CHECK(v >= min && v <= max, what, ": ", v, " is outside [", min, ", ", max, "]");
    out.push_back(v);
  }
  return out;
}

}  // namespace rlae
