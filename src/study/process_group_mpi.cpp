// The MPI process group (see process_group.hpp): MPI_Init_thread(FUNNELED),
// a one-sided counter on rank 0 for dynamic window assignment, broadcast and
// barrier on MPI_COMM_WORLD.
#include <mpi.h>

#include <chrono>
#include <cstdint>
#include <thread>

#include "study/interrupt.hpp"
#include "study/process_group.hpp"
#include "util/error.hpp"

namespace spectra::study {

namespace {

// Waits for a non-blocking operation without spinning a core (ranks waiting
// for others must not slow down those still measuring on the same machine);
// a SIGINT/SIGTERM while waiting throws Interrupted (the caller aborts the job).
void wait_gently(MPI_Request& req) {
  int done = 0;
  while (true) {
    MPI_Test(&req, &done, MPI_STATUS_IGNORE);
    if (done) return;
    throw_if_interrupted();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

class MpiGroup : public ProcessGroup {
 public:
  MpiGroup() {
    int provided = 0;
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
      throw Error("MPI_Init_thread failed");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Win_allocate(rank_ == 0 ? sizeof(int64_t) : 0, sizeof(int64_t), MPI_INFO_NULL, MPI_COMM_WORLD, &base_, &win_);
    if (rank_ == 0) {
      MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, win_);
      *base_ = 0;
      MPI_Win_unlock(0, win_);
    }
    MPI_Barrier(MPI_COMM_WORLD);
  }
  ~MpiGroup() override { finish(); }
  void finish() override {
    if (finished_) return;
    finished_ = true;
    MPI_Win_free(&win_);
    MPI_Finalize();
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  bool distributed() const override { return size_ > 1; }
  int next_task(int n) override {
    const int64_t one = 1;
    int64_t got = 0;
    MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win_);
    MPI_Fetch_and_op(&one, &got, MPI_INT64_T, 0, 0, MPI_SUM, win_);
    MPI_Win_unlock(0, win_);
    return got < n ? static_cast<int>(got) : -1;
  }
  std::string broadcast(const std::string& text) override {
    uint64_t n = text.size();
    MPI_Request req;
    MPI_Ibcast(&n, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD, &req);
    wait_gently(req);
    std::string out = rank_ == 0 ? text : std::string(n, '\0');
    MPI_Ibcast(out.data(), static_cast<int>(n), MPI_CHAR, 0, MPI_COMM_WORLD, &req);
    wait_gently(req);
    return out;
  }
  void barrier() override {
    // Polls (so rank 0's counter stays served while others still ask) without spinning.
    MPI_Request req;
    MPI_Ibarrier(MPI_COMM_WORLD, &req);
    wait_gently(req);
  }
  void poll() override {
    int flag = 0;
    MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
  }
  [[noreturn]] void abort(int code) override {
    if (!finished_) MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
  }

 private:
  int rank_ = 0, size_ = 1;
  int64_t* base_ = nullptr;
  MPI_Win win_ = MPI_WIN_NULL;
  bool finished_ = false;
};

}  // namespace

std::unique_ptr<ProcessGroup> make_mpi_group() { return std::make_unique<MpiGroup>(); }

}  // namespace spectra::study
