#include "common/answer.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "common/check.h"

namespace rlae {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

AnswerMode parse_answer_mode(const std::string& name) {
  if (name == "numeric") return AnswerMode::numeric;
  if (name == "exact") return AnswerMode::exact;
  RLAE_FAIL("answer mode '", name, "' is not one of numeric|exact");
}

std::optional<double> last_number(std::string_view text) {
  // Scan backwards for the last digit, then extend left over digits, commas
  // between digit groups, one decimal point and a leading minus sign.
  size_t end = text.size();
  while (end > 0 && !is_digit(text[end - 1])) --end;
  if (end == 0) return std::nullopt;
  size_t begin = end;
  bool seen_point = false;
  while (begin > 0) {
    const char c = text[begin - 1];
    if (is_digit(c)) {
      --begin;
    } else if (c == ',' && begin >= 2 && is_digit(text[begin - 2]) && is_digit(text[begin])) {
      --begin;
    } else if (c == '.' && !seen_point && begin >= 2 && is_digit(text[begin - 2])) {
      seen_point = true;
      --begin;
    } else {
      break;
    }
  }
  // "3.14.15" style: a point to the right of our span already ended it.
  std::string digits;
  for (size_t i = begin; i < end; ++i) {
    if (text[i] != ',') digits.push_back(text[i]);
  }
  if (begin > 0 && text[begin - 1] == '-' &&
      (begin == 1 || !std::isalnum(static_cast<unsigned char>(text[begin - 2])))) {
    digits.insert(digits.begin(), '-');
  }
  char* stop = nullptr;
  const double v = std::strtod(digits.c_str(), &stop);
  if (stop == digits.c_str() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::string final_answer_text(std::string_view text) {
  const size_t mark = text.rfind("####");
  if (mark != std::string_view::npos) text = text.substr(mark + 4);
  return std::string(trim(text));
}

std::optional<double> extract_answer(std::string_view text) {
  const size_t mark = text.rfind("####");
  if (mark != std::string_view::npos) {
    // The first number after the marker: "#### 42. Done" answers 42.
    std::string_view tail = text.substr(mark + 4);
    size_t i = 0;
    while (i < tail.size() && !is_digit(tail[i])) ++i;
    if (i < tail.size()) {
      size_t j = i;
      while (j < tail.size() && (is_digit(tail[j]) || tail[j] == ',' ||
                                 (tail[j] == '.' && j + 1 < tail.size() && is_digit(tail[j + 1])))) {
        ++j;
      }
      const size_t start = (i > 0 && tail[i - 1] == '-') ? i - 1 : i;
      return last_number(tail.substr(start, j - start));
    }
    return std::nullopt;
  }
  return last_number(text);
}

bool answer_correct(std::string_view output, std::string_view gold_answer, AnswerMode mode) {
  if (mode == AnswerMode::exact) return final_answer_text(output) == final_answer_text(gold_answer);
  const auto gold = extract_answer(gold_answer);
  RLAE_CHECK(gold.has_value(), "gold answer has no number: '", std::string(gold_answer), "'");
  const auto got = extract_answer(output);
  return got.has_value() && std::fabs(*got - *gold) < 1e-6;
}

}  // namespace rlae
