// Target `safetensors`: a .safetensors file. Every tensor the header accepts
// must lie inside the file; readable ones are viewed and a row converted.
#include <algorithm>
#include <vector>

#include "formats/safetensors_file.hpp"
#include "formats/tensor.hpp"
#include "targets.hpp"

namespace spectra::fuzz {

void safetensors(Bytes data) {
  const SafetensorsFile f(scratch_file("model.safetensors", data));
  for (const auto& t : f.tensors()) {
    if (f.data_offset() + t.end > f.file_size() || t.begin > t.end) fail("tensor '" + t.name + "' lies outside the file");
    if (!t.dtype) continue;
    const TensorView v = f.view(t);
    if (v.rows > 0 && v.cols > 0 && v.cols <= (1 << 16)) {
      std::vector<float> row(static_cast<size_t>(v.cols));
      convert_rows_f32(v, v.rows - 1, v.rows, row.data());
    }
  }
}

}  // namespace spectra::fuzz
