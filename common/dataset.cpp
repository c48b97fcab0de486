#include "common/dataset.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/answer.h"
#include "common/check.h"
#include "common/fs.h"

namespace rlae {
namespace {

std::string file_stem(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  const size_t dot = name.find('.');
  return dot == std::string::npos ? name : name.substr(0, dot);
}

std::string string_field(const nlohmann::json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  RLAE_CHECK(it != j.end(), where, ": missing field '", key, "'");
  RLAE_CHECK(it->is_string(), where, ": field '", key, "' must be a string, got ", it->type_name());
  return it->get<std::string>();
}

}  // namespace

std::vector<Problem> load_dataset(const std::string& path, const DatasetOptions& options) {
  std::ifstream in(path);
  RLAE_CHECK(in.good(), path, ": cannot open dataset");
  const std::string stem = file_stem(path);
  std::vector<Problem> out;
  std::string line;
  size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(lineno);
    nlohmann::json j;
    // parse_error, and out_of_range for a number beyond double (e.g. 2.2E000000500001)
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      RLAE_FAIL(where, ": malformed JSON (", e.what(), ")");
    }
    RLAE_CHECK(j.is_object(), where, ": expected a JSON object, got ", j.type_name());
    Problem p;
    p.line = static_cast<int64_t>(lineno);
    p.question = string_field(j, "question", where);
    p.answer = string_field(j, "answer", where);
    p.id = j.contains("id") ? (j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump())
                            : stem + "-" + std::to_string(lineno);
    p.task = j.contains("task") ? string_field(j, "task", where) : std::string("gsm8k");
    if (options.require_numeric_gold) {
      const auto gold = extract_answer(p.answer);
      RLAE_CHECK(gold.has_value(), where, ": gold answer '", final_answer_text(p.answer),
                 "' is not a number");
      p.gold = *gold;
    }
    out.push_back(std::move(p));
  }
  RLAE_CHECK(!in.bad(), path, ": read error");
  RLAE_CHECK(!out.empty(), path, ": dataset has no problems");
  return out;
}

void write_dataset(const std::string& path, const std::vector<Problem>& problems) {
  std::ostringstream os;
  for (const Problem& p : problems) {
    nlohmann::json j = {{"id", p.id}, {"task", p.task}, {"question", p.question}, {"answer", p.answer}};
    os << j.dump() << "\n";
  }
  write_file_atomic(path, os.str());
}

}  // namespace rlae
