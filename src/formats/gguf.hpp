#pragma once
// GGUF v2/v3 reader: typed metadata and tensor infos over a memory map.
// Every read is bounds-checked; errors name the file and byte offset.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "formats/tensor.hpp"
#include "util/mapped_file.hpp"

namespace spectra {

// GGUF metadata value types (gguf_type in ggml).
enum class GgufType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};

struct GgufArray;
using GgufScalar = std::variant<uint64_t, int64_t, double, bool, std::string>;

struct GgufValue {
  GgufType type = GgufType::U8;
  GgufScalar scalar;                      // when type != ARRAY
  GgufType elem_type = GgufType::U8;      // when type == ARRAY
  std::vector<GgufScalar> array;          // when type == ARRAY
};

// ggml tensor type id -> DType (nullopt for types Spectra does not read), and
// ggml's name for any type id (for error messages and inspect).
std::optional<DType> dtype_from_ggml(uint32_t ggml_type);
const char* ggml_type_name(uint32_t ggml_type);

struct GgufTensorInfo {
  std::string name;
  std::vector<uint64_t> dims;  // as stored: innermost (fastest) first
  uint32_t ggml_type = 0;      // raw ggml type id
  DType dtype = DType::F32;    // valid if the type is supported
  bool supported = false;
  uint64_t offset = 0;         // relative to the data section
  uint64_t info_offset = 0;    // where its info record starts in the file (for errors)
};

class GgufFile {
 public:
  explicit GgufFile(const std::string& path);  // throws spectra::Error
  const std::string& path() const;
  uint32_t version() const;
  uint64_t data_offset() const;   // absolute offset of the aligned data section
  uint64_t alignment() const;
  uint64_t file_size() const;

  const std::map<std::string, GgufValue>& metadata() const;
  bool has(const std::string& key) const;
  // Typed getters: throw spectra::Error "FILE: field 'KEY': missing / expected TYPE"
  std::string get_string(const std::string& key) const;
  int64_t get_int(const std::string& key) const;      // any integer type
  double get_float(const std::string& key) const;     // any float or integer type
  bool get_bool(const std::string& key) const;
  std::vector<std::string> get_string_array(const std::string& key) const;
  std::vector<double> get_float_array(const std::string& key) const;
  std::vector<int64_t> get_int_array(const std::string& key) const;
  // Optional forms
  std::optional<std::string> opt_string(const std::string& key) const;
  std::optional<int64_t> opt_int(const std::string& key) const;
  std::optional<double> opt_float(const std::string& key) const;
  std::optional<bool> opt_bool(const std::string& key) const;

  const std::vector<GgufTensorInfo>& tensors() const;
  const GgufTensorInfo* find_tensor(const std::string& name) const;
  // A view of a tensor's bytes (validated in range). Shape: rows = product of
  // all dims but the innermost, cols = innermost dim.
  TensorView view(const GgufTensorInfo& t) const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace spectra
