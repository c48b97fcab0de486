#include "common/sweep_grid.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>

#include "common/check.h"

namespace rlae {
namespace {

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  const size_t b = s.find_last_not_of(" \t\r");
  return s.substr(a, b - a + 1);
}

// Strips a trailing comment ("# ..." or "; ..." after whitespace, or a whole-line comment).
std::string strip_comment(const std::string& line) {
  const std::string t = trim(line);
  if (t.empty() || t[0] == '#' || t[0] == ';') return "";
  for (size_t i = 1; i < t.size(); ++i) {
    if ((t[i] == '#' || t[i] == ';') && (t[i - 1] == ' ' || t[i - 1] == '\t')) return trim(t.substr(0, i));
  }
  return t;
}

std::vector<std::string> split_values(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    out.push_back(trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> read_ini_settings(const std::string& path) {
  std::ifstream in(path);
  RLAE_CHECK(in.good(), path, ": cannot read");
  std::vector<std::pair<std::string, std::string>> out;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    const std::string t = strip_comment(line);
    if (t.empty()) continue;
    RLAE_CHECK(t[0] != '[', path, ":", n, ": sections are not expected in a config file");
    const size_t eq = t.find('=');
    RLAE_CHECK(eq != std::string::npos && eq > 0, path, ":", n, ": expected 'key = value', got '", t, "'");
    out.emplace_back(trim(t.substr(0, eq)), trim(t.substr(eq + 1)));
  }
  return out;
}

SweepGrid parse_sweep_grid(const std::string& path) {
  std::ifstream in(path);
  RLAE_CHECK(in.good(), path, ": cannot read the sweep grid");
  SweepGrid g;
  g.path = path;
  bool in_grid = false;
  std::set<std::string> seen;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    const std::string t = strip_comment(line);
    if (t.empty()) continue;
    if (t[0] == '[') {
      RLAE_CHECK(t == "[grid]", path, ":", n, ": unknown section '", t, "' (only [grid])");
      RLAE_CHECK(!in_grid, path, ":", n, ": [grid] given twice");
      in_grid = true;
      continue;
    }
    const size_t eq = t.find('=');
    RLAE_CHECK(eq != std::string::npos && eq > 0, path, ":", n, ": expected 'key = value', got '", t, "'");
    const std::string key = trim(t.substr(0, eq)), value = trim(t.substr(eq + 1));
    RLAE_CHECK(seen.insert(key).second, path, ":", n, ": '", key, "' is given twice");
    RLAE_CHECK(key != "out", path, ":", n, ": 'out' is set per trial by the sweep (DIR/trial-NNN)");
    if (!in_grid && key == "base") {
      g.base = value;
    } else if (!in_grid) {
      g.fixed.emplace_back(key, value);
    } else {
      std::vector<std::string> values = split_values(value);
      for (const auto& v : values) RLAE_CHECK(!v.empty(), path, ":", n, ": '", key, "' has an empty value in its list");
      std::set<std::string> distinct(values.begin(), values.end());
      RLAE_CHECK(distinct.size() == values.size(), path, ":", n, ": '", key, "' lists a value twice");
      g.axes.emplace_back(key, std::move(values));
    }
  }
  RLAE_CHECK(!g.axes.empty(), path, ": no [grid] values to sweep");
  // The trials are every combination: refuse a grid whose product would not fit in memory.
  size_t trials = 1;
  for (const auto& [key, values] : g.axes) {
    RLAE_CHECK(trials <= kMaxSweepTrials / values.size(), path, ": the [grid] makes more than ", kMaxSweepTrials,
               " trials (at '", key, "'); split the sweep");
    trials *= values.size();
  }
  return g;
}

std::vector<std::vector<std::pair<std::string, std::string>>> sweep_points(const SweepGrid& grid) {
  std::vector<std::vector<std::pair<std::string, std::string>>> out = {{}};
  for (const auto& [key, values] : grid.axes) {
    std::vector<std::vector<std::pair<std::string, std::string>>> next;
    for (const auto& prefix : out) {
      for (const auto& v : values) {
        auto p = prefix;
        p.emplace_back(key, v);
        next.push_back(std::move(p));
      }
    }
    out = std::move(next);
  }
  return out;
}

std::vector<std::map<std::string, std::string>> expand_sweep(const SweepGrid& grid) {
  std::map<std::string, std::string> common;
  if (!grid.base.empty()) {
    for (auto& [k, v] : read_ini_settings(grid.base)) common[k] = v;
  }
  for (const auto& [k, v] : grid.fixed) common[k] = v;
  std::vector<std::map<std::string, std::string>> out;
  for (const auto& point : sweep_points(grid)) {
    auto s = common;
    for (const auto& [k, v] : point) s[k] = v;
    out.push_back(std::move(s));
  }
  return out;
}

std::string trial_name(size_t index) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "trial-%03zu", index);
  return buf;
}

}  // namespace rlae
