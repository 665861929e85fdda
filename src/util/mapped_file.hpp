#pragma once
// A read-only memory map of a whole file. Weights are read through maps, never
// copied wholesale: opening an 8B model costs address space, not memory.
#include <cstddef>
#include <cstdint>
#include <string>

namespace spectra {

class MappedFile {
 public:
  explicit MappedFile(const std::string& path);  // throws spectra::Error naming the path
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace spectra
