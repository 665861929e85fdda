// Target `npy`: the tuple file reader, tuples.npy when the data starts with
// the npy magic, else tuples.csv. Every row is read.
#include <cstring>

#include "observers/tuple_file.hpp"
#include "targets.hpp"

namespace spectra::fuzz {

void npy(Bytes data) {
  const bool is_npy = data.size() >= 6 && std::memcmp(data.data(), "\x93NUMPY", 6) == 0;
  const TupleReader r(scratch_file(is_npy ? "tuples.npy" : "tuples.csv", data));
  int64_t sum = 0;
  for (const auto& row : r.rows()) sum += int64_t{row.doc} + row.layer + row.pos;
  if (r.size() == 0 && sum != 0) fail("empty tuple file with rows");
}

}  // namespace spectra::fuzz
