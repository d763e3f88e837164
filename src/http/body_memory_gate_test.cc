#include "http/body_memory_gate.h"

#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <thread>

namespace xai {
namespace {

constexpr size_t kLarge = BodyMemoryGate::kLargeBodyBytes;

// Until another thread is blocked in Enter, or got in (`entered`), which it
// should not have: no clock involved.
void WaitUntilOneIsWaiting(const BodyMemoryGate& gate, const std::atomic<bool>& entered) {
  while (gate.bodies_waiting() != 1 && !entered) std::this_thread::yield();
}

TEST(BodyMemoryGateTest, SmallBodiesPassWithoutHoldingAnything) {
  BodyMemoryGate gate(2 * kLarge);
  auto a = gate.Enter(kLarge - 1);
  auto b = gate.Enter(kLarge - 1);
  auto c = gate.Enter(kLarge - 1);
  EXPECT_EQ(gate.bytes_in_use(), 0u);
}

TEST(BodyMemoryGateTest, LargeBodiesBeyondTheCapacityWaitForOneToFinish) {
  BodyMemoryGate gate(2 * kLarge);
  std::optional<BodyMemoryGate::Ticket> first(gate.Enter(kLarge));
  auto second = gate.Enter(kLarge);
  EXPECT_EQ(gate.bytes_in_use(), 2 * kLarge);

  std::atomic<bool> third_in{false};
  std::thread third([&] {
    auto ticket = gate.Enter(kLarge);
    third_in = true;
  });
  WaitUntilOneIsWaiting(gate, third_in);
  EXPECT_FALSE(third_in) << "a third large body got in beside two that fill the capacity";
  first.reset();  // the first request ends
  third.join();
  EXPECT_TRUE(third_in);
  EXPECT_EQ(gate.bytes_in_use(), kLarge);  // the second's, still held
}

TEST(BodyMemoryGateTest, ABodyLargerThanTheCapacityWaitsUntilItIsAlone) {
  BodyMemoryGate gate(2 * kLarge);
  std::optional<BodyMemoryGate::Ticket> other(gate.Enter(kLarge));
  std::atomic<bool> huge_in{false};
  std::thread huge([&] {
    auto ticket = gate.Enter(10 * kLarge);
    huge_in = true;
    EXPECT_EQ(gate.bytes_in_use(), 2 * kLarge);
  });
  WaitUntilOneIsWaiting(gate, huge_in);
  EXPECT_FALSE(huge_in);
  other.reset();
  huge.join();
  EXPECT_TRUE(huge_in);
  EXPECT_EQ(gate.bytes_in_use(), 0u);
}

}  // namespace
}  // namespace xai
