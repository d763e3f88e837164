#include "cli/flags.h"

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace xai {
namespace {

using ::xai::testing::Contains;

// A flag set like `xaiserve explain`'s, with one flag of every type.
class FlagsTest : public ::testing::Test {
 protected:
  FlagsTest() : flags_("xaiserve explain MODEL_DIR --instances FILE [flags]", "Explains instances.") {
    flags_.String("instances", &instances_, "FILE", "JSON Lines file of instances");
    flags_.Int("steps", &steps_, 1, 1000, "integration steps");
    flags_.Double("noise-sigma", &noise_sigma_, "S", 0.0, 1.0, "SmoothGrad noise");
    flags_.Double("offset", &offset_, "X", -5.0, 5.0, "an offset that may be negative");
    flags_.Bool("verbose", &verbose_, "print progress");
    flags_.IntList("output-indices", &output_indices_, "output elements to explain");
    flags_.StringList("model", &models_, "NAME=DIR", "a model to serve (repeatable)");
  }

  Status Parse(const std::vector<std::string>& args) {
    positional_.clear();
    return flags_.Parse(args, &positional_);
  }

  // Parsing must fail with INVALID_ARGUMENT; returns the message.
  std::string ParseError(const std::vector<std::string>& args) {
    const Status status = Parse(args);
    EXPECT_FALSE(status.ok());
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
    return status.message();
  }

  FlagSet flags_;
  std::string instances_ = "default.jsonl";
  int64_t steps_ = 50;
  double noise_sigma_ = 0.1;
  double offset_ = 0;
  bool verbose_ = false;
  std::vector<int64_t> output_indices_;
  std::vector<std::string> models_;
  std::vector<std::string> positional_;
};

TEST_F(FlagsTest, DefaultsStayWhenNoFlagsAreGiven) {
  ASSERT_TRUE(Parse({}).ok());
  EXPECT_EQ(instances_, "default.jsonl");
  EXPECT_EQ(steps_, 50);
  EXPECT_EQ(noise_sigma_, 0.1);
  EXPECT_FALSE(verbose_);
  EXPECT_TRUE(output_indices_.empty());
  EXPECT_TRUE(positional_.empty());
  EXPECT_FALSE(flags_.help_requested());
  EXPECT_FALSE(flags_.WasSet("steps"));
}

TEST_F(FlagsTest, EveryFlagTypeWithSeparateValues) {
  const Status status = Parse({"--instances", "in.jsonl", "--steps", "25", "--noise-sigma", "0.25", "--verbose",
                               "--output-indices", "0,2,5", "--model", "a=/m/a", "--model", "b=/m/b"});
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(instances_, "in.jsonl");
  EXPECT_EQ(steps_, 25);
  EXPECT_EQ(noise_sigma_, 0.25);
  EXPECT_TRUE(verbose_);
  EXPECT_EQ(output_indices_, (std::vector<int64_t>{0, 2, 5}));
  EXPECT_EQ(models_, (std::vector<std::string>{"a=/m/a", "b=/m/b"}));
  EXPECT_TRUE(positional_.empty());
}

TEST_F(FlagsTest, EveryFlagTypeWithInlineValues) {
  const Status status = Parse({"--instances=in.jsonl", "--steps=25", "--noise-sigma=0.25", "--output-indices=7",
                               "--model=a=/m/a"});
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(instances_, "in.jsonl");
  EXPECT_EQ(steps_, 25);
  EXPECT_EQ(noise_sigma_, 0.25);
  EXPECT_EQ(output_indices_, (std::vector<int64_t>{7}));
  EXPECT_EQ(models_, (std::vector<std::string>{"a=/m/a"}));  // only the first '=' splits
}

TEST_F(FlagsTest, InlineEmptyStringValue) {
  ASSERT_TRUE(Parse({"--instances="}).ok());
  EXPECT_EQ(instances_, "");
  EXPECT_TRUE(flags_.WasSet("instances"));
}

TEST_F(FlagsTest, NegativeNumbersAreValues) {
  const Status status = Parse({"--offset", "-2.5"});
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(offset_, -2.5);
}

TEST_F(FlagsTest, LaterOccurrenceWins) {
  ASSERT_TRUE(Parse({"--steps", "10", "--steps=20", "--output-indices", "1,2", "--output-indices", "3"}).ok());
  EXPECT_EQ(steps_, 20);
  EXPECT_EQ(output_indices_, (std::vector<int64_t>{3}));
}

TEST_F(FlagsTest, PositionalArgumentsKeepTheirOrder) {
  const Status status = Parse({"model_dir", "--steps", "5", "extra", "-", "--verbose", "last"});
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(positional_, (std::vector<std::string>{"model_dir", "extra", "-", "last"}));
  EXPECT_EQ(steps_, 5);
  EXPECT_TRUE(verbose_);
}

TEST_F(FlagsTest, WasSetRecordsGivenFlags) {
  ASSERT_TRUE(Parse({"--steps", "5", "--verbose"}).ok());
  EXPECT_TRUE(flags_.WasSet("steps"));
  EXPECT_TRUE(flags_.WasSet("verbose"));
  EXPECT_FALSE(flags_.WasSet("instances"));
  EXPECT_FALSE(flags_.WasSet("no-such-flag"));
}

TEST_F(FlagsTest, IntRangeIsEnforcedNamingFlagAndRange) {
  for (const std::string bad : {"0", "1001", "-3"}) {
    SCOPED_TRACE(bad);
    const std::string message = ParseError({"--steps", bad});
    EXPECT_TRUE(Contains(message, "--steps"));
    EXPECT_TRUE(Contains(message, bad));
    EXPECT_TRUE(Contains(message, "[1, 1000]"));
  }
  EXPECT_EQ(steps_, 50);  // unchanged by failed parses
  EXPECT_FALSE(flags_.WasSet("steps"));
  EXPECT_TRUE(Parse({"--steps", "1"}).ok());
  EXPECT_EQ(steps_, 1);
  EXPECT_TRUE(Parse({"--steps", "1000"}).ok());
  EXPECT_EQ(steps_, 1000);
}

TEST_F(FlagsTest, NonIntegersAreRejectedNamingTheValue) {
  for (const std::string bad : {"ten", "2.5", "", "5x", "99999999999999999999"}) {
    SCOPED_TRACE(bad);
    const std::string message = ParseError({"--steps", bad});
    EXPECT_TRUE(Contains(message, "--steps"));
    EXPECT_TRUE(Contains(message, "'" + bad + "' is not an integer"));
  }
}

TEST_F(FlagsTest, DoubleRangeIsEnforcedNamingFlagAndRange) {
  for (const std::string bad : {"1.5", "-0.1"}) {
    SCOPED_TRACE(bad);
    const std::string message = ParseError({"--noise-sigma=" + bad});
    EXPECT_TRUE(Contains(message, "--noise-sigma"));
    EXPECT_TRUE(Contains(message, bad));
    EXPECT_TRUE(Contains(message, "[0, 1]"));
  }
  EXPECT_EQ(noise_sigma_, 0.1);
  EXPECT_TRUE(Parse({"--noise-sigma", "0"}).ok());
  EXPECT_EQ(noise_sigma_, 0.0);
  EXPECT_TRUE(Parse({"--noise-sigma", "1"}).ok());
  EXPECT_EQ(noise_sigma_, 1.0);
  EXPECT_TRUE(Parse({"--noise-sigma", "2.5e-1"}).ok());
  EXPECT_EQ(noise_sigma_, 0.25);
}

TEST_F(FlagsTest, NonNumbersAndNonFiniteDoublesAreRejected) {
  for (const std::string bad : {"abc", "", "0.5x", "nan", "inf", "1e999", "0x10", " 0.5", "0x1p-3"}) {
    SCOPED_TRACE(bad);
    const std::string message = ParseError({"--noise-sigma", bad});
    EXPECT_TRUE(Contains(message, "--noise-sigma"));
    EXPECT_TRUE(Contains(message, "'" + bad + "' is not a number"));
  }
  EXPECT_EQ(noise_sigma_, 0.1);
}

TEST_F(FlagsTest, IntListParsing) {
  ASSERT_TRUE(Parse({"--output-indices", "3"}).ok());
  EXPECT_EQ(output_indices_, (std::vector<int64_t>{3}));
  ASSERT_TRUE(Parse({"--output-indices", "10,-1,0"}).ok());
  EXPECT_EQ(output_indices_, (std::vector<int64_t>{10, -1, 0}));
}

TEST_F(FlagsTest, IntListBadItemsAreNamed) {
  const std::string word = ParseError({"--output-indices", "1,two,3"});
  EXPECT_TRUE(Contains(word, "--output-indices"));
  EXPECT_TRUE(Contains(word, "'two' is not an integer"));
  const std::string empty_item = ParseError({"--output-indices", "1,,3"});
  EXPECT_TRUE(Contains(empty_item, "'1,,3' is not a comma-separated list of integers"));
  const std::string trailing = ParseError({"--output-indices", "1,2,"});
  EXPECT_TRUE(Contains(trailing, "'1,2,' is not a comma-separated list of integers"));
  const std::string fraction = ParseError({"--output-indices=1.5"});
  EXPECT_TRUE(Contains(fraction, "'1.5'"));
  const std::string nothing = ParseError({"--output-indices="});
  EXPECT_TRUE(Contains(nothing, "--output-indices: '' is not a comma-separated list of integers"));
}

TEST_F(FlagsTest, UnknownFlagIsNamed) {
  const std::string message = ParseError({"--step", "5"});
  EXPECT_TRUE(Contains(message, "unknown flag --step"));
  EXPECT_FALSE(Contains(message, "--help"));  // the command's usage error adds the hint, once
  const std::string inline_value = ParseError({"--colour=red"});
  EXPECT_TRUE(Contains(inline_value, "--colour"));
  EXPECT_FALSE(Contains(inline_value, "red"));  // the name, not the value
}

TEST_F(FlagsTest, SingleDashOptionIsUnknown) {
  const std::string message = ParseError({"-v"});
  EXPECT_TRUE(Contains(message, "'-v'"));
  EXPECT_TRUE(Contains(message, "--name"));
}

TEST_F(FlagsTest, MissingValueNamesTheFlagAndWhatItTakes) {
  const std::string steps = ParseError({"model_dir", "--steps"});
  EXPECT_TRUE(Contains(steps, "--steps needs a value"));
  EXPECT_TRUE(Contains(steps, "N"));
  const std::string instances = ParseError({"--instances"});
  EXPECT_TRUE(Contains(instances, "--instances needs a value (FILE)"));
}

TEST_F(FlagsTest, BoolWithValueIsRejected) {
  for (const std::string arg : {"--verbose=true", "--verbose=", "--verbose=1"}) {
    SCOPED_TRACE(arg);
    const std::string message = ParseError({arg});
    EXPECT_TRUE(Contains(message, "--verbose takes no value"));
  }
  EXPECT_FALSE(verbose_);
}

TEST(FlagsHelpTest, LinesOfAFlagsHelpStartInTheDescriptionColumn) {
  std::string value;
  FlagSet flags("xaiserve explain MODEL_DIR", "Explains.");
  flags.String("visualize", &value, "DIR", "write pictures\nof the attributions");
  EXPECT_TRUE(Contains(flags.Help(), "  --visualize DIR           write pictures\n"
                                     "                            of the attributions\n"));
}

TEST_F(FlagsTest, HelpIsRequestedByLongAndShortForms) {
  ASSERT_TRUE(Parse({"--help"}).ok());
  EXPECT_TRUE(flags_.help_requested());

  FlagSet other("xaiserve inspect MODEL_DIR", "Inspects a model.");
  std::vector<std::string> positional;
  // Help wins even when the rest of the command line is incomplete or wrong.
  ASSERT_TRUE(other.Parse({"-h", "--no-such-flag"}, &positional).ok());
  EXPECT_TRUE(other.help_requested());
}

TEST_F(FlagsTest, HelpAfterOtherFlags) {
  ASSERT_TRUE(Parse({"--steps", "5", "--help"}).ok());
  EXPECT_TRUE(flags_.help_requested());
  EXPECT_EQ(steps_, 5);
}

TEST_F(FlagsTest, HelpListsEveryFlag) {
  const std::string help = flags_.Help();
  EXPECT_TRUE(Contains(help, "usage: xaiserve explain MODEL_DIR --instances FILE [flags]"));
  EXPECT_TRUE(Contains(help, "Explains instances."));
  EXPECT_TRUE(Contains(help, "--instances FILE"));
  EXPECT_TRUE(Contains(help, "JSON Lines file of instances"));
  EXPECT_TRUE(Contains(help, "--steps N"));
  EXPECT_TRUE(Contains(help, "integration steps"));
  EXPECT_TRUE(Contains(help, "--noise-sigma S"));
  EXPECT_TRUE(Contains(help, "SmoothGrad noise"));
  EXPECT_TRUE(Contains(help, "--offset X"));
  EXPECT_TRUE(Contains(help, "--verbose"));
  EXPECT_TRUE(Contains(help, "print progress"));
  EXPECT_TRUE(Contains(help, "--output-indices I[,J...]"));
  EXPECT_TRUE(Contains(help, "output elements to explain"));
  EXPECT_TRUE(Contains(help, "--model NAME=DIR"));
  EXPECT_TRUE(Contains(help, "a model to serve (repeatable)"));
  EXPECT_TRUE(Contains(help, "-h, --help"));
  // Flags appear in the order they were declared.
  EXPECT_LT(help.find("--instances"), help.find("--steps"));
  EXPECT_LT(help.find("--steps"), help.find("--model"));
}

}  // namespace
}  // namespace xai
