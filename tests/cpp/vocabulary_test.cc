#include "salesperf/vocabulary.h"

#include <gtest/gtest.h>

namespace salesperf {
namespace {

TEST(Vocabulary, ExactBeatsPrefixAndLongestPrefixWins) {
  Vocabulary v;
  ASSERT_TRUE(v.Add("O_SENT_BACK", Actor::kBuyer).ok());
  ASSERT_TRUE(v.AddPrefix("O_", Actor::kSystem).ok());
  ASSERT_TRUE(v.AddPrefix("W_", Actor::kSeller).ok());
  ASSERT_TRUE(v.AddPrefix("W_Nabellen", Actor::kBuyer).ok());
  EXPECT_EQ(v.Resolve("O_SENT_BACK"), Actor::kBuyer);
  EXPECT_EQ(v.Resolve("O_SENT"), Actor::kSystem);
  EXPECT_EQ(v.Resolve("W_Valideren aanvraag"), Actor::kSeller);
  EXPECT_EQ(v.Resolve("W_Nabellen offertes"), Actor::kBuyer);
  EXPECT_EQ(v.Resolve("A_SUBMITTED"), std::nullopt);
  EXPECT_TRUE(v.IsListed("O_SENT_BACK"));
  EXPECT_FALSE(v.IsListed("O_SENT"));
}

TEST(Vocabulary, ConflictsAreErrorsNamingTheAction) {
  Vocabulary v;
  ASSERT_TRUE(v.Add("reply", Actor::kBuyer).ok());
  EXPECT_TRUE(v.Add("reply", Actor::kBuyer).ok());  // same again is fine
  absl::Status s = v.Add("reply", Actor::kSeller);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'reply'"), std::string::npos);
  EXPECT_FALSE(v.Add("", Actor::kBuyer).ok());
  EXPECT_FALSE(v.AddPrefix("", Actor::kBuyer).ok());
  ASSERT_TRUE(v.AddPrefix("W_", Actor::kSeller).ok());
  EXPECT_FALSE(v.AddPrefix("W_", Actor::kBuyer).ok());
  EXPECT_EQ(v.actions().size(), 1u);
}

TEST(Vocabulary, ParseActor) {
  EXPECT_EQ(*ParseActor("Buyer"), Actor::kBuyer);
  EXPECT_EQ(*ParseActor(" seller "), Actor::kSeller);
  EXPECT_EQ(*ParseActor("SYSTEM"), Actor::kSystem);
  EXPECT_FALSE(ParseActor("rep").ok());
  EXPECT_EQ(ActorName(Actor::kSeller), "seller");
}

}  // namespace
}  // namespace salesperf
