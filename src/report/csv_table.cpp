// CsvTable: whole-file CSV reading with by-name column lookup.
#include "report/csv_table.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "util/error.hpp"

namespace spectra::report {

namespace {

// Split one record starting at `pos` (handles quotes and embedded newlines).
bool next_record(const std::string& s, size_t& pos, std::vector<std::string>& out) {
  out.clear();
  if (pos >= s.size()) return false;
  std::string cell;
  bool quoted = false;
  while (pos < s.size()) {
    char c = s[pos++];
    if (quoted) {
      if (c == '"') {
        if (pos < s.size() && s[pos] == '"') {
          cell += '"';
          ++pos;
        } else {
          quoted = false;
        }
      } else {
        cell += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(std::move(cell));
      cell.clear();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && pos < s.size() && s[pos] == '\n') ++pos;
      break;
    } else {
      cell += c;
    }
  }
  out.push_back(std::move(cell));
  return true;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

CsvTable CsvTable::read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_file(path, "cannot open (is this a finished study run folder?)");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  CsvTable t;
  t.path_ = path;
  size_t pos = 0;
  std::vector<std::string> rec;
  if (!next_record(s, pos, rec) || (rec.size() == 1 && rec[0].empty())) fail_file(path, "empty CSV file: no header line");
  t.header_ = rec;
  while (next_record(s, pos, rec)) {
    if (rec.size() == 1 && rec[0].empty()) continue;  // blank line
    if (rec.size() != t.header_.size())
      fail_file(path, "line " + std::to_string(t.cells_.size() + 2) + ": " + std::to_string(rec.size()) +
                          " fields, header has " + std::to_string(t.header_.size()));
    t.cells_.push_back(rec);
  }
  return t;
}

std::optional<size_t> CsvTable::find(const std::string& column) const {
  for (size_t i = 0; i < header_.size(); ++i)
    if (header_[i] == column) return i;
  return std::nullopt;
}

size_t CsvTable::column(const std::string& column) const {
  if (auto i = find(column)) return *i;
  std::string have;
  for (const auto& h : header_) have += (have.empty() ? "" : ", ") + h;
  fail_field(path_, column, "missing column (the header has: " + have + ")");
}

void CsvTable::bad(size_t row, size_t col, const std::string& what) const {
  fail_field(path_, header_[col], "line " + std::to_string(row + 2) + ": " + what + ": '" + cells_[row][col] + "'");
}

double CsvTable::number(size_t row, size_t col) const {
  const std::string& v = cells_[row][col];
  std::string l = lower(v);
  if (l.empty() || l == "nan" || l == "na" || l == "null") return std::nan("");
  errno = 0;
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  if (end == v.c_str() || *end != '\0') bad(row, col, "not a number");
  return d;
}

int64_t CsvTable::integer(size_t row, size_t col) const {
  const std::string& v = cells_[row][col];
  char* end = nullptr;
  errno = 0;
  long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno) {
    // Integers written as floats ("12.0") are accepted when exact.
    double d = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || d != std::floor(d)) bad(row, col, "not an integer");
    return static_cast<int64_t>(d);
  }
  return x;
}

bool CsvTable::boolean(size_t row, size_t col) const {
  std::string l = lower(cells_[row][col]);
  if (l == "true" || l == "1" || l == "yes" || l == "pass" || l == "t") return true;
  if (l == "false" || l == "0" || l == "no" || l == "fail" || l == "f" || l.empty()) return false;
  bad(row, col, "not a boolean");
}

}  // namespace spectra::report
