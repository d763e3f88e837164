// TensorFlow logs while its libraries are initialized, before main (its
// oneDNN notice on every command), and reads its log level then. This file
// is a shared library of its own that every binary links after TensorFlow
// (CMakeLists.txt) and that depends on libc alone, so the loader initializes
// it before TensorFlow; its constructor sets the quiet default, warnings and
// errors only. (Setting it from a .preinit_array entry of xaiserve, which
// runs earlier still, did not silence the notice.) Before, xaiserve set it in
// main and started itself again, loading TensorFlow twice on every command.
// Set TF_CPP_MIN_LOG_LEVEL=0 to see TensorFlow's INFO logs.
#include <cstdlib>

namespace {

__attribute__((constructor)) void QuietTensorFlowByDefault() {
  if (std::getenv("TF_CPP_MIN_LOG_LEVEL") == nullptr) setenv("TF_CPP_MIN_LOG_LEVEL", "2", 1);
}

}  // namespace
