#include "core/text.h"

#include <gtest/gtest.h>

namespace xai {
namespace {

TEST(ForTerminalTest, ControlCharactersAreWrittenAsEscapes) {
  EXPECT_EQ(ForTerminal("a\x1b[31mred\x7f"), "a\\x1b[31mred\\x7f");
  EXPECT_EQ(ForTerminal(std::string("nul\0end", 7)), "nul\\x00end");
  EXPECT_EQ(ForTerminal("line\nxaiserve: fake\r"), "line\\nxaiserve: fake\\r");
  EXPECT_EQ(ForTerminal("csi \xc2\x9b" "31m"), "csi \\u009b31m");  // U+009B, C1
}

TEST(ForTerminalTest, TextTabsAndUtf8StayAsTheyAre) {
  EXPECT_EQ(ForTerminal("tab\there"), "tab\there");
  EXPECT_EQ(ForTerminal("caf\xc3\xa9 \xe4\xb8\xad \xc2\xa0nbsp"), "caf\xc3\xa9 \xe4\xb8\xad \xc2\xa0nbsp");
  EXPECT_EQ(ForTerminal("ends in \xc2"), "ends in \xc2");  // a cut sequence is not a control
}

TEST(ForTerminalTest, NewlinesStayWhenAsked) {
  EXPECT_EQ(ForTerminal("one\ntwo\x1b\n", /*keep_newlines=*/true), "one\ntwo\\x1b\n");
}

}  // namespace
}  // namespace xai
