#pragma once
// One exception type for every bad input: the message names the file and the
// field or byte offset, so the user can find what is wrong. The CLI turns it
// into "spectra: error: ..." and a non-zero exit.
#include <cstdint>
#include <stdexcept>
#include <string>

namespace spectra {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "FILE: at offset N: WHAT"
[[noreturn]] void fail_at(const std::string& file, uint64_t offset, const std::string& what);
// "FILE: field 'FIELD': WHAT"
[[noreturn]] void fail_field(const std::string& file, const std::string& field, const std::string& what);
// "FILE: WHAT"
[[noreturn]] void fail_file(const std::string& file, const std::string& what);

}  // namespace spectra
