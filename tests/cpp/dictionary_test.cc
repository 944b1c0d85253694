#include "salesperf/dictionary.h"

#include <gtest/gtest.h>

namespace salesperf {
namespace {

TEST(Dictionary, StringsLabelAndFind) {
  Dictionary d = Dictionary::Strings({"ana", "bo"});
  EXPECT_EQ(d.size(), 2);
  EXPECT_FALSE(d.is_integer());
  EXPECT_EQ(d.Label(1), "bo");
  EXPECT_EQ(d.Label(kNullCode), "");
  EXPECT_EQ(d.Label(2), "");
  EXPECT_EQ(d.Find("ana"), 0);
  EXPECT_EQ(d.Find("zed"), std::nullopt);
  EXPECT_EQ(d.Find(int64_t{7}), std::nullopt);
}

TEST(Dictionary, IntsLabelAndFind) {
  Dictionary d = Dictionary::Ints({112, -5, int64_t{1} << 40});
  EXPECT_TRUE(d.is_integer());
  EXPECT_EQ(d.Label(0), "112");
  EXPECT_EQ(d.Label(2), "1099511627776");
  EXPECT_EQ(d.Find(int64_t{-5}), 1);
  EXPECT_EQ(d.Find("112"), 0);
  EXPECT_EQ(d.Find("x"), std::nullopt);
}

TEST(Dictionary, EncodeStringsByFirstAppearance) {
  std::vector<std::string> in = {"b", "a", "b", "c", "a"};
  EncodedStrings e = EncodeStrings(in);
  EXPECT_EQ(e.codes, (std::vector<int64_t>{0, 1, 0, 2, 1}));
  EXPECT_EQ(e.labels, (std::vector<std::string>{"b", "a", "c"}));
}

}  // namespace
}  // namespace salesperf
