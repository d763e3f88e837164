#include "http/client_deadlines.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace xai {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kClientTimeout(300);

// A client over a bare socket: what it sends and when is up to the test.
class RawClient {
 public:
  explicit RawClient(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    timeval five_seconds{5, 0};  // a server that never answers fails the test, not hangs it
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &five_seconds, sizeof(five_seconds));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~RawClient() { close(fd_); }

  bool connected() const { return connected_; }
  bool Send(const std::string& bytes) { return send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()); }
  // Sends `bytes` one at a time, `pause` apart, until done or the server
  // answers (or hangs up).
  void Trickle(const std::string& bytes, milliseconds pause) {
    for (char c : bytes) {
      if (!Send(std::string(1, c))) return;
      pollfd answer{fd_, POLLIN, 0};
      if (poll(&answer, 1, static_cast<int>(pause.count())) != 0) return;
    }
  }
  // Everything up to `marker` (inclusive), or all until the server closes.
  std::string ReadUntil(const std::string& marker) {
    std::string got;
    char c;
    while ((marker.empty() || got.find(marker) == std::string::npos) && recv(fd_, &c, 1, 0) == 1) got += c;
    return got;
  }
  std::string ReadAll() { return ReadUntil(""); }

 private:
  int fd_;
  bool connected_ = false;
};

class ClientDeadlinesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<DeadlineHttpServer>(kClientTimeout, threads_, [this](const std::string&, int status, double) {
      if (status == 408) ++timeouts_;
    });
    server_->set_keep_alive_timeout(1);
    server_->set_read_timeout(read_timeout_seconds_);
    server_->Get(R"(/bytes/(\d+))", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(std::string(std::stoul(req.matches[1]), 'x'), "text/plain");
    });
    server_->Get(R"(/sleep/(\d+))", [this](const httplib::Request& req, httplib::Response& res) {
      ++sleeping_;
      std::this_thread::sleep_for(milliseconds(std::stoul(req.matches[1])));
      res.set_content("slept", "text/plain");
    });
    // Answers the body's size, or 408 / 400 when it did not arrive.
    server_->Post("/size", [](const httplib::Request&, httplib::Response& res, const httplib::ContentReader& reader) {
      std::string body;
      if (!reader([&body](const char* data, size_t size) {
            body.append(data, size);
            return true;
          })) {
        res.status = DeadlineHttpServer::ThisRequestTimedOut() ? 408 : 400;
        return;
      }
      res.set_content(std::to_string(body.size()), "text/plain");
    });
    port_ = server_->bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    serving_ = std::thread([this] { server_->listen_after_bind(); });
    while (!server_->is_running()) std::this_thread::sleep_for(milliseconds(1));
  }
  void TearDown() override {
    server_->stop();
    if (serving_.joinable()) serving_.join();
  }

  int threads_ = 8;
  int read_timeout_seconds_ = 5;  // cpp-httplib's default; also how long a new connection's first byte may take
  std::unique_ptr<DeadlineHttpServer> server_;
  std::thread serving_;
  int port_ = 0;
  std::atomic<int> timeouts_{0};
  std::atomic<int> sleeping_{0};  // /sleep requests begun
};

TEST_F(ClientDeadlinesTest, PipelinedRequestsAreAllAnswered) {
  RawClient client(port_);
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.Send("GET /bytes/5 HTTP/1.1\r\nHost: x\r\n\r\nGET /bytes/7 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const std::string replies = client.ReadAll();
  const size_t first = replies.find("HTTP/1.1 200 OK");
  ASSERT_NE(first, std::string::npos) << replies;
  EXPECT_NE(replies.find("HTTP/1.1 200 OK", first + 1), std::string::npos) << replies;
  EXPECT_NE(replies.find("\r\n\r\nxxxxxHTTP/1.1 200"), std::string::npos) << replies;
  EXPECT_EQ(replies.substr(replies.size() - 11), "\r\n\r\nxxxxxxx") << replies;
  EXPECT_EQ(timeouts_, 0);
}

TEST_F(ClientDeadlinesTest, AResponseLargerThanWhatIsHeldArrivesWhole) {
  RawClient client(port_);
  ASSERT_TRUE(client.Send("GET /bytes/300000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const std::string reply = client.ReadAll();
  const size_t body = reply.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos) << reply.substr(0, 200);
  EXPECT_EQ(reply.substr(0, 15), "HTTP/1.1 200 OK");
  EXPECT_EQ(reply.substr(body + 4), std::string(300000, 'x'));
}

TEST_F(ClientDeadlinesTest, ARequestInPiecesWithinTheDeadlineIsServed) {
  RawClient client(port_);
  for (const char* piece : {"POST /size HTTP/1.1\r\nHost: x\r\n", "Content-Length: 5\r\nConnection: close\r\n\r\n",
                            "ab", "cde"}) {
    ASSERT_TRUE(client.Send(piece));
    std::this_thread::sleep_for(milliseconds(20));
  }
  const std::string reply = client.ReadAll();
  EXPECT_EQ(reply.substr(0, 15), "HTTP/1.1 200 OK") << reply;
  EXPECT_EQ(reply.substr(reply.size() - 5), "\r\n\r\n5") << reply;
}

TEST_F(ClientDeadlinesTest, ARequestLineTrickledPastTheDeadlineGetsA408AndTheConnectionCloses) {
  RawClient client(port_);
  const auto start = std::chrono::steady_clock::now();
  client.Trickle("GET /bytes/5 HTTP/1.1\r\nHost: x\r\n\r\n", milliseconds(50));  // 1.7 s at this pace
  const std::string reply = client.ReadAll();
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(reply.substr(0, 30), "HTTP/1.1 408 Request Timeout\r\n") << reply;
  EXPECT_NE(reply.find(R"("status":"DEADLINE_EXCEEDED")"), std::string::npos) << reply;
  EXPECT_NE(reply.find("within 0.3 s of its first byte"), std::string::npos) << reply;
  EXPECT_LT(took, std::chrono::seconds(5));  // cut off, not served after the trickle ended
  EXPECT_EQ(timeouts_, 1);
}

TEST_F(ClientDeadlinesTest, ABodyTrickledPastTheDeadlineFailsTheReaderAsTimedOut) {
  RawClient client(port_);
  ASSERT_TRUE(client.Send("POST /size HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n"));
  client.Trickle(std::string(40, 'b'), milliseconds(50));  // 2 s at this pace
  const std::string reply = client.ReadUntil("\r\n\r\n");
  EXPECT_EQ(reply.substr(0, 12), "HTTP/1.1 408") << reply;
  EXPECT_EQ(timeouts_, 0);  // answered by the handler, not by the stream
}

TEST_F(ClientDeadlinesTest, HundredContinueIsSentBeforeTheBodyIsAwaited) {
  RawClient client(port_);
  ASSERT_TRUE(client.Send("POST /size HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n"
                          "Connection: close\r\n\r\n"));
  EXPECT_EQ(client.ReadUntil("\r\n\r\n"), "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(client.Send("abc"));
  const std::string reply = client.ReadAll();
  EXPECT_EQ(reply.substr(0, 15), "HTTP/1.1 200 OK") << reply;
  EXPECT_EQ(reply.substr(reply.size() - 5), "\r\n\r\n3") << reply;
}

// Two workers, and a new connection's first byte may take 2 s.
class IdleConnectionsTest : public ClientDeadlinesTest {
 protected:
  IdleConnectionsTest() {
    threads_ = 2;
    read_timeout_seconds_ = 2;
  }
};

TEST_F(IdleConnectionsTest, SilentConnectionsDoNotKeepANewClientWaiting) {
  // Each held a worker for its whole 2 s wait: the new client waited about 4 s.
  std::vector<std::unique_ptr<RawClient>> silent;
  for (int i = 0; i < 4; ++i) silent.push_back(std::make_unique<RawClient>(port_));
  std::this_thread::sleep_for(milliseconds(100));  // the server takes them up
  RawClient client(port_);
  const auto start = std::chrono::steady_clock::now();

  ASSERT_TRUE(client.Send("GET /bytes/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const std::string reply = client.ReadAll();

  EXPECT_NE(reply.find("HTTP/1.1 200 OK"), std::string::npos) << reply;
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1500));
  // The silent ones still get their 408 when their wait runs out, parked or not.
  for (auto& s : silent) EXPECT_NE(s->ReadAll().find("HTTP/1.1 408"), std::string::npos);
  EXPECT_EQ(timeouts_, 4);
}

TEST_F(IdleConnectionsTest, RequestsWaitingForAWorkerWhenTheServerStopsAreStillAnswered) {
  // Both workers busy; two more requests arrived and wait in the queue.
  // Stopping closed the waiting ones without an answer ("empty reply"). Each
  // takes 100 ms, within its response deadline (kClientTimeout).
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<RawClient>(port_));
    ASSERT_TRUE(clients.back()->Send("GET /sleep/100 HTTP/1.1\r\nHost: x\r\n\r\n"));
  }
  while (sleeping_ < 2) std::this_thread::sleep_for(milliseconds(1));
  std::this_thread::sleep_for(milliseconds(50));  // the other two are queued, their bytes sent
  std::thread stopping([this] { server_->stop(); });

  for (auto& client : clients) {
    const std::string reply = client->ReadAll();
    EXPECT_NE(reply.find("HTTP/1.1 200 OK"), std::string::npos) << reply;
    EXPECT_NE(reply.find("slept"), std::string::npos) << reply;
  }
  stopping.join();
  EXPECT_EQ(sleeping_, 4);
}

TEST_F(IdleConnectionsTest, AParkedKeptAliveConnectionIsServedWhenItsClientSendsAgain) {
  RawClient kept(port_);
  ASSERT_TRUE(kept.Send("GET /bytes/2 HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_NE(kept.ReadUntil("\r\n\r\nxx").find("HTTP/1.1 200 OK"), std::string::npos);
  // Three silent connections for two workers: the idle ones park.
  std::vector<std::unique_ptr<RawClient>> silent;
  for (int i = 0; i < 3; ++i) silent.push_back(std::make_unique<RawClient>(port_));
  std::this_thread::sleep_for(milliseconds(200));

  ASSERT_TRUE(kept.Send("GET /bytes/4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const std::string second = kept.ReadAll();

  EXPECT_NE(second.find("HTTP/1.1 200 OK"), std::string::npos) << second;
  EXPECT_EQ(second.substr(second.size() - 8), "\r\n\r\nxxxx") << second;
}

// cpp-httplib's stop() before its accept loop has begun did nothing, and the
// loop then ran for good: serve, whose probe port could not start its thread,
// stopped itself so (on Serve()'s own thread, before it listened) and served on.
TEST(DeadlineHttpServerStopTest, AStopBeforeListenEndsItAtOnce) {
  DeadlineHttpServer server(kClientTimeout, 2, nullptr);
  ASSERT_GT(server.bind_to_any_port("127.0.0.1"), 0);
  server.Stop();
  auto listened = std::async(std::launch::async, [&server] { return server.Listen(); });
  const bool returned = listened.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  if (!returned) server.stop();  // it is running now: cpp-httplib's stop() ends it, and the test
  EXPECT_TRUE(returned) << "Listen() served on after a Stop()";
  EXPECT_TRUE(listened.get());
  server.Stop();  // after Listen() too: nothing left to stop
}

}  // namespace
}  // namespace xai
