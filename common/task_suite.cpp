#include "common/task_suite.h"

#include <algorithm>
#include <array>
#include <cctype>
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

#include "common/task_words.inc"

// Which pool a word or a sentence variant belongs to: the training pool (train, dev and
// test) or the held-out pool of the test-wording split. A word is held out when its hash
// says so (a fifth of each inventory); a sentence variant when its index is 3 mod 4 (a
// quarter of every sentence pool). Held out by construction: no test-wording problem
// shares a name, object, container, place or sentence variant with training.
bool word_held_out(const std::string& w) { return fnv1a("wording:" + w) % 5 == 0; }
bool variant_held_out(size_t index) { return index % 4 == 3; }

struct Person {
  std::string name;
  bool female = false;
};
struct Noun {
  std::string one, many;
};

// The inventories of one pool.
struct Words {
  std::vector<Person> people;
  std::vector<Noun> things, boxes;
  std::vector<std::string> places;
};

const std::vector<std::string> kPlaceWords = {
    "market", "library", "park", "school fair", "bakery", "garden", "museum shop", "toy store",
    "farm", "harbour", "station", "beach", "workshop", "playground", "zoo", "garage", "studio",
    "classroom", "kitchen", "attic", "village hall", "flea market", "campsite", "bookshop",
    "post office", "greenhouse", "stadium", "town square", "cafe", "barn", "gym", "office",
    "community centre", "river bank", "orchard", "craft fair", "theatre", "bus stop",
    "warehouse", "canteen"};

const std::unordered_set<std::string>& template_words();

const Words& words(bool held_out) {
  static const std::array<Words, 2> pools = [] {
    // A word that the sentence templates spell out themselves ("bags", "shelf", "Will"?)
    // is left out of the inventories, so a held-out word can never appear in training.
    const auto& fixed = template_words();
    auto lower = [](std::string w) {
      for (char& c : w) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return w;
    };
    auto usable = [&](const std::string& a, const std::string& b) { return !fixed.count(lower(a)) && !fixed.count(lower(b)); };
    std::array<Words, 2> w;
    for (const char* n : kFemaleNames)
      if (usable(n, n)) w[word_held_out(n)].people.push_back({n, true});
    for (const char* n : kMaleNames)
      if (usable(n, n)) w[word_held_out(n)].people.push_back({n, false});
    for (const auto& t : kObjectWords)
      if (usable(t[0], t[1])) w[word_held_out(t[0])].things.push_back({t[0], t[1]});
    for (const auto& b : kContainerWords)
      if (usable(b[0], b[1])) w[word_held_out(b[0])].boxes.push_back({b[0], b[1]});
    for (const std::string& p : kPlaceWords) w[word_held_out(p)].places.push_back(p);
    for (const Words& pool : w)
      RLAE_ASSERT(pool.people.size() > 1 && pool.things.size() > 1 && !pool.boxes.empty() && !pool.places.empty(),
                  "an empty word pool");
    return w;
  }();
  return pools[held_out ? 1 : 0];
}

// The draws of one problem: who, what, where, and how each number is written.
struct Vars {
  Person who, other;
  Noun thing, thing2, box;
  std::string place;
  // Whether the problem has named `who` yet: a pronoun before that is written as the name.
  mutable bool named = false;
};

const char* const kNumberWords[] = {"zero", "one", "two", "three", "four", "five", "six",
                                    "seven", "eight", "nine", "ten", "eleven", "twelve"};

// Small operands are sometimes written as words ("three"); the worked solution uses digits.
std::string number_text(Rng& rng, int64_t n) {
  if (n >= 2 && n <= 12 && rng.below(5) == 0) return kNumberWords[n];
  return std::to_string(n);
}

// Fills one sentence. Placeholders: {N} {N2} names, {P} {p} subject pronoun, {pos}
// possessive, {obj} object pronoun, {one} {many} the object, {one2} another object,
// {box} {boxes} the container, {place}, {x} {y} the sentence's numbers, {k} a number that
// does not matter. The first letter is capitalized.
std::string fill(Rng& rng, const std::string& tpl, const Vars& v, int64_t x, int64_t y) {
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
    const bool f = v.who.female;
    if (key == "N" || ((key == "P" || key == "p") && !v.named)) {
      out += v.who.name;
      v.named = true;
    }
    else if (key == "N2") out += v.other.name;
    else if (key == "P") out += f ? "She" : "He";
    else if (key == "p") out += f ? "she" : "he";
    else if (key == "pos") out += f ? "her" : "his";
    else if (key == "obj") out += f ? "her" : "him";
    else if (key == "one") out += v.thing.one;
    else if (key == "many") out += v.thing.many;
    else if (key == "one2") out += v.thing2.one;
    else if (key == "box") out += v.box.one;
    else if (key == "boxes") out += v.box.many;
    else if (key == "place") out += v.place;
    else if (key == "x") out += number_text(rng, x);
    else if (key == "y") out += number_text(rng, y);
    else if (key == "k") out += std::to_string(rng.range(2, 60));
    else RLAE_ASSERT(false, "unknown placeholder {", key, "} in template: ", tpl);
    i = close + 1;
  }
  if (!out.empty() && out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 'a' + 'A');
  return out;
}

// A pool of interchangeable sentences; variants 3, 7, 11, ... are held out.
using Pool = std::vector<std::string>;

const std::string& pick_variant(Rng& rng, const Pool& pool, bool held_out) {
  std::vector<size_t> allowed;
  for (size_t i = 0; i < pool.size(); ++i)
    if (variant_held_out(i) == held_out) allowed.push_back(i);
  RLAE_ASSERT(!allowed.empty(), "sentence pool without a ", held_out ? "held-out" : "training", " variant");
  return pool[allowed[rng.below(allowed.size())]];
}

// {x} items at the start.
const Pool kHave = {
    "{N} has {x} {many}.", "{N} owns {x} {many}.", "There are {x} {many} in {N}'s {box}.",
    "{N} started the day with {x} {many}.", "{N} keeps {x} {many} at home.",
    "At first, {N} had {x} {many}.", "{N} collected {x} {many} last week.",
    "In {pos} {box}, {N} has {x} {many}.", "{N} counted {x} {many} on the shelf.",
    "{N} was given {x} {many} for {pos} birthday.", "{N} brought {x} {many} to the {place}.",
    "{N} has a collection of {x} {many}.",
    "{N} owned {x} {many} to begin with.",
    "Yesterday {N} had exactly {x} {many}.",
    "{N}'s {box} holds {x} {many}.",
    "{N} is looking after {x} {many}.",
    "On Monday, {N} had {x} {many}.",
    "{N} got {x} {many} from the {place}.",
    "{N} puts {x} {many} on the table.",
    "{N} saved up {x} {many}.",
    "{N} starts out with {x} {many}.",
    "In the morning {N} has {x} {many}.",
    "{N} carries {x} {many} in a {box}.",
    "{N} bought {x} {many} a while ago.",
    "{N} has got {x} {many}.",
    "There were {x} {many} on {N}'s desk.",
    "{N} had {x} {many} at the start.",
    "{N} picked {x} {many} earlier.",
    "{N} is holding {x} {many}.",
    "Before lunch, {N} had {x} {many}.",
    "{N} received {x} {many} from {pos} aunt.",
    "{N} makes {x} {many} in the morning."};
// {x} more for the same person.
const Pool kGain = {
    "{N2} gives {obj} {x} more.", "Then {p} buys {x} more {many}.",
    "{P} finds {x} more {many} at the {place}.", "Later, {N2} hands {obj} another {x}.",
    "{P} picks up {x} more on the way home.", "{P} wins {x} {many} in a game.",
    "The next day {p} gets {x} more {many} from {N2}.", "{P} receives {x} extra {many} from a friend.",
    "{N2} adds {x} {many} to {pos} pile.", "After that, {p} makes {x} more.",
    "{P} earns {x} more {many} by helping at the {place}.", "{P} is given {x} further {many} by {N2}.",
    "{P} buys another {x} {many} at the {place}.",
    "{N2} sends {obj} {x} more {many}.",
    "Then {N2} gives {obj} {x} extra.",
    "Next, {p} collects {x} more {many}.",
    "{P} gets {x} more as a gift.",
    "On Tuesday {p} adds {x} more {many}.",
    "{P} picks {x} more {many} from the {place}.",
    "A friend brings {obj} {x} more {many}.",
    "{P} then gets {x} more {many}.",
    "{N2} passes {obj} {x} more {many}.",
    "{P} adds {x} {many} to the {box}.",
    "Later {p} buys {x} additional {many}.",
    "{P} is handed {x} more {many}.",
    "{P} gathers {x} more {many}.",
    "In the afternoon {p} finds {x} more.",
    "{N2} brings {obj} {x} more {many}.",
    "{P} also gets {x} {many} from {N2}.",
    "Then {p} receives {x} more.",
    "{P} wins another {x} {many}.",
    "{P} gets {x} new {many} at the {place}."};
// {x} fewer.
const Pool kLose = {
    "{P} gives {x} of them to {N2}.", "{P} sells {x} {many} at the {place}.",
    "Then {p} loses {x} {many}.", "{P} donates {x} {many} to the {place}.",
    "{N2} takes {x} of them.", "{P} uses {x} {many} for a project.", "{x} of the {many} break.",
    "{P} throws away {x} old {many}.", "{P} trades away {x} {many}.",
    "{P} leaves {x} {many} at the {place}.", "{N2} borrows {x} {many} and keeps them.",
    "Sadly, {x} of the {many} go missing.",
    "{P} gives away {x} {many}.",
    "Then {p} hands {x} of them to {N2}.",
    "{P} sells {x} of the {many}.",
    "{x} {many} get lost on the way.",
    "{P} spends {x} {many} at the {place}.",
    "{N2} eats {x} of them.",
    "{P} removes {x} {many}.",
    "Later, {p} drops {x} {many} and they break.",
    "{P} gives {x} {many} to a friend.",
    "Then {p} sells {x} of them.",
    "{x} of them are broken and thrown away.",
    "{P} gives {N2} {x} of them.",
    "{N2} buys {x} {many} from {obj}.",
    "{P} loses {x} of them at the {place}.",
    "{P} hands over {x} {many}.",
    "Afterwards {p} gives {x} away.",
    "{x} {many} fall out of {pos} {box}.",
    "{P} packs up {x} {many} and sends them away.",
    "{N2} takes away {x} {many}.",
    "{P} returns {x} {many} to the {place}."};
// {x} groups of {y}.
const Pool kGroups = {
    "{N} has {x} {boxes} with {y} {many} in each.", "There are {x} {boxes}, and each {box} holds {y} {many}.",
    "{N} buys {x} {boxes} of {y} {many}.", "{N} fills {x} {boxes}, putting {y} {many} in every one.",
    "Each of {x} {boxes} contains {y} {many}.", "{N} lines up {x} rows of {y} {many}.",
    "{x} friends each bring {y} {many} to the {place}.", "{N} stacks {y} {many} into each of {x} {boxes}.",
    "For {x} days, {N} makes {y} {many} a day.", "A {box} holds {y} {many}, and {N} has {x} such {boxes}.",
    "{N} packs {x} {boxes} with {y} {many} apiece.", "There are {y} {many} on each of {x} {boxes}.",
    "{N} buys {x} packs with {y} {many} in each pack.",
    "{N} has {x} {boxes}; each one holds {y} {many}.",
    "There are {x} {boxes} with {y} {many} inside each one.",
    "Every one of the {x} {boxes} has {y} {many}.",
    "{N} sets out {x} {boxes} and puts {y} {many} in each.",
    "{x} {boxes} each carry {y} {many}.",
    "{N} collects {y} {many} every day for {x} days.",
    "{N} arranges {x} rows with {y} {many} in each row.",
    "{N} has {x} {boxes}, with {y} {many} in every {box}.",
    "{N} fills {x} {boxes} with {y} {many} each.",
    "There are {x} {boxes} holding {y} {many} each.",
    "Every day for {x} days, {N} picks {y} {many}.",
    "{N} buys {y} {many} on each of {x} trips.",
    "{x} {boxes} each hold {y} {many}.",
    "{N} puts {y} {many} in each of {x} {boxes}.",
    "{x} children each have {y} {many}.",
    "{N} makes {x} piles of {y} {many}.",
    "In each of {x} {boxes} there are {y} {many}.",
    "{N} orders {x} {boxes} that hold {y} {many} each.",
    "{N} counts {x} rows, each with {y} {many}."};
// {x} items shared into {y} equal parts.
const Pool kShare = {
    "{N} shares {x} {many} equally among {y} friends.",
    "{x} {many} are packed into {y} {boxes} with the same number in each.",
    "{N} splits {x} {many} evenly into {y} groups.", "{N} divides {x} {many} equally between {y} {boxes}.",
    "{y} children share {x} {many} fairly.", "At the {place}, {x} {many} are put into {y} equal piles.",
    "{N} hands out {x} {many} so that {y} people get the same number.",
    "{x} {many} are spread evenly over {y} {boxes}.",
    "{N} gives {x} {many} to {y} friends, the same number to each.",
    "{x} {many} are split equally into {y} {boxes}.",
    "{N} divides {x} {many} into {y} equal groups.",
    "{y} friends share {x} {many} equally.",
    "{x} {many} are shared evenly among {y} children.",
    "{N} packs {x} {many} equally into {y} {boxes}.",
    "{N} puts {x} {many} into {y} {boxes}, the same number in each.",
    "{y} people split {x} {many} evenly.",
    "{N} shares {x} {many} among {y} friends so that each gets the same.",
    "{x} {many} are divided equally among {y} {boxes}.",
    "{N} splits {x} {many} between {y} children equally.",
    "{y} {boxes} are filled equally with {x} {many}.",
    "{N} sorts {x} {many} into {y} equal piles.",
    "{x} {many} go into {y} {boxes}, the same number in each.",
    "{N} deals out {x} {many} evenly to {y} players.",
    "{y} neighbours share {x} {many} equally.",
    "{N} spreads {x} {many} evenly among {y} {boxes}.",
    "{x} {many} are handed out equally to {y} children.",
    "{N} breaks {x} {many} up into {y} equal groups.",
    "{y} friends divide {x} {many} evenly between them."};
// Each group holds {x} of one kind and {y} of another.
const Pool kPerGroup = {
    "Each {box} holds {x} red {many} and {y} blue {many}.",
    "{N} puts {x} {many} and {N2} puts {y} {many} into every {box}.",
    "In each {box} there are {x} old {many} and {y} new {many}.",
    "A {box} has {x} large {many} and {y} small ones.",
    "Each {box} gets {x} {many} plus {y} spare {many}.",
    "Every {box} contains {x} {many}, and {N} adds {y} more to each.",
    "{N} places {x} {many} and then {y} more in every {box}.",
    "Each {box} shows {x} green {many} next to {y} yellow {many}.",
    "Each {box} has {x} {many} on top and {y} {many} below.",
    "{N} packs {x} big {many} and {y} little {many} in each {box}.",
    "Every {box} gets {x} {many} from {N} and {y} {many} from {N2}.",
    "In every {box}, {N} puts {x} {many} and then {y} more.",
    "A {box} holds {x} white {many} and {y} black {many}.",
    "Each {box} is filled with {x} {many} and {y} extra {many}.",
    "{N} puts {x} {many} plus {y} {many} into each {box}.",
    "Every {box} has {x} short {many} and {y} long {many}.",
    "Each {box} has {x} {many} and also {y} more.",
    "In every {box}, there are {x} red {many} and {y} green {many}.",
    "{N} puts {x} {many} in each {box}, then adds {y} more.",
    "Each {box} contains {x} dry {many} and {y} wet {many}.",
    "Every {box} holds {x} {many} and {y} extra ones.",
    "A {box} has {x} new {many} and {y} old ones.",
    "Each {box} gets {x} {many} first and {y} {many} later.",
    "In each {box} lie {x} round {many} and {y} square {many}."};
// {x} such groups.
const Pool kCount = {
    "There are {x} such {boxes}.", "{N} fills {x} {boxes} this way.", "{N} buys {x} of these {boxes}.",
    "{N} gets {x} {boxes} of this kind.", "{N} has {x} {boxes} like that.",
    "{N} prepares {x} {boxes} the same way.", "Altogether {x} {boxes} are made.",
    "{N2} brings {x} more {boxes} just like it, and there are no others.",
    "{N} has {x} of these {boxes}.",
    "There are {x} {boxes} like this in all.",
    "{N} makes {x} such {boxes}.",
    "{N} packs {x} {boxes} in the same way.",
    "{x} {boxes} are filled like that.",
    "{N} ends up with {x} {boxes} like this one.",
    "The {place} has {x} {boxes} of this kind.",
    "{N} stacks {x} of these {boxes}.",
    "{N} has {x} {boxes} like this.",
    "There are {x} {boxes} of this sort.",
    "{N} fills {x} {boxes} like that.",
    "All in all there are {x} such {boxes}.",
    "{N} gets {x} {boxes} that are all the same.",
    "{x} {boxes} are packed this way.",
    "{N} prepares {x} of them.",
    "{N} counts {x} {boxes} like this."};
// The rest, after a loss, shared into {x} equal parts.
const Pool kRestShare = {
    "{P} shares the rest equally among {x} friends.", "The remaining {many} are split evenly into {x} {boxes}.",
    "{P} divides what is left into {x} equal groups.", "The others are packed equally into {x} {boxes}.",
    "{P} gives the rest out evenly to {x} neighbours.", "What remains is shared fairly by {x} children.",
    "{P} sorts the leftover {many} into {x} equal piles.", "The rest go equally into {x} bags.",
    "{P} splits the rest equally among {x} friends.",
    "The rest are shared evenly by {x} people.",
    "{P} packs the remaining {many} equally into {x} {boxes}.",
    "What is left is divided equally into {x} groups.",
    "{P} divides the leftover {many} among {x} children.",
    "The remaining {many} go equally to {x} friends.",
    "{P} shares what is left evenly among {x} neighbours.",
    "{P} puts the rest into {x} equal {boxes}.",
    "{P} divides the rest evenly among {x} friends.",
    "The {many} that are left are shared equally by {x} children.",
    "{P} splits what remains into {x} equal piles.",
    "The leftover {many} are put equally into {x} {boxes}.",
    "{P} hands the rest out equally to {x} people.",
    "What is left goes evenly into {x} {boxes}.",
    "{P} gives what remains to {x} friends in equal shares.",
    "The rest are divided into {x} equal groups."};
// One of the equal parts gets {x} more.
const Pool kOneGains = {
    "Then one of them gets {x} more {many}.", "{N2} adds {x} {many} to one share.",
    "One share receives {x} extra {many}.", "Later, {x} more {many} are added to the first share.",
    "After that, {x} {many} are put on top of one pile.", "One group finds {x} more {many}.",
    "{x} more {many} go into one of them.", "The last share gets another {x} {many}.",
    "Then {N2} gives one of them {x} more {many}.",
    "One friend gets {x} extra {many}.",
    "{x} more {many} are added to one group.",
    "{N} adds {x} {many} to one of the groups.",
    "One of the {boxes} gets {x} more {many}.",
    "Later one share gets {x} more.",
    "{N2} puts {x} more {many} into one share.",
    "One pile is given {x} extra {many}.",
    "One of the shares then gets {x} more {many}.",
    "{N2} gives {x} extra {many} to one of them.",
    "One of the groups is given {x} more {many}.",
    "Then {x} {many} are added to one share.",
    "One child receives {x} more {many}.",
    "{x} extra {many} go to one of the groups.",
    "Afterwards one share gets {x} more {many}.",
    "One of them is given another {x} {many}."};

// Questions.
const Pool kAskTotalOwned = {
    "How many {many} does {N} have now?", "How many {many} does {p} have in total?",
    "What is the total number of {many} {N} has?", "How many {many} does {N} end up with?",
    "How many {many} are there altogether?", "Find the number of {many} {N} has now.",
    "How many {many} does {N} have after that?", "Altogether, how many {many} does {p} own?",
    "How many {many} does {N} have altogether?",
    "How many {many} does {p} have now?",
    "What is {N}'s total number of {many} now?",
    "How many {many} does {N} own now?",
    "How many {many} does {N} have in all?",
    "How many {many} has {N} got now?",
    "Now how many {many} does {N} have?",
    "In all, how many {many} does {N} have?",
    "How many {many} does {N} have at the end?",
    "What is the number of {many} {N} has now?",
    "How many {many} does {N} own in total?",
    "How many {many} does {p} have all together?",
    "Count {N}'s {many}: how many are there now?",
    "How many {many} does {N} hold now?",
    "How many {many} are with {N} now?",
    "What total of {many} does {N} have?"};
const Pool kAskLeft = {
    "How many {many} does {N} have left?", "How many {many} are left?",
    "How many {many} does {p} still have?", "How many {many} remain with {N}?",
    "What number of {many} does {N} have now?", "How many {many} does {N} keep?",
    "How many {many} are still there?", "Now how many {many} are left for {N}?",
    "How many {many} does {N} have now?",
    "How many {many} remain?",
    "How many {many} are left over?",
    "How many {many} does {p} have left now?",
    "How many {many} are left with {N}?",
    "How many {many} does {N} still own?",
    "How many {many} remain now?",
    "What is the number of {many} left?",
    "How many {many} does {N} have remaining?",
    "How many {many} are left now?",
    "How many {many} does {p} keep in the end?",
    "How many {many} are left for {obj}?",
    "What number of {many} remain?",
    "How many {many} does {N} still have now?",
    "How many {many} has {N} got left?",
    "How many {many} stay with {N}?"};
const Pool kAskAll = {
    "How many {many} are there in all?", "How many {many} does {N} have?",
    "How many {many} is that altogether?", "What is the total number of {many}?",
    "How many {many} are there in total?", "Count all the {many}: how many are there?",
    "How many {many} are in the {boxes} together?", "In total, how many {many} are there?",
    "How many {many} are there altogether?",
    "How many {many} does {p} have in all?",
    "How many {many} are there?",
    "What is the total of {many}?",
    "How many {many} are there in all the {boxes}?",
    "How many {many} in total?",
    "How many {many} does {N} have in total?",
    "How many {many} are there now?",
    "How many {many} are there all together?",
    "What is the total count of {many}?",
    "How many {many} does that make in total?",
    "How many {many} are there in the end?",
    "How many {many} does {N} have in all?",
    "How many {many} are in all of the {boxes}?",
    "Find the total number of {many}.",
    "How many {many} is that in all?"};
const Pool kAskEach = {
    "How many {many} does each get?", "How many {many} are in each part?",
    "How many {many} is that for each?", "How many {many} are in each share?",
    "How many {many} go to each one?", "What is the size of each share?",
    "How many {many} does each part hold?", "How many {many} end up in each?",
    "How many {many} does each one get?",
    "How many {many} are in each group?",
    "How many {many} does each friend get?",
    "How many {many} go in each one?",
    "How many {many} does each person get?",
    "How many {many} are in each?",
    "How many {many} does each group get?",
    "How many {many} is each share?",
    "How many {many} does each one receive?",
    "How many {many} are in every share?",
    "How many {many} does every one get?",
    "How many {many} is each part?",
    "How many {many} are in one share?",
    "How many {many} land in each?",
    "How many {many} does one of them get?",
    "How many {many} is that per share?"};
const Pool kAskThatOne = {
    "How many {many} does that share have now?", "How many {many} are in that one now?",
    "How many {many} does it hold in the end?", "What is the new size of that share?",
    "How many {many} are in it now?", "How many {many} does that group have?",
    "How many {many} are there in that share now?", "Now how many {many} are in that pile?",
    "How many {many} does that one have now?",
    "How many {many} are in that group now?",
    "How many {many} does it have now?",
    "How many {many} does that share hold?",
    "How many {many} are in that share?",
    "How many {many} does that friend have now?",
    "How many {many} does it have in all?",
    "How many {many} is that now?",
    "How many {many} does that share hold now?",
    "How many {many} does that one hold in the end?",
    "How many {many} are in that pile now?",
    "What is the number of {many} in that share now?",
    "How many {many} does that part have now?",
    "How many {many} are there in it now?",
    "How many {many} does that share have in the end?",
    "How many {many} has that share got now?"};
// Sentences that do not matter, before the question (some with numbers that do not matter).
const Pool kAside = {
    "{N} is {k} years old.", "The {place} is {k} minutes away.", "It is a sunny day.",
    "{N2} has a red {one2}.", "{N} likes the {place}.", "{N2} lives {k} blocks from {N}.",
    "The weather is cold.", "{N} also owns a {one2}.", "{N2} is watching.",
    "The {place} closes at {k} o'clock.", "{N} hums a song.", "Nobody else is there.",
    "{N2} is {k} years old.",
    "The {place} is busy today.",
    "{N} has a blue {one2}.",
    "It rains a little.",
    "{N} walks {k} steps to the {place}.",
    "{N2} likes the colour blue.",
    "The clock shows {k} minutes past noon.",
    "{N} smiles.",
    "{N} has a {one2} too.",
    "The {place} opens at {k} o'clock.",
    "{N2} is {N}'s friend.",
    "It is windy outside.",
    "{N} is wearing a green hat.",
    "{N2} owns {k} pencils.",
    "The {place} is {k} miles away.",
    "{N} reads a book.",
    "{N2} waves hello.",
    "There is a {one2} on the floor.",
    "{N} sings quietly.",
    "The day is warm."};

const std::unordered_set<std::string>& template_words() {
  static const std::unordered_set<std::string> out = [] {
    std::unordered_set<std::string> w;
    for (const Pool* pool : {&kHave, &kGain, &kLose, &kGroups, &kShare, &kPerGroup, &kCount, &kRestShare, &kOneGains,
                             &kAskTotalOwned, &kAskLeft, &kAskAll, &kAskEach, &kAskThatOne, &kAside})
      for (const std::string& tpl : *pool) {
        std::string word;
        bool in_placeholder = false;
        for (char c : tpl + " ") {
          if (c == '{') in_placeholder = true;
          if (!in_placeholder && std::isalpha(static_cast<unsigned char>(c))) {
            word.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
          } else if (!word.empty()) {
            w.insert(word);
            word.clear();
          }
          if (c == '}') in_placeholder = false;
        }
      }
    for (const std::string& place : kPlaceWords)  // "market" is a place; no object "market"
      for (size_t i = 0, j; i < place.size(); i = j + 1) {
        j = place.find(' ', i);
        if (j == std::string::npos) j = place.size();
        w.insert(place.substr(i, j - i));
      }
    return w;
  }();
  return out;
}

struct Draft {
  std::vector<std::string> sentences;
  std::string answer;  // the worked solution
};

std::string eq(int64_t x, const char* op, int64_t y, int64_t r) {
  return std::to_string(x) + " " + op + " " + std::to_string(y) + " = " + std::to_string(r) + ".";
}
std::string final_line(int64_t r) { return " #### " + std::to_string(r); }

struct Family {
  std::string name;
  // Draws the numbers and sentences of one problem.
  std::function<Draft(Rng&, const Vars&, bool held_out)> draw;
};

const std::vector<Family>& families() {
  static const std::vector<Family> f = {
      {"add",
       [](Rng& r, const Vars& v, bool h) {
         const int64_t a = r.range(2, 99), b = r.range(2, 99);
         Draft d;
         d.sentences = {fill(r, pick_variant(r, kHave, h), v, a, 0), fill(r, pick_variant(r, kGain, h), v, b, 0),
                        fill(r, pick_variant(r, kAskTotalOwned, h), v, 0, 0)};
         d.answer = eq(a, "+", b, a + b) + final_line(a + b);
         return d;
       }},
      {"sub",
       [](Rng& r, const Vars& v, bool h) {
         const int64_t a = r.range(10, 199), b = r.range(1, a - 1);
         Draft d;
         d.sentences = {fill(r, pick_variant(r, kHave, h), v, a, 0), fill(r, pick_variant(r, kLose, h), v, b, 0),
                        fill(r, pick_variant(r, kAskLeft, h), v, 0, 0)};
         d.answer = eq(a, "-", b, a - b) + final_line(a - b);
         return d;
       }},
      {"mul",
       [](Rng& r, const Vars& v, bool h) {
         const int64_t a = r.range(2, 40), b = r.range(2, 9);
         Draft d;
         d.sentences = {fill(r, pick_variant(r, kGroups, h), v, a, b), fill(r, pick_variant(r, kAskAll, h), v, 0, 0)};
         d.answer = eq(a, "*", b, a * b) + final_line(a * b);
         return d;
       }},
      {"div",
       [](Rng& r, const Vars& v, bool h) {
         const int64_t b = r.range(2, 9), q = r.range(2, 40), a = q * b;
         Draft d;
         d.sentences = {fill(r, pick_variant(r, kShare, h), v, a, b), fill(r, pick_variant(r, kAskEach, h), v, 0, 0)};
         d.answer = eq(a, "/", b, q) + final_line(q);
         return d;
       }},
      {"add_mul",
       [](Rng& r, const Vars& v, bool h) {
         const int64_t a = r.range(2, 40), b = r.range(2, 40), c = r.range(2, 9), s1 = a + b;
         Draft d;
         d.sentences = {fill(r, pick_variant(r, kPerGroup, h), v, a, b), fill(r, pick_variant(r, kCount, h), v, c, 0),
                        fill(r, pick_variant(r, kAskAll, h), v, 0, 0)};
         d.answer = eq(a, "+", b, s1) + " " + eq(s1, "*", c, s1 * c) + final_line(s1 * c);
         return d;
       }},
      {"mul_sub",
       [](Rng& r, const Vars& v, bool h) {
         const int64_t a = r.range(2, 40), b = r.range(2, 9), p1 = a * b, c = r.range(1, p1 - 1);
         Draft d;
         d.sentences = {fill(r, pick_variant(r, kGroups, h), v, a, b), fill(r, pick_variant(r, kLose, h), v, c, 0),
                        fill(r, pick_variant(r, kAskLeft, h), v, 0, 0)};
         d.answer = eq(a, "*", b, p1) + " " + eq(p1, "-", c, p1 - c) + final_line(p1 - c);
         return d;
       }},
      {"sub_div",
       [](Rng& r, const Vars& v, bool h) {
         const int64_t c = r.range(2, 9), q = r.range(2, 30), b = r.range(1, 60), a = q * c + b, dd = a - b;
         Draft d;
         d.sentences = {fill(r, pick_variant(r, kHave, h), v, a, 0), fill(r, pick_variant(r, kLose, h), v, b, 0),
                        fill(r, pick_variant(r, kRestShare, h), v, c, 0), fill(r, pick_variant(r, kAskEach, h), v, 0, 0)};
         d.answer = eq(a, "-", b, dd) + " " + eq(dd, "/", c, q) + final_line(q);
         return d;
       }},
      {"div_add",
       [](Rng& r, const Vars& v, bool h) {
         const int64_t b = r.range(2, 9), q = r.range(2, 40), a = q * b, c = r.range(2, 99);
         Draft d;
         d.sentences = {fill(r, pick_variant(r, kShare, h), v, a, b), fill(r, pick_variant(r, kOneGains, h), v, c, 0),
                        fill(r, pick_variant(r, kAskThatOne, h), v, 0, 0)};
         d.answer = eq(a, "/", b, q) + " " + eq(q, "+", c, q + c) + final_line(q + c);
         return d;
       }},
  };
  return f;
}

// One problem of a family from the given pool.
std::pair<std::string, std::string> make_problem(Rng& rng, const Family& fam, bool held_out) {
  const Words& w = words(held_out);
  Vars v;
  v.who = rng.pick(w.people);
  do { v.other = rng.pick(w.people); } while (v.other.name == v.who.name);
  v.thing = rng.pick(w.things);
  do { v.thing2 = rng.pick(w.things); } while (v.thing2.one == v.thing.one);
  v.box = rng.pick(w.boxes);
  v.place = rng.pick(w.places);
  Draft d = fam.draw(rng, v, held_out);
  // Three problems in ten carry a sentence that does not matter, just before the question.
  if (rng.below(10) < 3) {
    d.sentences.insert(d.sentences.end() - 1, fill(rng, pick_variant(rng, kAside, held_out), v, 0, 0));
  }
  std::string q;
  for (const std::string& s : d.sentences) q += (q.empty() ? "" : " ") + s;
  return {q, d.answer};
}

Problem make_record(std::string id, const std::string& family, std::string question, const std::string& answer) {
  Problem p;
  p.id = std::move(id);
  p.task = family;
  p.question = std::move(question);
  p.answer = answer;
  p.gold = static_cast<double>(std::stoll(answer.substr(answer.rfind("#### ") + 5)));
  return p;
}

}  // namespace

std::vector<std::string> task_words(bool held_out) {
  const Words& w = words(held_out);
  std::vector<std::string> out;
  for (const Person& p : w.people) out.push_back(p.name);
  for (const auto* nouns : {&w.things, &w.boxes})
    for (const Noun& n : *nouns) {
      out.push_back(n.one);
      out.push_back(n.many);
    }
  for (const std::string& p : w.places) out.push_back(p);
  return out;
}

const std::vector<std::string>& task_families() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const Family& f : families()) n.push_back(f.name);
    return n;
  }();
  return names;
}

Suite make_task_suite(const SuiteOptions& options) {
  RLAE_CHECK(options.train_per_family >= 0 && options.dev_per_family >= 0 && options.test_per_family >= 0 &&
                 options.test_wording_per_family >= 0 && options.dev_wording_per_family >= 0,
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
  static const char* const kSplitNames[3] = {"test", "dev", "train"};
  for (const Family* fam : chosen) {
    // One stream per family, so adding a family does not change the others.
    Rng rng(options.seed * kGoldenGamma ^ fnv1a(fam->name));
    std::unordered_set<std::string> seen;
    int64_t index[3] = {0, 0, 0};  // per split, for ids
    const int64_t need = int64_t{options.test_per_family} + options.dev_per_family + options.train_per_family;
    int64_t made = 0, attempts = 0;
    while (made < need) {
      RLAE_CHECK(++attempts < need * 50 + 1000, "data make: family '", fam->name, "' cannot make ", need,
                 " distinct problems (made ", made, ")");
      auto [question, answer] = make_problem(rng, *fam, /*held_out=*/false);
      if (!seen.insert(question).second) continue;  // splits stay disjoint
      std::vector<Problem>* split;
      int which;
      if (made < options.test_per_family) { split = &suite.test; which = 0; }
      else if (made < options.test_per_family + options.dev_per_family) { split = &suite.dev; which = 1; }
      else { split = &suite.train; which = 2; }
      split->push_back(make_record(fam->name + "-" + kSplitNames[which] + "-" + std::to_string(index[which]++),
                                   fam->name, std::move(question), answer));
      ++made;
    }
    // test-wording, then dev-wording: the held-out pools, each split its own stream (so neither depends on
    // the other splits' sizes), dev-wording disjoint from test-wording. dev-wording is for choices made on
    // held-out wording (a recipe, a step count) without looking at test-wording.
    std::unordered_set<std::string> seen_wording;
    auto held_out_split = [&](const char* name, int per_family, std::vector<Problem>* split) {
      Rng wording(options.seed * kGoldenGamma ^ fnv1a(fam->name + "/" + name));
      for (int64_t i = 0, tries = 0; i < per_family;) {
        RLAE_CHECK(++tries < int64_t{per_family} * 50 + 1000, "data make: family '", fam->name, "' cannot make ",
                   per_family, " distinct ", name, " problems");
        auto [question, answer] = make_problem(wording, *fam, /*held_out=*/true);
        if (!seen_wording.insert(question).second) continue;
        split->push_back(make_record(fam->name + "-" + name + "-" + std::to_string(i++), fam->name,
                                     std::move(question), answer));
      }
    };
    held_out_split("test-wording", options.test_wording_per_family, &suite.test_wording);
    held_out_split("dev-wording", options.dev_wording_per_family, &suite.dev_wording);
  }
  // Interleave families so that any prefix of a split covers all of them.
  for (auto* split : {&suite.train, &suite.dev, &suite.test, &suite.test_wording, &suite.dev_wording}) {
    Rng shuffle(options.seed + 17);  // the interleaving stream (seed + 17 made the published suites)
    for (size_t i = split->size(); i > 1; --i) std::swap((*split)[i - 1], (*split)[shuffle.below(i)]);
  }
  return suite;
}

}  // namespace rlae
