// Sweep grids: parsing (with file:line errors), expansion order, and which
// setting wins (base config < fixed settings < the trial's grid values).
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>

#include "common/check.h"
#include "common/sweep_grid.h"

namespace rlae {
namespace {

std::string write(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "rlae_sweep_" + std::to_string(::getpid()) + "_" + name;
  std::ofstream(path) << text;
  return path;
}

std::string error_of(const std::string& text) {
  try {
    parse_sweep_grid(write("bad.ini", text));
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(SweepGrid, ExpandsEveryCombinationLastAxisFastest) {
  const std::string base = write("base.ini", "lr = 1e-4\nepochs = 3  # default\nseed = 9\n# comment\n");
  const SweepGrid g = parse_sweep_grid(write("grid.ini", "base = " + base + "\nepochs = 5 ; five\n[grid]\n"
                                                         "lr = 3e-4, 1e-3\nalgo = mappo,ppo , x\n"));
  ASSERT_EQ(g.axes.size(), 2u);
  EXPECT_EQ(g.axes[1].second, (std::vector<std::string>{"mappo", "ppo", "x"}));
  const auto trials = expand_sweep(g);
  ASSERT_EQ(trials.size(), 6u);
  EXPECT_EQ(trials[0].at("lr"), "3e-4");
  EXPECT_EQ(trials[0].at("algo"), "mappo");
  EXPECT_EQ(trials[1].at("algo"), "ppo");
  EXPECT_EQ(trials[3].at("lr"), "1e-3");
  EXPECT_EQ(trials[5].at("algo"), "x");
  for (const auto& t : trials) {
    EXPECT_EQ(t.at("epochs"), "5");  // fixed settings override the base
    EXPECT_EQ(t.at("seed"), "9");    // the base fills in the rest
    EXPECT_EQ(t.count("base"), 0u);
  }
  const auto points = sweep_points(g);
  ASSERT_EQ(points.size(), 6u);
  EXPECT_EQ(points[4], (std::vector<std::pair<std::string, std::string>>{{"lr", "1e-3"}, {"algo", "ppo"}}));
  EXPECT_EQ(trial_name(7), "trial-007");
}

TEST(SweepGrid, BadGridsNameFileAndLine) {
  EXPECT_NE(error_of("lr = 1\n[grid]\nseed 1, 2\n").find("bad.ini:3: expected 'key = value'"), std::string::npos);
  EXPECT_NE(error_of("[grid]\nseed = 1, 2\nseed = 3\n").find(":3: 'seed' is given twice"), std::string::npos);
  EXPECT_NE(error_of("lr = 1\n[grid]\nlr = 1, 2\n").find(":3: 'lr' is given twice"), std::string::npos);
  EXPECT_NE(error_of("[grid]\nseed = 1,,2\n").find(":2: 'seed' has an empty value"), std::string::npos);
  EXPECT_NE(error_of("[grid]\nseed = 1, 1\n").find("lists a value twice"), std::string::npos);
  EXPECT_NE(error_of("[sweep]\nseed = 1\n").find(":1: unknown section '[sweep]'"), std::string::npos);
  EXPECT_NE(error_of("out = x\n[grid]\nseed = 1\n").find(":1: 'out' is set per trial"), std::string::npos);
  EXPECT_NE(error_of("lr = 1\n").find("no [grid] values"), std::string::npos);
  EXPECT_THROW(parse_sweep_grid("/nonexistent/grid.ini"), Error);
  const SweepGrid g = parse_sweep_grid(write("nobase.ini", "base = /nonexistent/base.ini\n[grid]\nseed = 1\n"));
  try {
    expand_sweep(g);
    FAIL() << "no error for a missing base";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/base.ini"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rlae
