// Answer checking, the reward of RLAE and the score of `rlae eval`.
//
// Maths (the default): the number after the last "####" of the output, or else
// the last number in it, equals the gold number (|diff| < 1e-6, as the RLAE
// reference does). Exact match (trimmed strings) as an option.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace rlae {

enum class AnswerMode { numeric, exact };

AnswerMode parse_answer_mode(const std::string& name);  // "numeric" | "exact"

// The last number of `text` ("-1,234.5" -> -1234.5; "$12" -> 12; "3." -> 3).
std::optional<double> last_number(std::string_view text);

// The final answer of a solution or model output: the number after the last
// "####" when there is one, else the last number of the text.
std::optional<double> extract_answer(std::string_view text);

// The text after the last "####" (trimmed), else the whole text trimmed.
std::string final_answer_text(std::string_view text);

// Whether `output` answers `gold_answer` (a worked solution or a bare answer).
bool answer_correct(std::string_view output, std::string_view gold_answer, AnswerMode mode);

}  // namespace rlae
