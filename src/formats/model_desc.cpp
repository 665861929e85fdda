// Names of the enums in model_desc.hpp (for inspect and error messages).
#include "formats/model_desc.hpp"

namespace spectra {

const char* to_string(RopeLayout l) {
  switch (l) {
    case RopeLayout::HalfSplit: return "half-split";
    case RopeLayout::Adjacent: return "adjacent";
  }
  return "?";
}

const char* to_string(RopeScalingType s) {
  switch (s) {
    case RopeScalingType::None: return "none";
    case RopeScalingType::Linear: return "linear";
    case RopeScalingType::Llama3: return "llama3";
  }
  return "?";
}

}  // namespace spectra
