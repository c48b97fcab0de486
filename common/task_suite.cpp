#include "common/task_suite.h"

#include <algorithm>
#include <functional>
#include <unordered_set>

#include "common/check.h"
#include "common/rng.h"

namespace rlae {
namespace {

// The suite's draws: rlae's SplitMix64 (common/rng.h) with a range and a pick.
class Rng : public SplitMix64 {
 public:
  using SplitMix64::SplitMix64;
  // Uniform in [lo, hi].
  int64_t range(int64_t lo, int64_t hi) {
    RLAE_ASSERT(lo <= hi, "empty range [", lo, ", ", hi, "]");
    return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo + 1)));
  }
  template <typename T>
  const T& pick(const std::vector<T>& v) { return v[below(v.size())]; }
};

const std::vector<std::string> kNames = {
    "Tom", "Anna", "Ravi", "Mei", "Lucas", "Fatima", "Olga", "Kwame", "Sofia", "Diego",
    "Hana", "Omar", "Chloe", "Ivan", "Priya", "Noah", "Zara", "Kenji", "Ines", "Leo",
    "Amara", "Finn", "Yara", "Mateo", "Elif", "Sam", "Nora", "Tariq", "Lena", "Jun",
    "Maya", "Pablo", "Aisha", "Erik", "Rosa", "Theo", "Nadia", "Hugo", "Lila", "Emeka"};

struct Thing {
  std::string one, many;
};
const std::vector<Thing> kThings = {
    {"apple", "apples"},   {"marble", "marbles"},   {"book", "books"},       {"sticker", "stickers"},
    {"coin", "coins"},     {"pencil", "pencils"},   {"cookie", "cookies"},   {"shell", "shells"},
    {"card", "cards"},     {"stamp", "stamps"},     {"balloon", "balloons"}, {"candle", "candles"},
    {"orange", "oranges"}, {"button", "buttons"},   {"ribbon", "ribbons"},   {"toy car", "toy cars"},
    {"cupcake", "cupcakes"}, {"flower", "flowers"}, {"egg", "eggs"},         {"bead", "beads"},
    {"brick", "bricks"},   {"seashell", "seashells"}, {"comic", "comics"},   {"plum", "plums"}};

struct Container {
  std::string one, many;
};
const std::vector<Container> kContainers = {
    {"box", "boxes"}, {"bag", "bags"}, {"basket", "baskets"}, {"jar", "jars"},
    {"crate", "crates"}, {"shelf", "shelves"}, {"tray", "trays"}, {"packet", "packets"}};

const std::vector<std::string> kPlaces = {"market", "library", "park", "school fair", "bakery",
                                          "garden", "museum shop", "toy store"};

struct Vars {
  std::string name, name2, place;
  Thing thing;
  Container box;
  int64_t a = 0, b = 0, c = 0;
};

// Replaces {name} {name2} {one} {many} {box} {boxes} {place} {a} {b} {c}.
std::string fill(const std::string& tpl, const Vars& v) {
  std::string out;
  out.reserve(tpl.size() + 32);
  for (size_t i = 0; i < tpl.size();) {
    if (tpl[i] != '{') {
      out.push_back(tpl[i++]);
      continue;
    }
    const size_t close = tpl.find('}', i);
    RLAE_ASSERT(close != std::string::npos, "unclosed placeholder in template: ", tpl);
    const std::string key = tpl.substr(i + 1, close - i - 1);
    if (key == "name") out += v.name;
    else if (key == "name2") out += v.name2;
    else if (key == "one") out += v.thing.one;
    else if (key == "many") out += v.thing.many;
    else if (key == "box") out += v.box.one;
    else if (key == "boxes") out += v.box.many;
    else if (key == "place") out += v.place;
    else if (key == "a") out += std::to_string(v.a);
    else if (key == "b") out += std::to_string(v.b);
    else if (key == "c") out += std::to_string(v.c);
    else RLAE_ASSERT(false, "unknown placeholder {", key, "} in template: ", tpl);
    i = close + 1;
  }
  return out;
}

std::string eq(int64_t x, const char* op, int64_t y, int64_t r) {
  return std::to_string(x) + " " + op + " " + std::to_string(y) + " = " + std::to_string(r) + ".";
}

struct Family {
  std::string name;
  std::vector<std::string> templates;
  // Draws operands into v; returns the worked solution.
  std::function<std::string(Rng&, Vars&)> draw;
};

std::string final_line(int64_t r) { return " #### " + std::to_string(r); }

const std::vector<Family>& families() {
  static const std::vector<Family> f = {
      {"add",
       {"{name} has {a} {many}. {name2} gives {name} {b} more. How many {many} does {name} have now?",
        "There are {a} {many} in a {box} and {b} {many} on the table. How many {many} are there in total?",
        "{name} collected {a} {many} on Monday and {b} {many} on Tuesday. How many {many} did {name} collect altogether?",
        "At the {place}, {name} bought {a} {many} and then {b} more {many}. How many {many} did {name} buy?",
        "A {box} holds {a} {many}. {name} adds {b} {many} to it. How many {many} are in the {box} now?"},
       [](Rng& r, Vars& v) {
         v.a = r.range(2, 99); v.b = r.range(2, 99);
         return eq(v.a, "+", v.b, v.a + v.b) + final_line(v.a + v.b);
       }},
      {"sub",
       {"{name} has {a} {many} and gives {b} of them to {name2}. How many {many} does {name} have left?",
        "There were {a} {many} at the {place}. {b} {many} were sold. How many {many} remain?",
        "A {box} had {a} {many}. {name} took out {b} {many}. How many {many} are still in the {box}?",
        "{name} needs {a} {many} and already has {b}. How many more {many} does {name} need?",
        "{name} had {a} {many} but lost {b} of them. How many {many} does {name} have now?"},
       [](Rng& r, Vars& v) {
         v.a = r.range(10, 199); v.b = r.range(1, v.a - 1);
         return eq(v.a, "-", v.b, v.a - v.b) + final_line(v.a - v.b);
       }},
      {"mul",
       {"{name} has {a} {boxes} with {b} {many} in each. How many {many} does {name} have?",
        "There are {a} {boxes} at the {place}, and each holds {b} {many}. How many {many} are there?",
        "Each of {a} children brings {b} {many}. How many {many} do they bring in total?",
        "{name} buys {a} packs of {many}. Every pack has {b} {many}. How many {many} did {name} buy?",
        "A {box} holds {b} {many}. How many {many} are in {a} such {boxes}?"},
       [](Rng& r, Vars& v) {
         v.a = r.range(2, 40); v.b = r.range(2, 9);
         return eq(v.a, "*", v.b, v.a * v.b) + final_line(v.a * v.b);
       }},
      {"div",
       {"{name} shares {a} {many} equally among {b} friends. How many {many} does each friend get?",
        "{a} {many} are packed into {b} {boxes} with the same number in each. How many {many} go in each {box}?",
        "At the {place}, {a} {many} are split evenly into {b} groups. How many {many} are in each group?",
        "{name} puts {a} {many} into {boxes} of {b}. How many {boxes} does {name} fill?",
        "{name} and friends, {b} people in all, share {a} {many} equally. How many {many} does each person get?"},
       [](Rng& r, Vars& v) {
         v.b = r.range(2, 9);
         const int64_t q = r.range(2, 40);
         v.a = q * v.b;
         return eq(v.a, "/", v.b, q) + final_line(q);
       }},
      {"add_mul",
       {"Each {box} holds {a} red {many} and {b} blue {many}. How many {many} are in {c} {boxes}?",
        "{name} puts {a} {many} and {name2} puts {b} {many} into every {box}. How many {many} are in {c} {boxes}?",
        "A {box} at the {place} has {a} large and {b} small {many}. {name} buys {c} {boxes}. How many {many} does {name} get?",
        "{name} makes {a} {many} in the morning and {b} in the evening every day. How many {many} does {name} make in {c} days?",
        "One {box} contains {a} {many}, and {name} adds {b} more to it. {name} fills {c} {boxes} the same way. How many {many} is that in total?"},
       [](Rng& r, Vars& v) {
         v.a = r.range(2, 40); v.b = r.range(2, 40); v.c = r.range(2, 9);
         const int64_t s1 = v.a + v.b;
         return eq(v.a, "+", v.b, s1) + " " + eq(s1, "*", v.c, s1 * v.c) + final_line(s1 * v.c);
       }},
      {"mul_sub",
       {"{name} buys {a} {boxes} of {b} {many} and gives {c} {many} to {name2}. How many {many} does {name} have left?",
        "There are {a} {boxes} with {b} {many} each at the {place}. {c} {many} are sold. How many {many} are left?",
        "{name} fills {a} {boxes} with {b} {many} each, then takes {c} {many} out. How many {many} are still in the {boxes}?",
        "Each of {a} children brings {b} {many}, and {c} of them get lost. How many {many} are left?",
        "{name} sets out {a} rows of {b} {many}, and then {c} {many} are taken away. How many {many} are left?"},
       [](Rng& r, Vars& v) {
         v.a = r.range(2, 40); v.b = r.range(2, 9);
         const int64_t p1 = v.a * v.b;
         v.c = r.range(1, p1 - 1);
         return eq(v.a, "*", v.b, p1) + " " + eq(p1, "-", v.c, p1 - v.c) + final_line(p1 - v.c);
       }},
      {"sub_div",
       {"{name} has {a} {many}, gives {b} to {name2}, and shares the rest equally among {c} friends. How many {many} does each friend get?",
        "A {box} has {a} {many}. {b} of them are broken, and the rest are packed equally into {c} bags. How many {many} go in each bag?",
        "At the {place} there are {a} {many}. After {b} are sold, the rest are split evenly into {c} {boxes}. How many {many} are in each {box}?",
        "{name} picks {a} {many}, keeps {b} and divides the others equally among {c} neighbours. How many {many} does each neighbour get?",
        "{a} {many} are in a pile. {name} removes {b} and sorts the rest into {c} equal groups. How many {many} are in each group?"},
       [](Rng& r, Vars& v) {
         v.c = r.range(2, 9);
         const int64_t q = r.range(2, 30);
         v.b = r.range(1, 60);
         v.a = q * v.c + v.b;
         const int64_t d = v.a - v.b;
         return eq(v.a, "-", v.b, d) + " " + eq(d, "/", v.c, q) + final_line(q);
       }},
      {"div_add",
       {"{name} splits {a} {many} equally into {b} {boxes} and then adds {c} more {many} to one {box}. How many {many} are in that {box}?",
        "{a} {many} are shared equally by {b} friends. {name} then gets {c} more from {name2}. How many {many} does {name} have now?",
        "At the {place}, {a} {many} are divided evenly among {b} tables. {name} brings {c} extra {many} to one table. How many {many} are on that table?",
        "{name} cuts {a} {many} into {b} equal groups and adds {c} {many} to the first group. How many {many} are in the first group?",
        "{b} children share {a} {many} equally. One child finds {c} more. How many {many} does that child have?"},
       [](Rng& r, Vars& v) {
         v.b = r.range(2, 9);
         const int64_t q = r.range(2, 40);
         v.a = q * v.b;
         v.c = r.range(2, 99);
         return eq(v.a, "/", v.b, q) + " " + eq(q, "+", v.c, q + v.c) + final_line(q + v.c);
       }},
  };
  return f;
}

}  // namespace

const std::vector<std::string>& task_families() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const Family& f : families()) n.push_back(f.name);
    return n;
  }();
  return names;
}

Suite make_task_suite(const SuiteOptions& options) {
  RLAE_CHECK(options.train_per_family >= 0 && options.dev_per_family >= 0 && options.test_per_family >= 0,
             "data make: split sizes must be >= 0");
  std::vector<const Family*> chosen;
  if (options.families.empty()) {
    for (const Family& f : families()) chosen.push_back(&f);
  } else {
    for (const std::string& name : options.families) {
      auto it = std::find_if(families().begin(), families().end(),
                             [&](const Family& f) { return f.name == name; });
      RLAE_CHECK(it != families().end(), "data make: unknown task family '", name, "' (known: ",
                 [] { std::string s; for (const auto& n : task_families()) s += (s.empty() ? "" : ",") + n; return s; }(), ")");
      chosen.push_back(&*it);
    }
  }
  Suite suite;
  for (const Family* fam : chosen) {
    // One stream per family, so adding a family does not change the others. (Not derive_seed:
    // this mix made every published suite, and a new one would change them all.)
    Rng rng(options.seed * kGoldenGamma ^ fnv1a(fam->name));
    std::unordered_set<std::string> seen;
    int64_t index[3] = {0, 0, 0};  // per split, for ids
    const int64_t need = int64_t{options.test_per_family} + options.dev_per_family + options.train_per_family;
    int64_t made = 0, attempts = 0;
    while (made < need) {
      RLAE_CHECK(++attempts < need * 50 + 1000, "data make: family '", fam->name, "' cannot make ", need,
                 " distinct problems (made ", made, ")");
      Vars v;
      v.name = rng.pick(kNames);
      do { v.name2 = rng.pick(kNames); } while (v.name2 == v.name);
      v.thing = rng.pick(kThings);
      v.box = rng.pick(kContainers);
      v.place = rng.pick(kPlaces);
      const std::string& tpl = rng.pick(fam->templates);
      const std::string answer = fam->draw(rng, v);
      std::string question = fill(tpl, v);
      if (!seen.insert(question).second) continue;  // splits stay disjoint
      Problem p;
      std::vector<Problem>* split;
      int which;
      if (made < options.test_per_family) { split = &suite.test; which = 0; }
      else if (made < options.test_per_family + options.dev_per_family) { split = &suite.dev; which = 1; }
      else { split = &suite.train; which = 2; }
      static const char* const kSplitNames[3] = {"test", "dev", "train"};
      p.id = fam->name + "-" + kSplitNames[which] + "-" + std::to_string(index[which]++);
      p.task = fam->name;
      p.question = std::move(question);
      p.answer = answer;
      p.gold = static_cast<double>(std::stoll(answer.substr(answer.rfind("#### ") + 5)));
      split->push_back(std::move(p));
      ++made;
    }
  }
  // Interleave families so that any prefix of a split covers all of them.
  for (auto* split : {&suite.train, &suite.dev, &suite.test}) {
    Rng shuffle(options.seed + 17);  // the interleaving stream (seed + 17 made the published suites)
    for (size_t i = split->size(); i > 1; --i) std::swap((*split)[i - 1], (*split)[shuffle.below(i)]);
  }
  return suite;
}

}  // namespace rlae
