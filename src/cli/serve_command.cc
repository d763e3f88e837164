// `xaiserve serve`: flags and config file -> model sources, then the model
// registry (src/serving), the HTTP server (src/http), the start-up banner on
// stdout, and the shutdown signals.
#include "cli/serve_command.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <condition_variable>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "cli/flags.h"
#include "core/json_fields.h"
#include "core/number_format.h"
#include "core/text.h"
#include "core/version.h"
#include "http/http_server.h"
#include "http/idle_memory_release.h"
#include "http/metrics.h"
#include "model/model_dir.h"
#include "http/routes.h"
#include "runtime/model_runtime.h"
#include "serving/model_registry.h"
#include "serving/prediction_service.h"
#include "serving/server_log.h"

namespace xai {
namespace {

namespace fs = std::filesystem;

constexpr int kExitOk = 0, kExitFailed = 1, kExitUsage = 2;

// The shortest --poll-seconds other than 0 (never).
constexpr double kMinPollSeconds = 0.05;

// serve --shutdown-timeout's default: inside Kubernetes' default grace (30 s).
constexpr double kDefaultShutdownTimeoutSeconds = 25;

// How long the server must be quiet, after requests, before their freed
// memory is returned to the system (http/idle_memory_release.h).
constexpr std::chrono::seconds kIdleMemoryReleaseInterval{2};

// Below this many open files (connections, model files, the log), serve
// says at start-up that clients may be left waiting.
constexpr rlim_t kFewOpenFiles = 4096;

// Raises the soft limit of open files to the hard one, as servers commonly
// do: every connection is a file, and the soft limit is often 1024 (kept low
// for programs that use select(); nothing here does), at which cpp-httplib's
// accept loop waits and retries without a word, so that new clients stalled
// silently behind many kept-alive ones. Says so once if the limit stays low.
void RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) != 0 && limit.rlim_max == RLIM_INFINITY) {
      // Linux takes no unlimited soft limit: at most fs.nr_open.
      std::ifstream nr_open("/proc/sys/fs/nr_open");
      if (nr_open >> raised.rlim_cur) setrlimit(RLIMIT_NOFILE, &raised);
    }
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  }
  if (limit.rlim_cur >= kFewOpenFiles) return;
  ServerLog("xaiserve: warning: this process may open only " + std::to_string(limit.rlim_cur) +
            " files (ulimit -n; its hard limit is " +
            (limit.rlim_max == RLIM_INFINITY ? std::string("unlimited") : std::to_string(limit.rlim_max)) +
            "), and each connection takes one: past that many clients, new ones wait unanswered. Raise the hard "
            "limit (ulimit -Hn as root, LimitNOFILE= in a systemd unit, docker run --ulimit nofile=N:N)");
}

// The bundled demo models (made by scripts/fixtures.sh), served when no model is given.
struct DemoModel {
  const char* name;
  const char* fixture;
};
// How long the last lines of the server's log get to reach stderr at exit.
constexpr std::chrono::milliseconds kLogDrainOnExit{2000};

constexpr DemoModel kDemoModels[] = {{"tabular", "tabular_mlp"}, {"image", "shapes_cnn"}, {"text", "text_classifier"}};

// Through the server's log (server_log.h), after its own lines, if stderr
// takes them soon: written straight to a full stderr that nobody reads, the
// message kept serve from ever exiting.
int Fail(const std::string& message) {
  ServerLog("xaiserve serve: error: " + message);
  DrainServerLog(kLogDrainOnExit);
  return kExitFailed;
}

int UsageError(const std::string& message) {
  std::cerr << "xaiserve serve: " << ForTerminal(message) << "\n(see xaiserve serve --help)\n";
  return kExitUsage;
}

// Model names are part of the routes (/v1/models/NAME:explain).
constexpr size_t kMaxModelNameBytes = 128;
constexpr char kModelNameRule[] =
    "a model name is 1 to 128 characters, starts with a letter or digit and holds only letters, digits, '.', '_' "
    "and '-' (it is part of the URL)";

Status CheckModelName(const std::string& name, const std::string& where) {
  if (name.size() > kMaxModelNameBytes) {
    return InvalidArgument(where + ": model name '" + ShortenedForMessage(name, 40) + "' is longer than " +
                           std::to_string(kMaxModelNameBytes) + " characters; " + kModelNameRule +
                           ": give a shorter name");
  }
  const bool ok = !name.empty() && std::isalnum(static_cast<unsigned char>(name[0])) &&
                  name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
                      std::string::npos;
  if (ok) return OkStatus();
  return InvalidArgument(where + ": model name '" + name + "' does not fit: " + kModelNameRule);
}

Status CheckMethod(const std::string& method, const std::string& where) {
  if (IsExplanationMethod(method)) return OkStatus();
  return InvalidArgument(where + ": method '" + method +
                         "' is unknown; choose integrated-gradients, sampled-shapley or xrai");
}

// A model version number as JSON: an integer, or (proto3 JSON's int64) a
// string of decimal digits.
StatusOr<int64_t> VersionNumber(const Json& value, const std::string& where) {
  int64_t version = -1;
  if (value.is_number_integer() && value.get<int64_t>() >= 0 &&
      !(value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))) {
    version = value.get<int64_t>();
  } else if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), version);
    if (error != std::errc() || end != text.data() + text.size() || text.empty() || text[0] == '-') version = -1;
  }
  if (version < 0) return InvalidArgument(where + " is " + value.dump() + "; a version is a whole number >= 0");
  return version;
}

// TensorFlow Serving's model_version_policy, as JSON: {"all": {}},
// {"latest": {"num_versions": N}} or {"specific": {"versions": [V, ...]}}.
StatusOr<VersionPolicy> ReadVersionPolicy(const Json& value, const std::string& where) {
  constexpr char kForms[] = "{\"all\": {}}, {\"latest\": {\"num_versions\": N}} or {\"specific\": {\"versions\": [V, ...]}}";
  if (!value.is_object() || value.size() != 1) {
    return InvalidArgument(where + " is " + value.dump() + "; give one of " + kForms);
  }
  JsonFields f(value, where);
  XAI_ASSIGN_OR_RETURN(const Json* all, f.Find({"all"}));
  XAI_ASSIGN_OR_RETURN(const Json* latest, f.Find({"latest"}));
  XAI_ASSIGN_OR_RETURN(const Json* specific, f.Find({"specific"}));
  XAI_RETURN_IF_ERROR(f.CheckNoUnknownFields());
  const Json* body = all ? all : latest ? latest : specific;
  if (!body->is_object()) return InvalidArgument(where + " is " + value.dump() + "; give one of " + kForms);
  const std::string inner = where + "." + (all ? "all" : latest ? "latest" : "specific");
  JsonFields fields(*body, inner);
  VersionPolicy policy;
  if (latest != nullptr) {
    policy.kind = VersionPolicy::Kind::kLatest;
    XAI_ASSIGN_OR_RETURN(std::optional<int64_t> n, fields.CountOrDefault({"num_versions", "numVersions"}, 1, 1000000));
    policy.latest = n.value_or(1);  // TF Serving's default: the newest only
  } else if (specific != nullptr) {
    policy.kind = VersionPolicy::Kind::kSpecific;
    XAI_ASSIGN_OR_RETURN(const Json* versions, fields.Find({"versions"}));
    if (versions == nullptr || !versions->is_array() || versions->empty()) {
      return InvalidArgument(inner + ".versions must be a non-empty list of version numbers, e.g. [1, 3]");
    }
    for (size_t i = 0; i < versions->size(); ++i) {
      XAI_ASSIGN_OR_RETURN(int64_t v, VersionNumber((*versions)[i], inner + ".versions[" + std::to_string(i) + "]"));
      if (std::find(policy.versions.begin(), policy.versions.end(), v) == policy.versions.end()) {
        policy.versions.push_back(v);
      }
    }
  }
  XAI_RETURN_IF_ERROR(fields.CheckNoUnknownFields());
  return policy;
}

// {"models": [{"name": ..., "base_path": ..., "default_method": ...,
// "model_version_policy": ...}]}; relative base paths are relative to the
// config file. A model without a policy gets `default_policy`.
StatusOr<std::vector<ModelSource>> ReadConfig(const std::string& path, const std::string& default_method,
                                              const VersionPolicy& default_policy) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return InvalidArgument("config file '" + path + "' is a directory; give the JSON file");
  std::ifstream file(path);
  if (!file) return NotFound("cannot read config file '" + path + "'");
  std::stringstream text;
  text << file.rdbuf();
  XAI_ASSIGN_OR_RETURN(Json config, ParseJson(text.str(), path));
  if (!config.is_object()) return InvalidArgument(path + ": expected {\"models\": [...]}");
  JsonFields top(config, path);
  XAI_ASSIGN_OR_RETURN(const Json* models, top.Find({"models"}));
  // TF Serving's ModelServerConfig in JSON: {"model_config_list": {"config": [...]}}.
  XAI_ASSIGN_OR_RETURN(const Json* config_list, top.Find({"model_config_list", "modelConfigList"}));
  XAI_RETURN_IF_ERROR(top.CheckNoUnknownFields());
  if (models != nullptr && config_list != nullptr) {
    return InvalidArgument(path + ": give \"models\" or TF Serving's \"model_config_list\", not both");
  }
  // Where a model's entry is, for messages: "FILE: models[0]" or "FILE: model_config_list.config[0]".
  std::string list_where = path + ": models";
  if (config_list != nullptr) {
    const std::string where = path + ": model_config_list";
    if (!config_list->is_object()) return InvalidArgument(where + " must be an object: {\"config\": [...]}");
    JsonFields list(*config_list, where);
    XAI_ASSIGN_OR_RETURN(models, list.Find({"config"}));
    XAI_RETURN_IF_ERROR(list.CheckNoUnknownFields());
    list_where = where + ".config";
    if (models == nullptr || !models->is_array() || models->empty()) {
      return InvalidArgument(list_where + " must be a non-empty list of {\"name\", \"base_path\"}");
    }
  }
  if (models == nullptr || !models->is_array() || models->empty()) {
    return InvalidArgument(path + ": \"models\" must be a non-empty list of {\"name\", \"base_path\"}");
  }
  std::vector<ModelSource> sources;
  for (size_t i = 0; i < models->size(); ++i) {
    const std::string where = list_where + "[" + std::to_string(i) + "]";
    if (!(*models)[i].is_object()) return InvalidArgument(where + " must be an object");
    JsonFields f((*models)[i], where);
    ModelSource source;
    XAI_ASSIGN_OR_RETURN(source.name, f.String({"name"}));
    XAI_ASSIGN_OR_RETURN(source.base_path, f.String({"base_path", "basePath"}));
    XAI_ASSIGN_OR_RETURN(source.default_method, f.String({"default_method", "defaultMethod"}, default_method));
    // TF Serving's; xaiserve serves TensorFlow SavedModels only.
    XAI_ASSIGN_OR_RETURN(const std::string platform, f.String({"model_platform", "modelPlatform"}, "tensorflow"));
    XAI_ASSIGN_OR_RETURN(const Json* policy, f.Find({"model_version_policy", "modelVersionPolicy"}));
    source.version_policy = default_policy;
    if (policy != nullptr) {
      XAI_ASSIGN_OR_RETURN(source.version_policy,
                           ReadVersionPolicy(*policy, f.Field({"model_version_policy", "modelVersionPolicy"})));
    }
    XAI_RETURN_IF_ERROR(f.CheckNoUnknownFields());
    if (platform != "tensorflow") {
      return InvalidArgument(f.Field({"model_platform", "modelPlatform"}) + " is \"" + platform +
                             "\"; xaiserve serves TensorFlow SavedModels only (\"tensorflow\")");
    }
    if (source.name.empty()) return InvalidArgument(where + " needs \"name\" (the name in its routes)");
    if (source.base_path.empty()) return InvalidArgument(where + " needs \"base_path\" (the model directory)");
    if (fs::path(source.base_path).is_relative()) {
      source.base_path = (fs::path(path).parent_path() / source.base_path).lexically_normal().string();
    }
    XAI_RETURN_IF_ERROR(CheckModelName(source.name, where));
    XAI_RETURN_IF_ERROR(CheckMethod(source.default_method, where + ".default_method"));
    sources.push_back(std::move(source));
  }
  return sources;
}

std::string DefaultDemoDir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "build/fixtures" : (exe.parent_path() / "fixtures").string();
}

StatusOr<std::vector<ModelSource>> DemoSources(const std::string& demo_dir, const std::string& default_method) {
  std::vector<ModelSource> sources;
  std::string missing;
  for (const DemoModel& demo : kDemoModels) {
    const fs::path dir = fs::path(demo_dir) / demo.fixture;
    if (!IsSavedModelDir(dir.string())) missing += (missing.empty() ? "" : ", ") + dir.string();
    sources.push_back({demo.name, dir.string(), default_method});
  }
  if (!missing.empty()) {
    return NotFound("the bundled demo models are missing (" + missing +
                    "): run scripts/fixtures.sh to make them (scripts/demo.sh does it all), point --demo-dir at "
                    "them, or serve your own with --model NAME=DIR");
  }
  return sources;
}

// 'text' quoted for a POSIX shell.
std::string ShellQuote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The first instance of instances.jsonl beside a served model, if any.
// The longest example instance the banner prints (an image's would be
// megabytes: too long to paste, and enough to fill a reader's pipe).
constexpr size_t kMaxBannerInstanceChars = 4096;

std::string ExampleInstance(const LoadedVersion& version, const std::string& base_path) {
  for (const fs::path& dir : {fs::path(version.path), fs::path(base_path)}) {
    std::ifstream file(dir / "instances.jsonl");
    std::string line;
    while (file && std::getline(file, line)) {
      if (line.size() > kMaxBannerInstanceChars) break;
      if (line.find_first_not_of(" \t\r") != std::string::npos) return line;
    }
  }
  return "";
}

// `token_from_environment`: the token came from XAISERVE_AUTH_TOKEN, which
// keeps it out of the command line; the commands printed name the variable
// then, so that the secret does not reach a log that collects stdout.
void PrintBanner(const HttpServer& server, const ModelRegistry& registry, const std::string& host,
                 const std::string& auth_token, bool token_from_environment) {
  std::ostringstream out;
  out << "xaiserve: listening on " << server.url() << "\n";
  if (server.probe_port() >= 0) {
    out << "xaiserve: probes (/healthz, /readyz, /metrics) also on port " << server.probe_port() << "\n";
  }
  const bool any_host = host == "0.0.0.0" || host == "::" || host.empty();
  const std::string base = any_host ? "http://127.0.0.1:" + std::to_string(server.port()) : server.url();
  const std::string auth = auth_token.empty()      ? ""
                           : token_from_environment ? " -H \"Authorization: Bearer $XAISERVE_AUTH_TOKEN\""
                                                    : " -H " + ShellQuote("Authorization: Bearer " + auth_token);
  std::string example;
  for (const std::string& name : registry.names()) {
    const auto snapshot = registry.Snapshot(name);
    const LoadedVersion* newest = snapshot->Newest();
    out << "  model " << name << ": ";
    if (newest == nullptr) {
      out << "not loaded (see " << base << "/v1/models/" << name << ")\n";
      continue;
    }
    out << "version " << newest->version << " from " << ForTerminal(newest->path) << ", default method "
        << snapshot->source.default_method << (newest->model->explain_status().ok() ? "" : " (cannot explain)")
        << "\n";
    if (example.empty() && newest->model->explain_status().ok()) {
      const std::string instance = ExampleInstance(*newest, snapshot->source.base_path);
      if (!instance.empty()) {
        example = "curl -s" + auth + " " + base + "/v1/models/" + name + ":explain -d " +
                  ShellQuote("{\"instances\": [" + instance + "]}");
      }
    }
  }
  out << "try:\n";
  out << "  the web page: open " << base << "/ in a browser\n";
  if (!example.empty()) out << "  " << example << "\n";
  out << "  curl -s" << auth << " " << base << "/v1/models\n";
  out << "stop with Ctrl-C, SIGTERM or SIGHUP (requests in flight finish first)\n";
  // The path escaped whole (a newline in it cannot start a line), the rest's control characters too.
  std::cout << ForTerminal(out.str(), /*keep_newlines=*/true) << std::flush;
}

// SIGTERM and SIGINT -> a callback on a thread of its own (a signal handler
// may do almost nothing, so it only writes the signal number to a pipe). A
// second signal while the first is handled exits at once.
class ShutdownSignals {
 public:
  explicit ShutdownSignals(std::function<void(int)> on_first) : on_first_(std::move(on_first)) {}
  ~ShutdownSignals() {
    if (watcher_.joinable()) {
      const unsigned char quit = 0;
      (void)!write(pipe_[1], &quit, 1);
      watcher_.join();
    }
  }

  Status Install() {
    if (pipe2(pipe_, O_CLOEXEC) != 0) return Internal(std::string("cannot create a pipe: ") + std::strerror(errno));
    write_fd_ = pipe_[1];
    struct sigaction action {};
    action.sa_handler = &ShutdownSignals::OnSignal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGINT, &action, nullptr);
    // The terminal went away: stop as gently (it used to kill at once),
    // unless SIGHUP came ignored (nohup, trap '' HUP), which it stays.
    struct sigaction inherited {};
    if (sigaction(SIGHUP, nullptr, &inherited) == 0 && inherited.sa_handler != SIG_IGN) {
      sigaction(SIGHUP, &action, nullptr);
    }
    signal(SIGPIPE, SIG_IGN);  // a client that hangs up must not end the server
    watcher_ = std::thread([this] { Watch(); });
    return OkStatus();
  }

 private:
  static void OnSignal(int signo) {
    const int saved = errno;
    const unsigned char byte = static_cast<unsigned char>(signo);
    (void)!write(write_fd_, &byte, 1);
    errno = saved;
  }

  void Watch() {
    int received = 0;
    unsigned char byte = 0;
    std::chrono::steady_clock::time_point first;
    while (true) {
      const ssize_t n = read(pipe_[0], &byte, 1);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || byte == 0) return;
      if (++received == 1) {
        first = std::chrono::steady_clock::now();
        on_first_(byte);
      } else if (std::chrono::steady_clock::now() - first < kSameStopRequest) {
        // GNU timeout, and a Ctrl-C in a terminal that runs a wrapper, send
        // the signal twice at once: one request to stop, not two.
        ServerLog(std::string("xaiserve: ") + strsignal(byte) + " again within a second: taken as the same request to stop");
        --received;
      } else {
        ServerLog(std::string("xaiserve: second ") + strsignal(byte) + ": exiting without waiting");
        DrainServerLog(kLogDrainOnExit);
        std::_Exit(kExitFailed);
      }
    }
  }

  static constexpr std::chrono::seconds kSameStopRequest{1};

  static inline int write_fd_ = -1;
  int pipe_[2] = {-1, -1};
  std::function<void(int)> on_first_;
  std::thread watcher_;
};

// The grace that requests in flight get once the server stops (serve
// --shutdown-timeout): Start() begins it, on the first stop signal; when it
// is over, stop_in_flight() turns true, and explanations still running stop
// at their next model run and answer 503 (routes.h), so that the process
// ends before a container's SIGKILL rather than being killed mid-response.
// Start() and Cancel() may be called from any thread.
class InFlightDeadline {
 public:
  explicit InFlightDeadline(double grace_seconds) : grace_(grace_seconds) {}
  ~InFlightDeadline() { Cancel(); }

  // Once the server has stopped: the grace, if it runs, ends without a word
  // (its line came after "stopped" when stderr was slow to take that).
  void Cancel() {
    std::thread thread;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
      thread = std::move(thread_);
    }
    wake_.notify_all();
    if (thread.joinable()) thread.join();
  }

  // No-op once started or cancelled.
  void Start() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (done_ || thread_.joinable()) return;
    thread_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(mutex_);
      if (wake_.wait_for(lock, std::chrono::duration<double>(grace_), [this] { return done_; })) return;
      stop_in_flight_ = true;
      std::ostringstream line;
      line << "xaiserve: --shutdown-timeout (" << grace_
           << " s) is over: stopping the explanations still running (their clients get 503)";
      ServerLog(line.str());
    });
  }

  const std::atomic<bool>* stop_in_flight() const { return &stop_in_flight_; }

 private:
  const double grace_;
  std::atomic<bool> stop_in_flight_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace

int RunServe(const std::vector<std::string>& args) {
  std::vector<std::string> model_flags;
  std::string config, host = "127.0.0.1", auth_token, default_method = "integrated-gradients", demo_dir;
  int64_t port = 8080, max_body_bytes = kDefaultMaxBodyBytes, max_instances = kDefaultMaxInstances, threads = 0;
  int64_t max_image_pixels = kDefaultMaxImagePixels, max_path_points = 0, keep_versions = 0, probe_port = -1;
  double poll_seconds = 2, client_timeout = 30, shutdown_timeout = kDefaultShutdownTimeoutSeconds;
  bool cross_request_batching = false;
  FlagSet flags(
      "xaiserve serve [--model NAME=DIR]... [--config FILE] [--host 127.0.0.1] [--port 8080] [--auth-token T]\n"
      "               [--default-method M] [--max-body-bytes N] [--max-instances N] [--max-image-pixels N]\n"
      "               [--max-path-points N] [--poll-seconds S] [--client-timeout S] [--cross-request-batching]\n"
      "               [--threads N] [--shutdown-timeout S] [--keep-versions N] [--probe-port N] [--demo-dir DIR]",
      "Serves predictions and explanations over HTTP in the JSON of Google Cloud's AI Explanations:\n"
      "  GET  /v1/models, /v1/models/NAME            models, signatures, metadata, load errors\n"
      "  GET  /v1/models/NAME/metadata               TF Serving's model metadata (SignatureDefs)\n"
      "  POST /v1/models/NAME:predict, NAME:explain  (also /v1/models/NAME/versions/V:...)\n"
      "  GET  /healthz, /readyz, /metrics            alive; every model serving (else 503); Prometheus\n"
      "A model DIR is a SavedModel or a directory of numeric versions (the newest serves; new versions\n"
      "are picked up while serving; all stay loaded unless --keep-versions N). With no --model and no\n"
      "--config, serves the bundled demo models (tabular, image, text) from --demo-dir. SIGTERM or\n"
      "Ctrl-C stops it once requests in flight finish.");
  flags.StringList("model", &model_flags, "NAME=DIR", "serve the model in DIR as NAME (repeatable); NAME is 1 to 128 "
                   "letters, digits, '.', '_' and '-', starting with a letter or digit");
  flags.String("config", &config, "FILE",
               "JSON {\"models\": [{\"name\": N, \"base_path\": DIR, \"default_method\": M, "
               "\"model_version_policy\": P}]}; P is TF Serving's: {\"latest\": {\"num_versions\": N}}, "
               "{\"specific\": {\"versions\": [V, ...]}} or {\"all\": {}}");
  flags.String("host", &host, "ADDR", "address to listen on (default 127.0.0.1: this machine only)");
  flags.Int("port", &port, 0, 65535, "port to listen on (default 8080; 0 picks a free one)");
  flags.Int("probe-port", &probe_port, 0, 65535,
            "also answer GET /healthz, /readyz and /metrics on this port, by threads of their own, so that probes "
            "are answered while every worker of --port runs a long explanation (default: none; 0 picks a free one)");
  flags.String("auth-token", &auth_token, "T",
               "require 'Authorization: Bearer T' on every route (/metrics too) but /healthz, /readyz and the web page's "
               "files, which hold nothing private (or set XAISERVE_AUTH_TOKEN)");
  flags.String("default-method", &default_method, "M",
               "method when a request names none: integrated-gradients (default), sampled-shapley or xrai");
  flags.Int("max-body-bytes", &max_body_bytes, 1024, int64_t{1} << 34,
            "largest request body accepted (default 16 MiB; larger ones get 413)");
  flags.Int("max-instances", &max_instances, 1, 1000000, "most instances in one request (default 64)");
  flags.Int("max-image-pixels", &max_image_pixels, 1, int64_t{1} << 36,
            "most pixels (width x height) the uploaded images of one request decode to together, checked from "
            "each file's header (default 33554432 = 32 Mi, also the most for one image; beyond: 413)");
  flags.Int("max-path-points", &max_path_points, 0, INT64_MAX,
            "most path points (model rows) one :explain request may evaluate over all its instances; beyond, it\n"
            "stops with 413 (default 0: no bound; for scale, 100 steps x 50 noisy samples x 10 baselines\n"
            "evaluate 50,500 path points for each output explained)");
  flags.Double("poll-seconds", &poll_seconds, "S", 0, 86400,
               "how often model directories are checked for new versions (default 2; 0: never; else at least 0.05)");
  flags.Int("keep-versions", &keep_versions, 0, 1000000,
            "serve only the N newest versions of each model (TF Serving's default is 1), unloading older ones "
            "once a newer one serves (default 0: every version on disk; a config's model_version_policy wins)");
  flags.String("demo-dir", &demo_dir, "DIR", "where the demo models are (default: fixtures/ beside the binary)");
  flags.Int("threads", &threads, 0, 4096, "HTTP worker threads: connections served at once; an idle one is parked when others wait "
            "(default 0: max(16, 4 x cores))");
  flags.Double("client-timeout", &client_timeout, "S", 0.1, 86400,
               "seconds a client has to send a whole request (from its first byte) and to take a response; a "
               "slower one is disconnected (with a 408 if its request was late), so it cannot hold a worker "
               "thread (default 30)");
  flags.Double("shutdown-timeout", &shutdown_timeout, "S", 0, 86400,
               "seconds requests in flight get to finish once a stop signal comes; then explanations still "
               "running stop and answer 503 (default 25: inside Kubernetes' 30 s grace; under `docker stop`'s "
               "10 s, pass 8)");
  flags.Bool("cross-request-batching", &cross_request_batching,
             "merge the path points of concurrent explanations of a model into shared model runs (off by "
             "default: measured slower here, on the small models and the large; see the README's server section)");
  std::vector<std::string> positional;
  const Status parsed = flags.Parse(args, &positional);
  if (!parsed.ok()) return UsageError(parsed.message());
  if (flags.help_requested()) {
    std::cout << flags.Help();
    return kExitOk;
  }
  if (!positional.empty()) return UsageError("unexpected argument '" + positional[0] + "'; give models as --model NAME=DIR");
  if (Status s = CheckMethod(default_method, "--default-method"); !s.ok()) return UsageError(s.message());
  if (poll_seconds > 0 && poll_seconds < kMinPollSeconds) {
    // Each poll walks every version's files: 1e-9 kept most of a core busy.
    return UsageError("--poll-seconds " + FormatNumber(poll_seconds) + " is below " + FormatNumber(kMinPollSeconds) +
                      "; give 0 (never check) or at least " + FormatNumber(kMinPollSeconds));
  }
  if (flags.WasSet("auth-token") && auth_token.empty()) {
    // Likely --auth-token "$UNSET": running open would be a surprise.
    return UsageError("--auth-token is empty; give the token, or leave the flag out to run without one");
  }
  bool token_from_environment = false;
  if (auth_token.empty()) {
    if (const char* env = std::getenv("XAISERVE_AUTH_TOKEN")) {
      if (*env == '\0') {
        return UsageError("XAISERVE_AUTH_TOKEN is set but empty; give the token, or unset it to run without one");
      }
      auth_token = env;
      token_from_environment = true;
    }
  }
  if (std::any_of(auth_token.begin(), auth_token.end(),
                  [](char c) { return std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c)); })) {
    return UsageError("the auth token holds a space or control character, which an 'Authorization: Bearer TOKEN' "
                      "header cannot carry; choose a token of letters, digits and -._~+/=");
  }

  VersionPolicy version_policy;
  if (keep_versions > 0) {
    version_policy.kind = VersionPolicy::Kind::kLatest;
    version_policy.latest = keep_versions;
  }
  std::vector<ModelSource> sources;
  for (const std::string& flag : model_flags) {
    const size_t eq = flag.find('=');
    if (eq == std::string::npos || eq + 1 == flag.size()) {
      return UsageError("--model '" + ShortenedForMessage(flag, 200) +
                        "' must be NAME=DIR, e.g. --model iris=/models/iris");
    }
    ModelSource source{flag.substr(0, eq), flag.substr(eq + 1), default_method, version_policy};
    if (Status s = CheckModelName(source.name, "--model"); !s.ok()) return UsageError(s.message());
    sources.push_back(std::move(source));
  }
  if (!config.empty()) {
    auto from_config = ReadConfig(config, default_method, version_policy);
    if (!from_config.ok()) return Fail(from_config.status().message());
    sources.insert(sources.end(), from_config->begin(), from_config->end());
  }
  if (sources.empty()) {
    auto demo = DemoSources(demo_dir.empty() ? DefaultDemoDir() : demo_dir, default_method);
    if (!demo.ok()) return Fail(demo.status().message());
    sources = std::move(demo).value();
    for (ModelSource& source : sources) source.version_policy = version_policy;
  }
  std::set<std::string> names;
  for (const ModelSource& source : sources) {
    if (!names.insert(source.name).second) return UsageError("model name '" + source.name + "' is given twice");
  }

  LoadOptions load_options;
  load_options.batch_concurrent_runs = cross_request_batching;
  ModelRegistry registry(sources, ExplainableModelLoader(load_options));
  Metrics metrics({kXaiserveVersion, TensorFlowVersion()});
  RouteContext context;
  context.registry = &registry;
  context.metrics = &metrics;
  context.limits.max_instances = static_cast<size_t>(max_instances);
  context.limits.max_image_pixels = max_image_pixels;
  context.limits.max_path_points = max_path_points;
  context.auth_token = auth_token;
  InFlightDeadline in_flight_deadline(shutdown_timeout);
  context.stop_in_flight = in_flight_deadline.stop_in_flight();
  HttpServerOptions options;
  options.host = host;
  options.port = static_cast<int>(port);
  options.max_body_bytes = static_cast<size_t>(max_body_bytes);
  options.threads = static_cast<int>(threads);
  options.client_timeout_seconds = client_timeout;
  options.probe_port = static_cast<int>(probe_port);
  HttpServer server(context, options);

  ShutdownSignals signals([&server, &registry, &in_flight_deadline, shutdown_timeout](int signo) {
    std::ostringstream line;
    line << "xaiserve: " << strsignal(signo) << " received: no new connections; finishing the requests in "
         << "flight (explanations get " << shutdown_timeout << " s: --shutdown-timeout)";
    ServerLog(line.str());
    registry.StopLoading();  // a model still loading stops after the version it is on
    in_flight_deadline.Start();
    server.Stop();
  });
  if (Status s = signals.Install(); !s.ok()) return Fail(s.message());

  RaiseOpenFileLimit();
  // Bound before the models load, so that a port in use or a bad --host is
  // reported at once, not after loading them (seconds on a large model).
  if (Status s = server.Bind(); !s.ok()) return Fail(s.message());
  // The models load while the server already serves: /healthz answers at
  // once (a liveness probe during a long load), /readyz and each model's
  // routes say 503 until it has loaded. "listening on" is written once all
  // have (or have failed).
  std::thread loader([&] {
    registry.LoadAll();
    if (registry.loading_stopped()) return;
    if (poll_seconds > 0) {
      registry.StartPolling(std::chrono::milliseconds(static_cast<int64_t>(poll_seconds * 1000)));
    }
    PrintBanner(server, registry, host, auth_token, token_from_environment);
    std::ostringstream line;
    line << "xaiserve: " << server.threads() << (server.threads() == 1 ? " HTTP worker thread" : " HTTP worker threads")
         << "; body limit " << max_body_bytes
         << " bytes; at most " << max_instances << " instances per request"
         << (max_path_points > 0 ? ", " + std::to_string(max_path_points) + " path points per explain request" : "")
         << (auth_token.empty() ? "" : "; bearer token required")
         << (cross_request_batching ? "; cross-request batching on" : "");
    ServerLog(line.str());
  });
  // Once a burst of requests is over, its memory goes back to the system.
  IdleMemoryRelease::Hooks release_hooks;
  release_hooks.finished = [&metrics] { return metrics.finished(); };
  release_hooks.in_flight = [&metrics] { return metrics.in_flight(); };
  release_hooks.released = [](int64_t bytes) {
    ServerLog("xaiserve: idle: returned " + std::to_string(bytes >> 20) + " MB of freed memory to the system");
  };
  std::optional<IdleMemoryRelease> idle_memory_release(std::in_place, release_hooks, kIdleMemoryReleaseInterval);
  const Status served = server.Serve();
  registry.StopLoading();
  loader.join();
  registry.StopPolling();
  // Nothing is logged after "stopped" or the error: the threads that log
  // stop first.
  idle_memory_release.reset();
  in_flight_deadline.Cancel();
  if (!served.ok()) return Fail(served.message());
  ServerLog("xaiserve: stopped");
  DrainServerLog(kLogDrainOnExit);
  return kExitOk;
}

}  // namespace xai
