// Target `hf_config`: config.json of an HF model folder.
#include "formats/hf_config.hpp"
#include "targets.hpp"

namespace spectra::fuzz {

void hf_config(Bytes data) {
  scratch_file("config.json", data);
  read_hf_config(scratch_dir());
}

}  // namespace spectra::fuzz
