#pragma once
// MappedModel: the Model implementation shared by the HF and GGUF loaders.
// A loader fills desc_, keeps its file maps alive, lists every tensor, and
// calls bind_roles() with its naming scheme; bind_roles() looks up every
// required role, reports a missing one by name and file, and checks each
// tensor's shape against the description.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "formats/weights.hpp"

namespace spectra {

// Every role a model with this description must have, in a stable order
// (embedding, then per layer, then output norm and output).
std::vector<std::pair<WeightKind, int>> required_roles(const ModelDesc& d);
// The logical shape (outermost first) a role must have: [rows, cols] or [n].
std::vector<int64_t> expected_shape(const ModelDesc& d, WeightKind k);

class MappedModel : public Model {
 public:
  bool has(WeightKind kind, int layer = -1) const override;
  const TensorView& tensor(WeightKind kind, int layer = -1) const override;
  std::vector<TensorView> all_tensors() const override { return all_; }

 protected:
  // Finds a tensor by file name; nullptr when absent.
  using Lookup = std::function<const TensorView*(const std::string& name)>;
  using Naming = std::function<std::string(WeightKind kind, int layer)>;
  // missing_in: the file named in "missing tensor" errors; config_source: what
  // shapes are checked against (e.g. "config.json", "GGUF metadata").
  void bind_roles(const Naming& name_of, const Lookup& find, const std::string& missing_in,
                  const std::string& config_source);

  std::vector<std::shared_ptr<const void>> keep_alive_;  // the files' maps
  std::vector<TensorView> all_;                          // every tensor, file order
  std::map<std::pair<WeightKind, int>, TensorView> roles_;
  std::string main_file_;  // named when a role is asked for but absent
};

}  // namespace spectra
