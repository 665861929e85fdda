// Target `study_config`: study.toml. An accepted configuration must survive
// its round trip through to_toml() unchanged (config.toml of a run folder is
// read back by `spectra analyze`).
#include "study/study_config.hpp"
#include "targets.hpp"

namespace spectra::fuzz {

void study_config(Bytes data) {
  const std::string text(reinterpret_cast<const char*>(data.data()), data.size());
  const study::StudyConfig cfg = study::parse_study_config(text, "study.toml", "/fuzz");
  const std::string again = study::to_toml(cfg);
  if (!(study::parse_study_config(again, "config.toml", "/fuzz") == cfg))
    fail("study config changes in its round trip through to_toml():\n" + again);
  study::validate(cfg, "study.toml");
}

}  // namespace spectra::fuzz
