#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "common/check.h"
#include "common/fs.h"
#include "common/options.h"

namespace rlae {
namespace {

po::options_description sample_options() {
  po::options_description d("sample");
  d.add_options()
      ("lr", opt<double>("FLOAT", 1e-4), "learning rate")
      ("epochs", opt<int>("N", 3), "epochs")
      ("name", opt<std::string>("TEXT"), "a name")
      ("resume", po::bool_switch(), "flag");
  return d;
}

const CommandSpec kSpec{"sample", "a sample command", "rlae sample"};

std::optional<po::variables_map> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "sample");
  std::ostringstream help;
  return parse_command_options(kSpec, sample_options(), static_cast<int>(args.size()), args.data(), help);
}

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "rlae_" + std::to_string(::getpid()) + "_" + name;
}

std::string usage_message(std::vector<const char*> args) {
  try {
    parse(std::move(args));
  } catch (const UsageError& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(Options, DefaultsAndCommandLine) {
  auto vm = parse({"--lr", "0.5", "--resume"});
  ASSERT_TRUE(vm);
  EXPECT_DOUBLE_EQ((*vm)["lr"].as<double>(), 0.5);
  EXPECT_EQ((*vm)["epochs"].as<int>(), 3);
  EXPECT_TRUE((*vm)["resume"].as<bool>());
}

TEST(Options, HelpReturnsNothing) { EXPECT_FALSE(parse({"--help"})); }

TEST(Options, UnknownOptionNamesIt) {
  const std::string msg = usage_message({"--no-such-flag"});
  EXPECT_NE(msg.find("rlae sample: unknown option '--no-such-flag'"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos);
}

TEST(Options, BadValueNamesOptionAndForm) {
  const std::string msg = usage_message({"--epochs", "three"});
  EXPECT_NE(msg.find("--epochs"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected N"), std::string::npos) << msg;
  EXPECT_NE(msg.find("three"), std::string::npos) << msg;
}

TEST(Options, IniIsOverriddenByCommandLine) {
  const std::string ini = temp_path("run.ini");
  write_file_atomic(ini, "lr = 0.25\nepochs = 7\nname = from-ini\n");
  auto vm = parse({"--config", ini.c_str(), "--epochs", "9"});
  ASSERT_TRUE(vm);
  EXPECT_DOUBLE_EQ((*vm)["lr"].as<double>(), 0.25);
  EXPECT_EQ((*vm)["epochs"].as<int>(), 9);  // the command line wins
  EXPECT_EQ((*vm)["name"].as<std::string>(), "from-ini");
  std::remove(ini.c_str());
}

TEST(Options, IniUnknownKeyAndBadValue) {
  const std::string ini = temp_path("bad.ini");
  write_file_atomic(ini, "lr = 0.25\nlearning_rate = 3\n");
  std::string msg = usage_message({"--config", ini.c_str()});
  EXPECT_NE(msg.find("learning_rate"), std::string::npos) << msg;
  write_file_atomic(ini, "epochs = lots\n");
  msg = usage_message({"--config", ini.c_str()});
  EXPECT_NE(msg.find("epochs"), std::string::npos) << msg;
  EXPECT_NE(msg.find("lots"), std::string::npos) << msg;
  std::remove(ini.c_str());
  msg = usage_message({"--config", "/nonexistent/run.ini"});
  EXPECT_NE(msg.find("cannot read config file '/nonexistent/run.ini'"), std::string::npos) << msg;
}

// Boost 1.74 fills its message template until no placeholder is left; a value that
// is a placeholder ("%value%") never ran out (found by the ini fuzz target).
TEST(Options, AValueHoldingABoostPlaceholderIsABadValueNotAHang) {
  const std::string ini = temp_path("placeholder.ini");
  write_file_atomic(ini, "epochs =%value%'w\n");
  std::string msg = usage_message({"--config", ini.c_str()});
  EXPECT_NE(msg.find("the argument for option 'epochs' is invalid"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected N"), std::string::npos) << msg;
  std::remove(ini.c_str());
  msg = usage_message({"--epochs", "%canonical_option%"});
  EXPECT_NE(msg.find("'--epochs' is invalid"), std::string::npos) << msg;
  // A '%' in a good value is only a character.
  auto vm = parse({"--name", "50%"});
  ASSERT_TRUE(vm);
  EXPECT_EQ((*vm)["name"].as<std::string>(), "50%");
}

TEST(Options, ResolvedConfigReadsBackTheSame) {
  auto vm = parse({"--lr", "0.125", "--name", "x"});
  ASSERT_TRUE(vm);
  const std::string ini = temp_path("resolved.ini");
  write_resolved_config(ini, sample_options(), *vm);
  const std::string text = read_file(ini);
  EXPECT_NE(text.find("lr = 0.125\n"), std::string::npos) << text;
  EXPECT_NE(text.find("epochs = 3  # default"), std::string::npos) << text;
  auto again = parse({"--config", ini.c_str()});
  ASSERT_TRUE(again);
  EXPECT_DOUBLE_EQ((*again)["lr"].as<double>(), 0.125);
  EXPECT_EQ((*again)["name"].as<std::string>(), "x");
  EXPECT_FALSE((*again)["resume"].as<bool>());
  std::remove(ini.c_str());
}

// Floating-point values print as the shortest spelling that reads back exactly,
// in --help defaults and in resolved configs.
TEST(Options, FloatsPrintShortAndExact) {
  EXPECT_EQ(shortest_double(0.2), "0.2");
  EXPECT_EQ(shortest_double(0.99), "0.99");
  EXPECT_EQ(shortest_double(1e-4), "0.0001");
  EXPECT_EQ(std::stod(shortest_double(0.1 + 0.2)), 0.1 + 0.2);  // needs all 17 digits
  auto vm = parse({"--lr", "0.3"});
  ASSERT_TRUE(vm);
  const std::string ini = temp_path("floats.ini");
  write_resolved_config(ini, sample_options(), *vm);
  EXPECT_NE(read_file(ini).find("lr = 0.3\n"), std::string::npos) << read_file(ini);
  std::remove(ini.c_str());
  std::ostringstream help;
  help << sample_options();
  EXPECT_NE(help.str().find("(=0.0001)"), std::string::npos) << help.str();
}

TEST(Options, SplitList) {
  EXPECT_EQ(split_list("a, b ,c", "--models"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_THROW(split_list("a,,b", "--models"), Error);
}

TEST(Check, UserErrorCarriesOnlyTheMessage) {
  try {
    const int k = 3;
    RLAE_CHECK(k == 2, "members: expected ", 2, ", got ", k);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "members: expected 2, got 3");
  }
}

TEST(Check, InternalErrorNamesConditionAndPlace) {
  try {
    RLAE_ASSERT(1 + 1 == 3, "arithmetic");
    FAIL();
  } catch (const InternalError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("1 + 1 == 3"), std::string::npos) << msg;
    EXPECT_NE(msg.find("test_options.cpp"), std::string::npos) << msg;
  }
}

TEST(Fs, ReadMissingFileNamesIt) {
  try {
    read_file("/nonexistent/x.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/x.json"), std::string::npos);
  }
}

}  // namespace
}  // namespace rlae
