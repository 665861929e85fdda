#include "util/error.hpp"

namespace spectra {

void fail_at(const std::string& file, uint64_t offset, const std::string& what) {
  throw Error(file + ": at offset " + std::to_string(offset) + ": " + what);
}

void fail_field(const std::string& file, const std::string& field, const std::string& what) {
  throw Error(file + ": field '" + field + "': " + what);
}

void fail_file(const std::string& file, const std::string& what) { throw Error(file + ": " + what); }

}  // namespace spectra
