#include "http/connection_parking.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <string>

namespace xai {
namespace {

using Clock = ConnectionParking::Clock;

// A connected pair of sockets: `server` is parked, `client` plays the client.
struct SocketPair {
  SocketPair() {
    int fds[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    server = fds[0];
    client = fds[1];
  }
  ~SocketPair() {
    close(server);
    if (client >= 0) close(client);
  }
  int server = -1, client = -1;
};

// What happened to one parked connection: "ready", "expired" or "stopped".
struct Outcome {
  std::promise<std::string> promise;
  std::future<std::string> future = promise.get_future();

  ConnectionParking::Parked For(int sock, Clock::time_point deadline) {
    return {sock, deadline, [this] { promise.set_value("ready"); },
            [this](bool stopping) { promise.set_value(stopping ? "stopped" : "expired"); }};
  }
  // The outcome; "none" if nothing happened within 10 s (a hang).
  std::string Wait() {
    return future.wait_for(std::chrono::seconds(10)) == std::future_status::ready ? future.get() : "none";
  }
};

constexpr auto kFarAway = std::chrono::hours(1);

TEST(ConnectionParkingTest, AConnectionIsHandedBackWhenItsClientSends) {
  ConnectionParking parking;
  SocketPair pair;
  Outcome outcome;
  parking.Park(outcome.For(pair.server, Clock::now() + kFarAway));
  EXPECT_EQ(parking.parked(), 1u);

  ASSERT_EQ(write(pair.client, "GET", 3), 3);

  EXPECT_EQ(outcome.Wait(), "ready");
  EXPECT_EQ(parking.parked(), 0u);
  char request[3];
  EXPECT_EQ(read(pair.server, request, sizeof request), 3);  // the bytes are left for the worker to read
}

TEST(ConnectionParkingTest, AClientThatClosesIsHandedBackToo) {
  ConnectionParking parking;
  SocketPair pair;
  Outcome outcome;
  parking.Park(outcome.For(pair.server, Clock::now() + kFarAway));

  close(pair.client);
  pair.client = -1;

  EXPECT_EQ(outcome.Wait(), "ready");  // the worker's read finds the end of the stream
}

TEST(ConnectionParkingTest, AConnectionWhoseWaitRunsOutExpires) {
  ConnectionParking parking;
  SocketPair pair, quiet;
  Outcome due, later;
  parking.Park(later.For(quiet.server, Clock::now() + kFarAway));
  parking.Park(due.For(pair.server, Clock::now()));  // due before the thread's current wait ends

  EXPECT_EQ(due.Wait(), "expired");
  EXPECT_EQ(parking.parked(), 1u);  // the other still waits
  parking.Stop();
  EXPECT_EQ(later.Wait(), "stopped");
}

TEST(ConnectionParkingTest, StoppingEndsEveryParkedConnectionAndLaterOnesAtOnce) {
  ConnectionParking parking;
  SocketPair first, second, after;
  Outcome a, b, c;
  parking.Park(a.For(first.server, Clock::now() + kFarAway));
  parking.Park(b.For(second.server, Clock::now() + kFarAway));

  parking.Stop();

  EXPECT_EQ(a.Wait(), "stopped");
  EXPECT_EQ(b.Wait(), "stopped");
  EXPECT_EQ(parking.parked(), 0u);
  parking.Park(c.For(after.server, Clock::now() + kFarAway));
  EXPECT_EQ(c.Wait(), "stopped");
  parking.Stop();  // idempotent
}

}  // namespace
}  // namespace xai
