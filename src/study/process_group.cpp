// Single-process group and the choice of MPI (see process_group.hpp).
#include "study/process_group.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "util/error.hpp"

namespace spectra::study {

void ProcessGroup::abort(int code) {
  std::fflush(nullptr);
  std::_Exit(code);
}

int launcher_world_size() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS", "MV2_COMM_WORLD_SIZE"}) {
    const char* s = std::getenv(v);
    if (s && *s) return std::max(1, std::atoi(s));
  }
  if (std::getenv("PMIX_RANK")) return 1;  // PMIx without a size variable: size comes from MPI_Init
  return 0;
}

std::unique_ptr<ProcessGroup> make_process_group() {
  const int n = launcher_world_size();
#ifdef SPECTRA_HAVE_MPI
  if (n > 0) return make_mpi_group();
#else
  if (n > 1)
    throw Error("started by an MPI launcher as " + std::to_string(n) +
                " processes, but this spectra was built without MPI; rebuild with OpenMPI installed "
                "(libopenmpi-dev), or use --shard i/N with a job array");
#endif
  return std::make_unique<ProcessGroup>();
}

}  // namespace spectra::study
