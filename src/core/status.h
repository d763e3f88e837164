// Errors as values: a small fixed set of codes, a message that names the
// offending value and what to do, and StatusOr<T> for results. No exceptions
// cross module boundaries. Status values are immutable and thread-compatible.
// The mapping of codes to HTTP statuses lives in exactly one place (the API
// layer), not here.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace xai {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the caller's input is wrong (request, flag, file).
  kNotFound,            // a named model, version, signature or tensor is absent.
  kFailedPrecondition,  // the model cannot do this (e.g. cannot be explained).
  kResourceExhausted,   // a size limit was exceeded.
  kUnimplemented,       // valid, but not supported by xaiserve.
  kUnavailable,         // temporarily cannot serve (loading, shutting down).
  kCancelled,           // stopped because no one waits for the result any more.
  kInternal,            // a bug or a runtime failure we did not anticipate.
};

// Canonical upper-case name, e.g. "INVALID_ARGUMENT".
const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "INVALID_ARGUMENT: message".
  std::string ToString() const;
  // The same error with `context + ": "` in front of the message.
  Status WithContext(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status OkStatus() { return Status(); }
inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status ResourceExhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
inline Status Unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status Cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(const T& value) : data_(value) {}          // NOLINT: implicit by design
  StatusOr(T&& value) : data_(std::move(value)) {}     // NOLINT
  StatusOr(Status status) : data_(std::move(status)) {  // NOLINT
    if (std::get<Status>(data_).ok()) data_ = Status(StatusCode::kInternal, "StatusOr built from OK status");
  }

  bool ok() const { return std::holds_alternative<T>(data_); }
  Status status() const { return ok() ? OkStatus() : std::get<Status>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T& value() & { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  std::variant<Status, T> data_;
};

}  // namespace xai

#define XAI_CONCAT_INNER(a, b) a##b
#define XAI_CONCAT(a, b) XAI_CONCAT_INNER(a, b)

// Returns from the enclosing function if `expr` (a Status) is not OK.
#define XAI_RETURN_IF_ERROR(expr)                    \
  do {                                               \
    ::xai::Status xai_status_ = (expr);              \
    if (!xai_status_.ok()) return xai_status_;       \
  } while (0)

// `XAI_ASSIGN_OR_RETURN(auto x, F());` declares x from a StatusOr or returns its error.
#define XAI_ASSIGN_OR_RETURN(lhs, expr) \
  XAI_ASSIGN_OR_RETURN_IMPL(XAI_CONCAT(xai_statusor_, __LINE__), lhs, expr)
#define XAI_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
