// Tuple file I/O: streaming npy/csv writer with atomic finish, and a reader
// that maps npy (validated header) or parses csv. See tuple_file.hpp.
#include "observers/tuple_file.hpp"

#include <charconv>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>

#include "util/atomic_file.hpp"
#include "util/error.hpp"
#include "util/mapped_file.hpp"

namespace spectra {

namespace {

// Record version 2; version 1 is the first kTupleColumnsV1 of them.
constexpr const char* kFieldNames[kTupleColumnsV2] = {
    "doc",      "layer",    "head",  "kv_head",           "pos",           "token",     "q_norm",   "entropy",
    "sink_mass", "max_attn", "entropy_fixed_norm", "neg_var_score", "max_score", "logsumexp", "k_budget"};
constexpr const char* kFieldTypes[kTupleColumnsV2] = {"<i4", "<i4", "<i4", "<i4", "<i4", "<i4", "<f4", "<f4",
                                                      "<f4", "<f4", "<f4", "<f4", "<f4", "<f4", "<f4"};
constexpr const char kMagic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

static_assert(offsetof(TupleRow, doc) == 0 && offsetof(TupleRow, layer) == 4 && offsetof(TupleRow, head) == 8 &&
              offsetof(TupleRow, kv_head) == 12 && offsetof(TupleRow, pos) == 16 && offsetof(TupleRow, token) == 20 &&
              offsetof(TupleRow, q_norm) == 24 && offsetof(TupleRow, entropy) == 28 &&
              offsetof(TupleRow, sink_mass) == 32 && offsetof(TupleRow, max_attn) == 36 &&
              offsetof(TupleRow, entropy_fixed_norm) == 40 && offsetof(TupleRow, neg_var_score) == 44 &&
              offsetof(TupleRow, max_score) == 48 && offsetof(TupleRow, logsumexp) == 52 &&
              offsetof(TupleRow, k_budget) == 56);
static_assert(offsetof(TupleRowV1, max_attn) == 36);

int columns_of(int version) { return version == 1 ? kTupleColumnsV1 : kTupleColumnsV2; }
size_t row_bytes(int version) { return version == 1 ? sizeof(TupleRowV1) : sizeof(TupleRow); }

TupleRow from_v1(const TupleRowV1& a) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  return TupleRow{a.doc,      a.layer,   a.head,     a.kv_head, a.pos, a.token, a.q_norm, a.entropy,
                  a.sink_mass, a.max_attn, nan,      nan,       nan,   nan,     nan};
}

std::string descr_of(int ncols) {
  std::string s = "[";
  for (int i = 0; i < ncols; ++i) {
    if (i) s += ", ";
    s += "('" + std::string(kFieldNames[i]) + "', '" + kFieldTypes[i] + "')";
  }
  return s + "]";
}

bool host_little_endian() {
  const uint16_t one = 1;
  uint8_t b;
  std::memcpy(&b, &one, 1);
  return b == 1;
}

std::string csv_header(int ncols = kTupleColumnsV2) {
  std::string h;
  for (int i = 0; i < ncols; ++i) {
    if (i) h += ',';
    h += kFieldNames[i];
  }
  return h;
}

// The header dict text for N rows, padded with spaces (and a final '\n') so
// that magic + version + length + dict is exactly `total` bytes. `total` is
// fixed when the file is created, so the shape can be rewritten in place.
std::string npy_header_dict(uint64_t n, size_t dict_len) {
  std::string d = "{'descr': " + tuple_npy_descr() + ", 'fortran_order': False, 'shape': (" + std::to_string(n) + ",), }";
  if (d.size() + 1 > dict_len) throw Error("tuple npy header: internal size error");
  d.append(dict_len - 1 - d.size(), ' ');
  d += '\n';
  return d;
}

// Dict length for a v1.0 header: room for a 20-digit row count, and
// 10 + dict_len a multiple of 64 (numpy's alignment).
size_t npy_dict_len() {
  size_t base = npy_header_dict(0, 4096).find_last_not_of(" \n") + 1;  // text without padding
  size_t need = 10 + base + 19 + 1;                                   // 19 more digits, '\n'
  size_t total = (need + 63) / 64 * 64;
  return total - 10;
}

}  // namespace

TupleFormat tuple_format_for_path(const std::string& path) {
  auto ext = std::filesystem::path(path).extension().string();
  return ext == ".csv" ? TupleFormat::Csv : TupleFormat::Npy;
}

const std::string& tuple_npy_descr() {
  static const std::string descr = descr_of(kTupleColumnsV2);
  return descr;
}

const std::string& tuple_npy_descr_v1() {
  static const std::string descr = descr_of(kTupleColumnsV1);
  return descr;
}

const char* const* tuple_column_names() { return kFieldNames; }

// ---------------------------------------------------------------- writer

struct TupleWriter::Impl {
  AtomicFile file;
  size_t dict_len = 0;
  std::string buf;
  explicit Impl(const std::string& p) : file(p, true) {}
};

TupleWriter::TupleWriter(std::string path) : TupleWriter(path, tuple_format_for_path(path)) {}

TupleWriter::TupleWriter(std::string path, TupleFormat format) : path_(std::move(path)), format_(format) {
  if (format_ == TupleFormat::Npy && !host_little_endian()) fail_file(path_, "npy writer needs a little-endian host");
  impl_ = std::make_unique<Impl>(path_);
  auto& out = impl_->file.stream();
  if (format_ == TupleFormat::Npy) {
    impl_->dict_len = npy_dict_len();
    std::string dict = npy_header_dict(0, impl_->dict_len);
    out.write(kMagic, 6);
    const char ver[2] = {1, 0};
    out.write(ver, 2);
    const uint16_t len = static_cast<uint16_t>(impl_->dict_len);
    const char lenb[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
    out.write(lenb, 2);
    out.write(dict.data(), static_cast<std::streamsize>(dict.size()));
  } else {
    out << csv_header() << '\n';
  }
  if (!out) fail_file(path_, "cannot write header");
}

TupleWriter::~TupleWriter() = default;  // an unfinished AtomicFile removes its temporary

void TupleWriter::append(std::span<const TupleRow> rows) {
  if (finished_) fail_file(path_, "append after finish()");
  auto& out = impl_->file.stream();
  if (format_ == TupleFormat::Npy) {
    out.write(reinterpret_cast<const char*>(rows.data()), static_cast<std::streamsize>(rows.size_bytes()));
  } else {
    std::string& b = impl_->buf;
    b.clear();
    char tmp[32];
    auto put_i = [&](int32_t v) {
      auto r = std::to_chars(tmp, tmp + sizeof tmp, v);
      b.append(tmp, r.ptr);
    };
    auto put_f = [&](float v) {  // shortest text that reads back to the same float
      auto r = std::to_chars(tmp, tmp + sizeof tmp, v);
      b.append(tmp, r.ptr);
    };
    for (const auto& r : rows) {
      put_i(r.doc), b += ',', put_i(r.layer), b += ',', put_i(r.head), b += ',', put_i(r.kv_head), b += ',';
      put_i(r.pos), b += ',', put_i(r.token), b += ',', put_f(r.q_norm), b += ',', put_f(r.entropy), b += ',';
      put_f(r.sink_mass), b += ',', put_f(r.max_attn), b += ',', put_f(r.entropy_fixed_norm), b += ',';
      put_f(r.neg_var_score), b += ',', put_f(r.max_score), b += ',', put_f(r.logsumexp), b += ',';
      put_f(r.k_budget), b += '\n';
      if (b.size() > (1u << 20)) {
        out.write(b.data(), static_cast<std::streamsize>(b.size()));
        b.clear();
      }
    }
    out.write(b.data(), static_cast<std::streamsize>(b.size()));
  }
  if (!out) fail_file(path_, "write failed (disk full?)");
  rows_ += rows.size();
}

void TupleWriter::finish() {
  if (finished_) return;
  auto& out = impl_->file.stream();
  if (format_ == TupleFormat::Npy) {
    std::string dict = npy_header_dict(rows_, impl_->dict_len);
    out.seekp(10);
    out.write(dict.data(), static_cast<std::streamsize>(dict.size()));
    out.seekp(0, std::ios::end);
    if (!out) fail_file(path_, "cannot rewrite the npy header");
  }
  impl_->file.commit();
  finished_ = true;
}

// ---------------------------------------------------------------- reader

namespace {

// A minimal parser for the Python literal in an npy header: dicts, lists,
// tuples, quoted strings, integers, True/False. Errors name the byte offset
// in the file.
struct PyValue {
  enum Kind { Str, Int, Bool, List, Tuple, Dict } kind = Str;
  std::string s;
  int64_t i = 0;
  bool b = false;
  std::vector<PyValue> items;                          // List, Tuple; Dict: the values
  std::string key;                                     // a Dict value's key
  uint64_t offset = 0;                                 // where it starts in the file
};

class PyParser {
 public:
  PyParser(const std::string& file, const char* p, size_t n, uint64_t base)
      : file_(file), p_(p), n_(n), base_(base) {}
  PyValue parse_top() {
    PyValue v = value(0);
    skip_ws();
    if (k_ != n_) fail("unexpected text after the header dict");
    return v;
  }

 private:
  const std::string& file_;
  const char* p_;
  size_t n_, k_ = 0;
  uint64_t base_;

  [[noreturn]] void fail(const std::string& what) { fail_at(file_, base_ + k_, "npy header: " + what); }
  void skip_ws() {
    while (k_ < n_ && (p_[k_] == ' ' || p_[k_] == '\n' || p_[k_] == '\t' || p_[k_] == '\r')) ++k_;
  }
  bool eat(char c) {
    skip_ws();
    if (k_ < n_ && p_[k_] == c) {
      ++k_;
      return true;
    }
    return false;
  }
  // The tuple header nests 3 deep (dict, list, tuple); a deeper one is refused
  // before the recursion could exhaust the stack.
  static constexpr int kMaxDepth = 8;
  PyValue value(int depth) {
    skip_ws();
    if (k_ >= n_) fail("unexpected end of header");
    if (depth > kMaxDepth) fail("nested more than " + std::to_string(kMaxDepth) + " levels deep");
    PyValue v;
    v.offset = base_ + k_;
    char c = p_[k_];
    if (c == '\'' || c == '"') {
      ++k_;
      size_t start = k_;
      while (k_ < n_ && p_[k_] != c) {
        if (p_[k_] == '\\') fail("escapes in strings are not supported");
        ++k_;
      }
      if (k_ >= n_) fail("unterminated string");
      v.kind = PyValue::Str;
      v.s.assign(p_ + start, k_ - start);
      ++k_;
    } else if (c == '{') {
      ++k_;
      v.kind = PyValue::Dict;
      while (!eat('}')) {
        PyValue key = value(depth + 1);
        if (key.kind != PyValue::Str) fail("dict key is not a string");
        if (!eat(':')) fail("expected ':'");
        v.items.push_back(value(depth + 1));
        v.items.back().key = key.s;
        if (!eat(',')) {
          if (!eat('}')) fail("expected ',' or '}'");
          break;
        }
      }
    } else if (c == '[' || c == '(') {
      char close = c == '[' ? ']' : ')';
      ++k_;
      v.kind = c == '[' ? PyValue::List : PyValue::Tuple;
      while (!eat(close)) {
        v.items.push_back(value(depth + 1));
        if (!eat(',')) {
          if (!eat(close)) fail(std::string("expected ',' or '") + close + "'");
          break;
        }
      }
    } else if (n_ - k_ >= 4 && std::memcmp(p_ + k_, "True", 4) == 0) {
      k_ += 4;
      v.kind = PyValue::Bool;
      v.b = true;
    } else if (n_ - k_ >= 5 && std::memcmp(p_ + k_, "False", 5) == 0) {
      k_ += 5;
      v.kind = PyValue::Bool;
      v.b = false;
    } else if ((c >= '0' && c <= '9') || c == '-') {
      auto r = std::from_chars(p_ + k_, p_ + n_, v.i);
      if (r.ec != std::errc()) fail("bad integer");
      k_ = static_cast<size_t>(r.ptr - p_);
      if (k_ < n_ && p_[k_] == 'L') ++k_;
      v.kind = PyValue::Int;
    } else {
      fail(std::string("unexpected character '") + c + "'");
    }
    return v;
  }
};

struct NpyLayout {
  uint64_t n = 0;
  int version = kTupleRecordVersion;  // record version (1 or 2)
};

NpyLayout parse_npy_header(const std::string& file, const uint8_t* data, uint64_t size) {
  if (size < 10) fail_at(file, 0, "too short for an npy file");
  if (std::memcmp(data, kMagic, 6) != 0) fail_at(file, 0, "not an npy file (bad magic)");
  const int major = data[6], minor = data[7];
  uint64_t hlen, hstart;
  if (major == 1) {
    hlen = data[8] | (uint64_t(data[9]) << 8);
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) fail_at(file, 8, "truncated header length");
    hlen = data[8] | (uint64_t(data[9]) << 8) | (uint64_t(data[10]) << 16) | (uint64_t(data[11]) << 24);
    hstart = 12;
  } else {
    fail_at(file, 6, "unsupported npy version " + std::to_string(major) + "." + std::to_string(minor));
  }
  if (minor != 0) fail_at(file, 7, "unsupported npy version " + std::to_string(major) + "." + std::to_string(minor));
  if (hstart + hlen > size) fail_at(file, hstart - 2, "header length " + std::to_string(hlen) + " runs past the end of the file");
  PyParser parser(file, reinterpret_cast<const char*>(data + hstart), hlen, hstart);
  PyValue top = parser.parse_top();
  if (top.kind != PyValue::Dict) fail_at(file, hstart, "npy header is not a dict");
  const PyValue *descr = nullptr, *fortran = nullptr, *shape = nullptr;
  for (const auto& v : top.items) {
    const std::string& k = v.key;
    if (k == "descr") descr = &v;
    else if (k == "fortran_order") fortran = &v;
    else if (k == "shape") shape = &v;
    else fail_field(file, k, "unexpected key in the npy header");
  }
  if (!descr) fail_field(file, "descr", "missing from the npy header");
  if (!fortran) fail_field(file, "fortran_order", "missing from the npy header");
  if (!shape) fail_field(file, "shape", "missing from the npy header");
  // descr: exactly the fifteen fields of record version 2 (or the first ten:
  // version 1), names and types, in order.
  const std::string want = "expected the structured dtype " + tuple_npy_descr() +
                           " (or its first 10 fields, record version 1)";
  if (descr->kind != PyValue::List) fail_field(file, "descr", "is not a structured dtype list; " + want);
  if (descr->items.size() != kTupleColumnsV2 && descr->items.size() != kTupleColumnsV1)
    fail_field(file, "descr", "has " + std::to_string(descr->items.size()) + " fields; " + want);
  const int version = descr->items.size() == kTupleColumnsV1 ? 1 : 2;
  for (size_t i = 0; i < descr->items.size(); ++i) {
    const PyValue& f = descr->items[i];
    if (f.kind != PyValue::Tuple || f.items.size() != 2 || f.items[0].kind != PyValue::Str ||
        f.items[1].kind != PyValue::Str)
      fail_field(file, "descr", "field " + std::to_string(i) + " (at offset " + std::to_string(f.offset) +
                                    ") is not a ('name', 'type') pair; " + want);
    if (f.items[0].s != kFieldNames[i] || f.items[1].s != kFieldTypes[i])
      fail_field(file, "descr",
                 "field " + std::to_string(i) + " is ('" + f.items[0].s + "', '" + f.items[1].s + "'), expected ('" +
                     kFieldNames[i] + "', '" + kFieldTypes[i] + "')");
  }
  if (fortran->kind != PyValue::Bool || fortran->b) fail_field(file, "fortran_order", "must be False");
  if (shape->kind != PyValue::Tuple || shape->items.size() != 1 || shape->items[0].kind != PyValue::Int ||
      shape->items[0].i < 0)
    fail_field(file, "shape", "must be a 1-D shape (N,)");
  const uint64_t n = static_cast<uint64_t>(shape->items[0].i);
  const uint64_t data_off = hstart + hlen;
  const uint64_t have = size - data_off;
  const uint64_t rb = row_bytes(version);
  if (n > have / rb || have != n * rb)
    fail_at(file, data_off,
            "shape (" + std::to_string(n) + ",) needs " + std::to_string(n) + " x " + std::to_string(rb) +
                " bytes of data (record version " + std::to_string(version) + "), found " + std::to_string(have) +
                " bytes");
  return {n, version};
}

template <class T>
T parse_csv_number(const std::string& file, uint64_t off, size_t line, int field, const char* b, const char* e) {
  T v{};
  auto r = std::from_chars(b, e, v);
  if (r.ec != std::errc() || r.ptr != e) {
    if constexpr (std::is_floating_point_v<T>) {
      // from_chars does not accept "nan"/"inf" with signs in all spellings; try strtod.
      std::string s(b, e);
      char* end = nullptr;
      double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && end == s.c_str() + s.size()) return static_cast<T>(d);
    }
    fail_at(file, off, "line " + std::to_string(line) + ": field '" + kFieldNames[field] + "': cannot parse '" +
                           std::string(b, e) + "'");
  }
  return v;
}

}  // namespace

struct TupleReader::Impl {
  std::optional<MappedFile> map;
  std::vector<TupleRow> owned;
};

TupleReader::TupleReader(const std::string& path)
    : path_(path), format_(tuple_format_for_path(path)), impl_(std::make_unique<Impl>()) {
  impl_->map.emplace(path);
  const MappedFile& m = *impl_->map;
  if (format_ == TupleFormat::Npy) {
    if (!host_little_endian()) fail_file(path, "npy reader needs a little-endian host");
    const NpyLayout lay = parse_npy_header(path, m.data(), m.size());
    const uint64_t n = lay.n;
    version_ = lay.version;
    if (version_ == 1) {  // old record: convert (NaN in the newer columns)
      const uint64_t off = m.size() - n * sizeof(TupleRowV1);
      impl_->owned.resize(n);
      for (uint64_t i = 0; i < n; ++i) {
        TupleRowV1 a;
        std::memcpy(&a, m.data() + off + i * sizeof(TupleRowV1), sizeof a);
        impl_->owned[i] = from_v1(a);
      }
      rows_ = impl_->owned;
      impl_->map.reset();
      return;
    }
    const uint64_t off = m.size() - n * sizeof(TupleRow);
    if (off % alignof(TupleRow) == 0) {
      rows_ = std::span<const TupleRow>(reinterpret_cast<const TupleRow*>(m.data() + off), n);
    } else {  // unaligned data (unusual header padding): copy
      impl_->owned.resize(n);
      std::memcpy(impl_->owned.data(), m.data() + off, n * sizeof(TupleRow));
      rows_ = impl_->owned;
      impl_->map.reset();
    }
    return;
  }
  // CSV
  if (m.size() == 0) fail_at(path, 0, "empty file: expected the header line '" + csv_header() + "'");
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const char* p = reinterpret_cast<const char*>(m.data());
  const char* end = p + m.size();
  const char* nl = static_cast<const char*>(std::memchr(p, '\n', m.size()));
  const char* hend = nl ? nl : end;
  std::string header(p, hend);
  if (!header.empty() && header.back() == '\r') header.pop_back();
  if (header == csv_header(kTupleColumnsV1)) version_ = 1;
  else if (header != csv_header())
    fail_at(path, 0, "expected the header line '" + csv_header() + "' (or its first " + std::to_string(kTupleColumnsV1) +
                         " columns, record version 1), found '" + header + "'");
  const int ncols = columns_of(version_);
  const std::string expected = "expected " + std::to_string(ncols) + " fields";
  const char* q = nl ? nl + 1 : end;
  size_t line = 1;
  while (q < end) {
    ++line;
    const char* le = static_cast<const char*>(std::memchr(q, '\n', static_cast<size_t>(end - q)));
    if (!le) le = end;
    const char* lend = le;
    if (lend > q && lend[-1] == '\r') --lend;
    const uint64_t off = static_cast<uint64_t>(q - p);
    if (lend == q) {  // blank line: allowed only at the end
      q = le + 1;
      continue;
    }
    TupleRow r{};
    r.entropy_fixed_norm = r.neg_var_score = r.max_score = r.logsumexp = r.k_budget = nan;
    int32_t* ints[6] = {&r.doc, &r.layer, &r.head, &r.kv_head, &r.pos, &r.token};
    float* flts[kTupleColumnsV2 - 6] = {&r.q_norm,        &r.entropy,       &r.sink_mass, &r.max_attn, &r.entropy_fixed_norm,
                                        &r.neg_var_score, &r.max_score,     &r.logsumexp, &r.k_budget};
    const char* f = q;
    for (int i = 0; i < ncols; ++i) {
      const char* fe = f;
      while (fe < lend && *fe != ',') ++fe;
      if (i < ncols - 1 && fe == lend)
        fail_at(path, off, "line " + std::to_string(line) + ": " + expected + ", found " + std::to_string(i + 1));
      if (i == ncols - 1 && fe != lend)
        fail_at(path, off, "line " + std::to_string(line) + ": more than " + std::to_string(ncols) + " fields");
      if (i < 6) *ints[i] = parse_csv_number<int32_t>(path, off, line, i, f, fe);
      else *flts[i - 6] = parse_csv_number<float>(path, off, line, i, f, fe);
      f = fe + 1;
    }
    impl_->owned.push_back(r);
    q = le + 1;
  }
  rows_ = impl_->owned;
  impl_->map.reset();
}

TupleReader::~TupleReader() = default;

bool TupleReader::has_column(const std::string& name) const {
  for (int i = 0; i < columns_of(version_); ++i)
    if (name == kFieldNames[i]) return true;
  return false;
}

int tuple_npy_file_version(const std::string& path) {
  MappedFile m(path);
  return parse_npy_header(path, m.data(), m.size()).version;
}

std::string find_tuple_file(const std::string& run_dir) {
  namespace fs = std::filesystem;
  for (const char* name : {"tuples.npy", "tuples.csv"}) {
    fs::path p = fs::path(run_dir) / name;
    if (fs::exists(p)) return p.string();
  }
  fail_file(run_dir, "no tuples.npy or tuples.csv in this run folder");
}

}  // namespace spectra
