// Target `gguf`: a .gguf file through its three readers: the GGUF reader
// (metadata, tensor infos, alignment; every supported tensor viewed and a row
// dequantized), open_model() (model description and weight roles) and
// load_tokenizer() (the embedded vocabulary, then a short text encoded and
// decoded).
#include <vector>

#include "formats/gguf.hpp"
#include "formats/weights.hpp"
#include "targets.hpp"
#include "tokenizer/tokenizer.hpp"
#include "util/error.hpp"

namespace spectra::fuzz {

void gguf(Bytes data) {
  const std::string path = scratch_file("model.gguf", data);
  try {
    const GgufFile f(path);
    for (const auto& t : f.tensors()) {
      if (!t.supported) continue;
      const TensorView v = f.view(t);
      if (v.file_offset + v.nbytes > f.file_size()) fail("tensor '" + t.name + "' lies outside the file");
      if (v.cols <= (1 << 16)) {
        std::vector<float> row(static_cast<size_t>(v.cols));
        convert_rows_f32(v, v.rows - 1, v.rows, row.data());
      }
    }
  } catch (const Error&) {
  }
  try {
    const auto model = open_model(path);
  } catch (const Error&) {
  }
  const auto tok = load_tokenizer(path);
  const auto ids = tok->encode("Hello world! 123 \xE2\x96\x81x <s>", tok->add_bos_default());
  for (int32_t id : ids)
    if (id < 0 || id >= tok->vocab_size()) fail("id " + std::to_string(id) + " outside the vocabulary");
  tok->decode(ids);
}

}  // namespace spectra::fuzz
