// How the process's allocator treats big buffers, set once at the start of
// main() by xaiserve and by the benchmark helpers that time its code (so
// that the floor they measure runs under the same policy).
//
// Every model run allocates and frees buffers of the size of a batch of path
// points: for a 224x224x3 image and 52 rows, about 60 MB in float64 and 30 MB
// in float32, several times per run (xaiserve's copies, TensorFlow's feeds,
// activations and gradients). glibc serves blocks above its mmap threshold
// (32 MiB at most) with a fresh mmap each time and returns freed heap tops to
// the kernel, so every run faulted its buffers in page by page again:
// measured on the MobileNetV2 benchmark model, an IG explanation took
// 1281-1355 ms with glibc's defaults and 1064-1124 ms with this policy (the
// floor: 1067-1199 ms against 1022-1062 ms). Freed memory now stays in the
// process and is reused; resident memory does not shrink back after a peak.
#pragma once

#include <malloc.h>

#include <climits>

namespace xai {

inline void KeepFreedMemoryForReuse() {
  mallopt(M_MMAP_MAX, 0);                // big blocks from the heap, not from a fresh mmap each
  mallopt(M_TRIM_THRESHOLD, INT_MAX);    // never give freed heap back to the kernel
}

}  // namespace xai
