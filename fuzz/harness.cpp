// One libFuzzer harness: compiled once per target with
// -DSPECTRA_FUZZ_TARGET=<name> (fuzz/CMakeLists.txt).
#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  spectra::fuzz::run_one(&spectra::fuzz::SPECTRA_FUZZ_TARGET, spectra::fuzz::Bytes(data, size));
  return 0;
}
