// A moment as RFC 3339 text in UTC with milliseconds ("2026-11-28T13:45:07.123Z"),
// as the access log and Google's JSON (Timestamp fields) write it. Pure; thread-safe.
#pragma once

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace xai {

inline std::string Rfc3339Utc(std::chrono::system_clock::time_point moment) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(moment);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(moment.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buffer;
}

}  // namespace xai
