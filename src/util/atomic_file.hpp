#pragma once
// Write-then-rename: a result file is either complete or absent, never half
// written. Write to the stream, then commit(); destroying an uncommitted
// AtomicFile removes the temporary.
#include <fstream>
#include <string>

namespace spectra {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path, bool binary = false);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  std::ofstream& stream() { return out_; }
  void commit();  // flush, fsync, rename over the final path; throws on I/O error

 private:
  std::string path_, tmp_;
  std::ofstream out_;
  bool committed_ = false;
};

// Convenience: write a whole string atomically.
void write_file_atomic(const std::string& path, const std::string& contents);

}  // namespace spectra
