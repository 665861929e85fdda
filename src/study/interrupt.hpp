#pragma once
// Graceful interruption of a study. While an InterruptGuard lives, the first
// SIGINT or SIGTERM only sets a flag; the study checks it after every layer of
// the forward pass and between windows, throws Interrupted, and unwinds: open
// AtomicFile / TupleWriter temporaries are removed, RUN_DIR/INCOMPLETE says
// what happened, and no summary.json is written. A second signal gets the
// default action (immediate termination).
#include <string>

#include "util/error.hpp"

namespace spectra::study {

class Interrupted : public Error {
 public:
  explicit Interrupted(int signal);
  int signal() const { return signal_; }

 private:
  int signal_;
};

class InterruptGuard {
 public:
  InterruptGuard();   // installs the handlers, clears the flag
  ~InterruptGuard();  // restores the previous handlers
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
};

// The signal received (0: none).
int interrupt_signal();
// Throws Interrupted when a signal arrived.
void throw_if_interrupted();
// For tests: behave as if SIGNAL had arrived.
void simulate_interrupt(int signal);

}  // namespace spectra::study
