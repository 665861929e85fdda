#pragma once
// A CSV file read whole, columns looked up BY NAME from the header line.
// Every lookup failure names the file and the column (spectra::Error).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace spectra::report {

class CsvTable {
 public:
  // Reads PATH; RFC 4180 quoting is understood. Throws if missing or empty.
  static CsvTable read(const std::string& path);

  const std::string& path() const { return path_; }
  const std::vector<std::string>& header() const { return header_; }
  size_t rows() const { return cells_.size(); }
  bool has(const std::string& column) const { return find(column).has_value(); }
  // Index of COLUMN; throws "FILE: field 'COLUMN': missing column (have: ...)".
  size_t column(const std::string& column) const;
  std::optional<size_t> find(const std::string& column) const;

  const std::string& text(size_t row, size_t col) const { return cells_[row][col]; }
  // Numbers: "nan"/"" → NaN, "inf" understood; anything else unparsable throws
  // naming file, line and column.
  double number(size_t row, size_t col) const;
  int64_t integer(size_t row, size_t col) const;
  // true/false, 1/0, yes/no (case-insensitive).
  bool boolean(size_t row, size_t col) const;

 private:
  [[noreturn]] void bad(size_t row, size_t col, const std::string& what) const;
  std::string path_;
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> cells_;
};

}  // namespace spectra::report
