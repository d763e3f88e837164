#include "core/tensor_name.h"

#include <gtest/gtest.h>

namespace xai {
namespace {

TEST(TensorNameTest, SplitsNodeAndIndexAndDefaultsToOutputZero) {
  EXPECT_EQ(ParseTensorName("dense/Relu:1").node, "dense/Relu");
  EXPECT_EQ(ParseTensorName("dense/Relu:1").index, 1);
  EXPECT_EQ(ParseTensorName("features").node, "features");
  EXPECT_EQ(ParseTensorName("features").index, 0);
  EXPECT_EQ(ParseTensorName("a:b:2").node, "a:b");
  EXPECT_EQ(ParseTensorName("a:b:2").index, 2);
}

TEST(TensorNameTest, ASuffixThatIsNotAnIntStaysInTheNodeName) {
  for (const char* name : {"a:b", "a:", "a:-1", "a:+1", "a:1x", "a:99999999999"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(ParseTensorName(name).node, name);  // no exception, no overflow
    EXPECT_EQ(ParseTensorName(name).index, 0);
  }
}

TEST(TensorNameTest, SameTensorComparesNodeAndIndex) {
  EXPECT_TRUE(SameTensor("x", "x:0"));
  EXPECT_TRUE(SameTensor("x:00", "x:0"));
  EXPECT_TRUE(SameTensor("x:1", "x:1"));
  EXPECT_FALSE(SameTensor("x:1", "x"));
  EXPECT_FALSE(SameTensor("x", "y"));
  EXPECT_FALSE(SameTensor("x:", "x"));
}

}  // namespace
}  // namespace xai
