#include "cli/picture_file_names.h"

#include <gtest/gtest.h>

#include <string>

namespace xai {
namespace {

TEST(PictureNamePartTest, KeepsFileNameCharactersAndReplacesTheRest) {
  EXPECT_EQ(PictureNamePart("age.years_2-b"), "age.years_2-b");
  EXPECT_EQ(PictureNamePart("a/b c"), "a_b_c");
  EXPECT_EQ(PictureNamePart("\xC3\xA9t\xC3\xA9"), "__t__");  // each byte of a non-ASCII character
  EXPECT_EQ(PictureNamePart(""), "_");
}

TEST(PictureNamePartTest, ALongNameIsCutAndEndsInAHashOfTheWholeName) {
  const std::string fits(kMaxPictureNamePartBytes, 'x');
  EXPECT_EQ(PictureNamePart(fits), fits);

  // 232 ASCII characters, or 78 CJK ones (3 bytes each), made file names of
  // more than 255 bytes.
  const std::string long_ascii = std::string(232, 'x');
  std::string cjk;
  for (int i = 0; i < 78; ++i) cjk += "\xE5\x90\x8D";
  for (const std::string& name : {long_ascii, cjk}) {
    const std::string part = PictureNamePart(name);
    EXPECT_EQ(part.size(), kMaxPictureNamePartBytes) << name;
    EXPECT_EQ(part, PictureNamePart(name)) << "the same name, the same part";
    EXPECT_EQ(part[kMaxPictureNamePartBytes - 9], '-') << part;
    EXPECT_EQ(part.substr(kMaxPictureNamePartBytes - 8).find_first_not_of("0123456789abcdef"), std::string::npos)
        << part;
  }
  EXPECT_EQ(PictureNamePart(long_ascii).substr(0, 111), long_ascii.substr(0, 111));
  // Long names that start alike, and names that clean up alike, stay apart.
  EXPECT_NE(PictureNamePart(long_ascii), PictureNamePart(long_ascii + "y"));
  EXPECT_NE(PictureNamePart(long_ascii + "/"), PictureNamePart(long_ascii + "_"));
}

TEST(PictureFileNamesTest, NamesThatComeOutAlikeGetANumber) {
  PictureFileNames names;
  EXPECT_EQ(names.Next("instance-0-output-0-", "a/b", "svg"), "instance-0-output-0-a_b.svg");
  EXPECT_EQ(names.Next("instance-0-output-0-", "a_b", "svg"), "instance-0-output-0-a_b-2.svg");
  EXPECT_EQ(names.Next("instance-0-output-0-", "a b", "svg"), "instance-0-output-0-a_b-3.svg");
  EXPECT_EQ(names.Next("instance-0-output-0-", "a_b", "png"), "instance-0-output-0-a_b.png");
  EXPECT_EQ(names.Next("instance-0-output-1-", "a_b", "svg"), "instance-0-output-1-a_b.svg");
}

TEST(PictureFileNamesTest, NamesThatDifferOnlyInLetterCaseGetANumber) {
  // Alike on case-insensitive file systems (macOS, Windows): one picture
  // would overwrite the other.
  PictureFileNames names;
  EXPECT_EQ(names.Next("instance-0-output-0-", "Feat", "svg"), "instance-0-output-0-Feat.svg");
  EXPECT_EQ(names.Next("instance-0-output-0-", "feat", "svg"), "instance-0-output-0-feat-2.svg");
  EXPECT_EQ(names.Next("instance-0-output-0-", "FEAT", "svg"), "instance-0-output-0-FEAT-3.svg");
}

}  // namespace
}  // namespace xai
