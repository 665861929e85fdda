// MPI: `mpirun -np 2` and `-np 3` (oversubscribed on a small machine) give the
// single-process run's tables byte for byte; summary.json names the ranks and
// the windows each measured. Built only when CMake found MPI.
#include <gtest/gtest.h>

#include <set>

#include <nlohmann/json.hpp>

#include "resume_test_util.hpp"

using namespace spectra::study_test;
namespace fs = std::filesystem;

TEST(StudyMpi, RanksGiveTheSingleProcessTables) {
  const fs::path dir = fresh_dir("mpi");
  const fs::path corpus = make_small_corpus(dir);
  CmdResult one = run_spectra(small_study_args(corpus, dir / "one"));
  ASSERT_EQ(one.status, 0) << one.output;
  for (int np : {2, 3}) {
    SCOPED_TRACE(np);
    const fs::path run = dir / ("np" + std::to_string(np));
    CmdResult r = run_shell(std::string("'") + SPECTRA_MPIEXEC + "' --allow-run-as-root --oversubscribe -np " +
                            std::to_string(np) + " " + exe() + " " + small_study_args(corpus, run));
    ASSERT_EQ(r.status, 0) << r.output;
    expect_same_tables(dir / "one", run, "mpirun -np " + std::to_string(np));
    auto s = nlohmann::json::parse(read_file(run / "summary.json"));
    EXPECT_EQ(s["processes"]["this_run"]["mode"], "mpi");
    EXPECT_EQ(s["processes"]["this_run"]["processes"], np);
    std::multiset<int> windows;
    for (const auto& p : s["processes"]["measured_by"]) {
      EXPECT_EQ(p["size"], np);
      EXPECT_GE(p["seconds"].get<double>(), 0.0);
      for (const auto& w : p["windows"]) windows.insert(w.get<int>());
    }
    EXPECT_EQ(windows, (std::multiset<int>{0, 1, 2, 3, 4}));  // each window measured once
  }
  // An MPI resume: rank 0 verifies, the ranks measure what is missing.
  const fs::path run = dir / "resumed";
  CmdResult k = run_shell("SPECTRA_TEST_KILL_AT=after-window:1 " + exe() + " " + small_study_args(corpus, run));
  ASSERT_EQ(k.status, 128 + 9) << k.output;
  CmdResult r = run_shell(std::string("'") + SPECTRA_MPIEXEC + "' --allow-run-as-root --oversubscribe -np 2 " + exe() +
                          " study --resume '" + run.string() + "' --no-report --progress lines");
  ASSERT_EQ(r.status, 0) << r.output;
  expect_same_tables(dir / "one", run, "mpirun -np 2 --resume");
  fs::remove_all(dir);
}
