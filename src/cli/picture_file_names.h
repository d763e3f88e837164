// File names for the pictures `xaiserve explain --visualize DIR` writes:
// DIR/instance-<i>-output-<index>-<input>.png|svg. The input's name is made
// fit for any file system: characters other than letters, digits, '.', '_'
// and '-' become '_' (each byte of a non-ASCII one), a name that would make
// the file name too long is cut and ends in a hash of the whole name, and a
// name that comes out like an earlier one (also when only letter case
// differs, as "Feat" and "feat", alike on macOS and Windows) gets -2, -3, ...
// Not thread-safe (one PictureFileNames per run or directory).
#pragma once

#include <cstddef>
#include <set>
#include <string>

namespace xai {

// The longest <input> part of a file name, in bytes: with the instance and
// output numbers, the suffix and the extension, the name stays well under
// the 255 bytes that ext4, XFS, APFS and NTFS allow.
inline constexpr size_t kMaxPictureNamePartBytes = 120;

// The <input> part for input `name`: its characters fit for a file name, or
// "_" for an empty name; a part longer than kMaxPictureNamePartBytes is cut to
// its first 111 bytes, '-' and 8 hex digits of the FNV-1a hash of `name`
// (whole, before any character was replaced), so long names that start
// alike stay apart and keep their file name from run to run.
std::string PictureNamePart(const std::string& name);

// Hands out file names that differ from every one it gave before, also when
// letter case is ignored.
class PictureFileNames {
 public:
  // "<prefix><PictureNamePart(input)>[-N].<extension>", e.g. prefix
  // "instance-0-output-1-".
  std::string Next(const std::string& prefix, const std::string& input, const std::string& extension);

 private:
  std::set<std::string> used_;  // lowercased
};

}  // namespace xai
