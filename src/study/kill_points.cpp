// TEST ONLY: SPECTRA_TEST_KILL_AT (see kill_points.hpp).
#include "study/kill_points.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace spectra::study {

void kill_point(const char* name, int window) {
  static const char* at = std::getenv("SPECTRA_TEST_KILL_AT");
  if (!at || !*at) return;
  const std::string want = window < 0 ? std::string(name) : std::string(name) + ":" + std::to_string(window);
  if (want != at) return;
  std::fprintf(stderr, "study: SPECTRA_TEST_KILL_AT=%s: killing this process (SIGKILL)\n", at);
  std::fflush(stderr);
  ::kill(::getpid(), SIGKILL);
  ::pause();
}

}  // namespace spectra::study
