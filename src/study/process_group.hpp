#pragma once
// The processes that measure one study together.
//
// A plain run is one process. Under `mpirun -np N` or `srun` (Spectra built
// with MPI, SPECTRA_HAVE_MPI), the N ranks form one group: rank 0 opens the run
// folder and tells the others which windows are left (broadcast); every rank
// takes the next window from a shared counter (an MPI one-sided atomic
// fetch-and-add on rank 0: dynamic assignment, so a long window never leaves
// the others idle); a barrier ends the measurement and rank 0 analyses.
//
// MPI is initialised only when the process was started by an MPI launcher
// (OMPI_COMM_WORLD_SIZE, PMI_SIZE, PMIX_RANK, ... in the environment): a plain
// run of an MPI build never calls MPI_Init. A build without MPI started by a
// launcher with more than one process refuses to run (each process would
// otherwise run the whole study).
#include <memory>
#include <string>

namespace spectra::study {

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;
  virtual int rank() const { return 0; }
  virtual int size() const { return 1; }
  virtual bool distributed() const { return false; }
  // The next of `n` tasks (shared by every rank), or -1 when all are taken.
  virtual int next_task(int n) { return next_ < n ? next_++ : -1; }
  // Rank 0's `text` on every rank.
  virtual std::string broadcast(const std::string& text) { return text; }
  virtual void barrier() {}
  // Lets MPI make progress while rank 0 computes (called between layers).
  virtual void poll() {}
  // Leaves the group (MPI_Finalize) once the measurement is over; rank 0 then
  // analyses alone.
  virtual void finish() {}
  // Ends every process of the group (a failed rank must not leave the others waiting).
  [[noreturn]] virtual void abort(int code);

 private:
  int next_ = 0;
};

// The group this process belongs to: MPI when built with it and started by
// an MPI launcher, otherwise a single process. Throws spectra::Error for a
// build without MPI started as several ranks.
std::unique_ptr<ProcessGroup> make_process_group();

// The size an MPI launcher announced in the environment (0: none).
int launcher_world_size();

#ifdef SPECTRA_HAVE_MPI
std::unique_ptr<ProcessGroup> make_mpi_group();  // process_group_mpi.cpp
#endif

}  // namespace spectra::study
