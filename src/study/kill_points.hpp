#pragma once
// TEST ONLY: a study that kills itself with SIGKILL at a named point, so that
// the tests can check that `spectra study --resume` recovers from a kill at
// any instant. Set SPECTRA_TEST_KILL_AT to one of
//   mid-write:K      during window K's forward pass, its tuple file half written
//   after-tuples:K    window K's tuple file in place, its journal entry not yet
//   after-window:K    window K complete (tuple file and journal entry)
//   before-analysis   every window done, before the tuple table is assembled
//   mid-assembly      the tuple table half assembled
//   after-analysis    the tables written, summary.json not yet
// (K is the window number, from 0). Unset, or set to anything else, it does
// nothing; it is not a user feature.
#include <string>

namespace spectra::study {

// Kills the process with SIGKILL if SPECTRA_TEST_KILL_AT names this point
// (`window` < 0: a point without a window number).
void kill_point(const char* name, int window = -1);

}  // namespace spectra::study
