#pragma once
// One .safetensors file over a memory map: u64 header length, JSON header
// {name: {dtype, shape, data_offsets}}, then the data. Everything is validated
// at open: header length within the file, well-formed JSON, known dtypes,
// offsets inside the data, no overlaps, byte length = product(shape) x size.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "formats/tensor.hpp"
#include "util/mapped_file.hpp"

namespace spectra {

struct SafetensorsTensor {
  std::string name;
  std::string dtype_name;        // as written ("F32", "BF16", "I64", ...)
  std::optional<DType> dtype;    // set for the dtypes Spectra reads (F32, F16, BF16)
  std::vector<uint64_t> shape;   // outermost first
  uint64_t begin = 0, end = 0;   // byte range relative to the data section
};

class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);  // throws spectra::Error
  const std::string& path() const;
  uint64_t file_size() const;
  uint64_t data_offset() const;  // 8 + header length
  const std::map<std::string, std::string>& metadata() const;  // "__metadata__"
  const std::vector<SafetensorsTensor>& tensors() const;      // in data order
  const SafetensorsTensor* find(const std::string& name) const;
  // A view of the tensor's bytes: rows = product of all dims but the last,
  // cols = last dim (1-D: rows = 1). Throws for dtypes Spectra does not read.
  TensorView view(const SafetensorsTensor& t) const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace spectra
