// GgufFile: parses a GGUF v2/v3 file over a memory map (header, typed
// metadata, tensor infos, aligned data section). Nothing is trusted: every
// count, length, dimension and offset is checked against the file before use,
// and every error names the file and the byte offset it was found at.
#include <algorithm>
#include <limits>
#include <unordered_map>

#include "formats/byte_reader.hpp"
#include "formats/gguf.hpp"
#include "util/error.hpp"

namespace spectra {

namespace {

constexpr uint32_t kGgufMagic = 0x46554747u;  // "GGUF" little-endian
constexpr uint32_t kMaxDims = 4;              // GGML_MAX_DIMS
constexpr uint64_t kDefaultAlignment = 32;
// Metadata array elements over the whole file. A value takes ~40 bytes in
// memory however small it is on disk (a u8 is 1 byte there), so an array
// count must be bounded by more than the file size. The largest real
// tokenizers (256k tokens, their types, scores and merges) use ~2M.
constexpr uint64_t kMaxArrayElements = uint64_t{1} << 24;

const char* type_name(GgufType t) {
  switch (t) {
    case GgufType::U8: return "u8";
    case GgufType::I8: return "i8";
    case GgufType::U16: return "u16";
    case GgufType::I16: return "i16";
    case GgufType::U32: return "u32";
    case GgufType::I32: return "i32";
    case GgufType::F32: return "f32";
    case GgufType::BOOL: return "bool";
    case GgufType::STRING: return "string";
    case GgufType::ARRAY: return "array";
    case GgufType::U64: return "u64";
    case GgufType::I64: return "i64";
    case GgufType::F64: return "f64";
  }
  return "?";
}

bool is_known_type(uint32_t t) { return t <= static_cast<uint32_t>(GgufType::F64); }
bool is_unsigned(GgufType t) {
  return t == GgufType::U8 || t == GgufType::U16 || t == GgufType::U32 || t == GgufType::U64;
}
bool is_signed(GgufType t) {
  return t == GgufType::I8 || t == GgufType::I16 || t == GgufType::I32 || t == GgufType::I64;
}
bool is_float(GgufType t) { return t == GgufType::F32 || t == GgufType::F64; }

// Smallest encoded size of one value of type t (strings: the u64 length).
uint64_t min_encoded_size(GgufType t) {
  switch (t) {
    case GgufType::U8:
    case GgufType::I8:
    case GgufType::BOOL: return 1;
    case GgufType::U16:
    case GgufType::I16: return 2;
    case GgufType::U32:
    case GgufType::I32:
    case GgufType::F32: return 4;
    default: return 8;
  }
}

GgufScalar read_scalar(detail::ByteReader& r, GgufType t, const std::string& key) {
  const char* what = "metadata value";
  switch (t) {
    case GgufType::U8: return static_cast<uint64_t>(r.read<uint8_t>(what));
    case GgufType::I8: return static_cast<int64_t>(r.read<int8_t>(what));
    case GgufType::U16: return static_cast<uint64_t>(r.read<uint16_t>(what));
    case GgufType::I16: return static_cast<int64_t>(r.read<int16_t>(what));
    case GgufType::U32: return static_cast<uint64_t>(r.read<uint32_t>(what));
    case GgufType::I32: return static_cast<int64_t>(r.read<int32_t>(what));
    case GgufType::U64: return r.read<uint64_t>(what);
    case GgufType::I64: return r.read<int64_t>(what);
    case GgufType::F32: return static_cast<double>(r.read<float>(what));
    case GgufType::F64: return r.read<double>(what);
    case GgufType::BOOL: {
      const uint64_t at = r.pos();
      const uint8_t b = r.read<uint8_t>(what);
      if (b > 1) fail_at(r.file(), at, "metadata '" + key + "': bool value " + std::to_string(b) + " is not 0 or 1");
      return b != 0;
    }
    case GgufType::STRING: return r.read_string(what);
    case GgufType::ARRAY: break;
  }
  fail_at(r.file(), r.pos(), "metadata '" + key + "': nested arrays are not supported");
}

}  // namespace

std::optional<DType> dtype_from_ggml(uint32_t ggml_type) {
  switch (ggml_type) {
    case 0: return DType::F32;
    case 1: return DType::F16;
    case 2: return DType::Q4_0;
    case 3: return DType::Q4_1;
    case 6: return DType::Q5_0;
    case 7: return DType::Q5_1;
    case 8: return DType::Q8_0;
    case 12: return DType::Q4_K;
    case 13: return DType::Q5_K;
    case 14: return DType::Q6_K;
    case 30: return DType::BF16;
    default: return std::nullopt;
  }
}

const char* ggml_type_name(uint32_t ggml_type) {
  static const char* const names[] = {
      "F32",     "F16",    "Q4_0",   "Q4_1",  "Q4_2(removed)", "Q4_3(removed)", "Q5_0", "Q5_1",
      "Q8_0",    "Q8_1",   "Q2_K",   "Q3_K",  "Q4_K",          "Q5_K",          "Q6_K", "Q8_K",
      "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL",       "IQ3_S",         "IQ2_S", "IQ4_XS",
      "I8",      "I16",    "I32",    "I64",   "F64",           "IQ1_M",         "BF16"};
  if (ggml_type < sizeof(names) / sizeof(names[0])) return names[ggml_type];
  return "unknown";
}

struct GgufFile::Impl {
  MappedFile map;
  uint32_t version = 0;
  uint64_t alignment = kDefaultAlignment;
  uint64_t data_offset = 0;
  std::map<std::string, GgufValue> metadata;
  std::vector<GgufTensorInfo> tensors;
  std::unordered_map<std::string, size_t> by_name;

  explicit Impl(const std::string& path) : map(path) {}
  const std::string& path() const { return map.path(); }

  const GgufValue& get(const std::string& key) const {
    auto it = metadata.find(key);
    if (it == metadata.end()) fail_field(path(), key, "missing");
    return it->second;
  }
  [[noreturn]] void wrong_type(const std::string& key, const GgufValue& v, const char* expected) const {
    std::string got = type_name(v.type);
    if (v.type == GgufType::ARRAY) got += std::string(" of ") + type_name(v.elem_type);
    fail_field(path(), key, std::string("expected ") + expected + ", found " + got);
  }

  void parse();
  void parse_metadata(detail::ByteReader& r, uint64_t n_kv);
  uint64_t array_elements = 0;  // metadata array elements read so far
  void parse_tensor_infos(detail::ByteReader& r, uint64_t n_tensors);
  void validate_tensor_data();
};

void GgufFile::Impl::parse() {
  detail::ByteReader r(path(), map.data(), map.size());
  const uint32_t magic = r.read<uint32_t>("magic");
  if (magic != kGgufMagic) fail_at(path(), 0, "not a GGUF file (bad magic)");
  version = r.read<uint32_t>("version");
  if (version == 1) fail_at(path(), 4, "GGUF version 1 is not supported (only versions 2 and 3)");
  if (version != 2 && version != 3) {
    fail_at(path(), 4,
            "unsupported GGUF version " + std::to_string(version) +
                ((version & 0xffff) == 0 ? " (a big-endian file?)" : "") + "; versions 2 and 3 are supported");
  }
  const uint64_t n_tensors = r.read<uint64_t>("tensor count");
  const uint64_t n_kv = r.read<uint64_t>("metadata count");
  parse_metadata(r, n_kv);

  if (auto it = metadata.find("general.alignment"); it != metadata.end()) {
    const GgufValue& v = it->second;
    if (!(is_unsigned(v.type) || is_signed(v.type))) wrong_type("general.alignment", v, "an integer");
    const uint64_t a = std::holds_alternative<uint64_t>(v.scalar) ? std::get<uint64_t>(v.scalar)
                                                                   : static_cast<uint64_t>(std::get<int64_t>(v.scalar));
    if (a == 0 || (a & (a - 1)) != 0 || a > (1u << 30))
      fail_field(path(), "general.alignment", "must be a power of two, found " + std::to_string(a));
    alignment = a;
  }

  parse_tensor_infos(r, n_tensors);
  // The data section starts at the next multiple of the alignment. A file
  // without tensors (vocab-only) may end before that point.
  data_offset = (r.pos() + alignment - 1) / alignment * alignment;
  validate_tensor_data();
}

void GgufFile::Impl::parse_metadata(detail::ByteReader& r, uint64_t n_kv) {
  // Each pair needs at least 8 (key length) + 4 (type) + 1 bytes.
  if (n_kv > r.remaining() / 13)
    fail_at(path(), 16, "metadata count " + std::to_string(n_kv) + " cannot fit in the file (truncated or corrupt)");
  for (uint64_t i = 0; i < n_kv; ++i) {
    const uint64_t key_at = r.pos();
    std::string key = r.read_string("metadata key");
    const uint64_t type_at = r.pos();
    const uint32_t raw_type = r.read<uint32_t>("metadata type");
    if (!is_known_type(raw_type))
      fail_at(path(), type_at, "metadata '" + key + "': unknown value type " + std::to_string(raw_type));
    GgufValue v;
    v.type = static_cast<GgufType>(raw_type);
    if (v.type == GgufType::ARRAY) {
      const uint64_t elem_at = r.pos();
      const uint32_t raw_elem = r.read<uint32_t>("array element type");
      if (!is_known_type(raw_elem) || raw_elem == static_cast<uint32_t>(GgufType::ARRAY))
        fail_at(path(), elem_at, "metadata '" + key + "': unsupported array element type " + std::to_string(raw_elem));
      v.elem_type = static_cast<GgufType>(raw_elem);
      const uint64_t count_at = r.pos();
      const uint64_t count = r.read<uint64_t>("array length");
      if (count > r.remaining() / min_encoded_size(v.elem_type))
        fail_at(path(), count_at,
                "metadata '" + key + "': array length " + std::to_string(count) + " exceeds the file (truncated or corrupt)");
      if (count > kMaxArrayElements - array_elements)
        fail_at(path(), count_at,
                "metadata '" + key + "': array length " + std::to_string(count) + " brings the file's metadata arrays over " +
                    std::to_string(kMaxArrayElements) + " elements");
      array_elements += count;
      v.array.reserve(count);
      for (uint64_t j = 0; j < count; ++j) v.array.push_back(read_scalar(r, v.elem_type, key));
    } else {
      v.scalar = read_scalar(r, v.type, key);
    }
    if (!metadata.emplace(std::move(key), std::move(v)).second)
      fail_at(path(), key_at, "duplicate metadata key");
  }
}

void GgufFile::Impl::parse_tensor_infos(detail::ByteReader& r, uint64_t n_tensors) {
  // Each info needs at least 8 (name length) + 4 (n_dims) + 4 (type) + 8 (offset) bytes.
  if (n_tensors > r.remaining() / 24)
    fail_at(path(), 8, "tensor count " + std::to_string(n_tensors) + " cannot fit in the file (truncated or corrupt)");
  tensors.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t;
    t.info_offset = r.pos();
    t.name = r.read_string("tensor name");
    const uint64_t ndim_at = r.pos();
    const uint32_t n_dims = r.read<uint32_t>("tensor dimension count");
    if (n_dims == 0 || n_dims > kMaxDims)
      fail_at(path(), ndim_at,
              "tensor '" + t.name + "': " + std::to_string(n_dims) + " dimensions (must be 1.." +
                  std::to_string(kMaxDims) + ")");
    uint64_t numel = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t dim_at = r.pos();
      const uint64_t n = r.read<uint64_t>("tensor dimension");
      if (n == 0 || n > (uint64_t{1} << 40) || numel > (uint64_t{1} << 52) / n)
        fail_at(path(), dim_at, "tensor '" + t.name + "': invalid dimension " + std::to_string(n));
      numel *= n;
      t.dims.push_back(n);
    }
    const uint64_t type_at = r.pos();
    t.ggml_type = r.read<uint32_t>("tensor type");
    if (auto dt = dtype_from_ggml(t.ggml_type)) {
      t.dtype = *dt;
      t.supported = true;
      if (t.dims[0] % static_cast<uint64_t>(block_elems(t.dtype)) != 0)
        fail_at(path(), type_at,
                "tensor '" + t.name + "': innermost dimension " + std::to_string(t.dims[0]) +
                    " is not a multiple of the " + to_string(t.dtype) + " block size " +
                    std::to_string(block_elems(t.dtype)));
    }
    const uint64_t off_at = r.pos();
    t.offset = r.read<uint64_t>("tensor data offset");
    if (t.offset % alignment != 0)
      fail_at(path(), off_at,
              "tensor '" + t.name + "': data offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
                  std::to_string(alignment));
    if (!by_name.emplace(t.name, tensors.size()).second)
      fail_at(path(), t.info_offset, "duplicate tensor name '" + t.name + "'");
    tensors.push_back(std::move(t));
  }
}

void GgufFile::Impl::validate_tensor_data() {
  if (tensors.empty()) return;
  const uint64_t size = map.size();
  if (data_offset > size) fail_at(path(), data_offset, "data section starts past the end of the file");
  const uint64_t data_size = size - data_offset;
  // Ranges of supported tensors must lie in the data section and not overlap.
  std::vector<std::pair<uint64_t, uint64_t>> ranges;  // [begin, end), index
  std::vector<size_t> idx;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    if (!t.supported) continue;
    uint64_t numel = 1;
    for (auto d : t.dims) numel *= d;
    const uint64_t nbytes = storage_bytes(t.dtype, numel);
    if (t.offset > data_size || nbytes > data_size - t.offset)
      fail_at(path(), t.info_offset,
              "tensor '" + t.name + "': data [" + std::to_string(data_offset + t.offset) + ", " +
                  std::to_string(data_offset + t.offset + nbytes) + ") lies outside the file (size " +
                  std::to_string(size) + ")");
    ranges.emplace_back(t.offset, t.offset + nbytes);
    idx.push_back(i);
  }
  std::vector<size_t> order(ranges.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ranges[a].first < ranges[b].first; });
  for (size_t k = 1; k < order.size(); ++k) {
    const auto& prev = ranges[order[k - 1]];
    const auto& cur = ranges[order[k]];
    if (cur.first < prev.second) {
      const auto& a = tensors[idx[order[k - 1]]];
      const auto& b = tensors[idx[order[k]]];
      fail_at(path(), b.info_offset, "tensor '" + b.name + "' overlaps tensor '" + a.name + "' in the data section");
    }
  }
}

// ---------------------------------------------------------------------------

GgufFile::GgufFile(const std::string& path) : impl_(std::make_shared<Impl>(path)) { impl_->parse(); }

const std::string& GgufFile::path() const { return impl_->path(); }
uint32_t GgufFile::version() const { return impl_->version; }
uint64_t GgufFile::data_offset() const { return impl_->data_offset; }
uint64_t GgufFile::alignment() const { return impl_->alignment; }
uint64_t GgufFile::file_size() const { return impl_->map.size(); }
const std::map<std::string, GgufValue>& GgufFile::metadata() const { return impl_->metadata; }
bool GgufFile::has(const std::string& key) const { return impl_->metadata.count(key) != 0; }

std::string GgufFile::get_string(const std::string& key) const {
  const auto& v = impl_->get(key);
  if (v.type != GgufType::STRING) impl_->wrong_type(key, v, "string");
  return std::get<std::string>(v.scalar);
}

int64_t GgufFile::get_int(const std::string& key) const {
  const auto& v = impl_->get(key);
  if (is_signed(v.type)) return std::get<int64_t>(v.scalar);
  if (is_unsigned(v.type)) {
    const uint64_t u = std::get<uint64_t>(v.scalar);
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      fail_field(path(), key, "value " + std::to_string(u) + " is out of range");
    return static_cast<int64_t>(u);
  }
  impl_->wrong_type(key, v, "an integer");
}

double GgufFile::get_float(const std::string& key) const {
  const auto& v = impl_->get(key);
  if (is_float(v.type)) return std::get<double>(v.scalar);
  if (is_signed(v.type)) return static_cast<double>(std::get<int64_t>(v.scalar));
  if (is_unsigned(v.type)) return static_cast<double>(std::get<uint64_t>(v.scalar));
  impl_->wrong_type(key, v, "a number");
}

bool GgufFile::get_bool(const std::string& key) const {
  const auto& v = impl_->get(key);
  if (v.type != GgufType::BOOL) impl_->wrong_type(key, v, "bool");
  return std::get<bool>(v.scalar);
}

std::vector<std::string> GgufFile::get_string_array(const std::string& key) const {
  const auto& v = impl_->get(key);
  if (v.type != GgufType::ARRAY || v.elem_type != GgufType::STRING) impl_->wrong_type(key, v, "array of string");
  std::vector<std::string> out;
  out.reserve(v.array.size());
  for (const auto& s : v.array) out.push_back(std::get<std::string>(s));
  return out;
}

std::vector<double> GgufFile::get_float_array(const std::string& key) const {
  const auto& v = impl_->get(key);
  if (v.type != GgufType::ARRAY ||
      !(is_float(v.elem_type) || is_signed(v.elem_type) || is_unsigned(v.elem_type)))
    impl_->wrong_type(key, v, "array of numbers");
  std::vector<double> out;
  out.reserve(v.array.size());
  for (const auto& s : v.array) {
    if (auto* d = std::get_if<double>(&s)) out.push_back(*d);
    else if (auto* i = std::get_if<int64_t>(&s)) out.push_back(static_cast<double>(*i));
    else out.push_back(static_cast<double>(std::get<uint64_t>(s)));
  }
  return out;
}

std::vector<int64_t> GgufFile::get_int_array(const std::string& key) const {
  const auto& v = impl_->get(key);
  if (v.type != GgufType::ARRAY || !(is_signed(v.elem_type) || is_unsigned(v.elem_type)))
    impl_->wrong_type(key, v, "array of integers");
  std::vector<int64_t> out;
  out.reserve(v.array.size());
  for (const auto& s : v.array) {
    if (auto* i = std::get_if<int64_t>(&s)) {
      out.push_back(*i);
    } else {
      const uint64_t u = std::get<uint64_t>(s);
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail_field(path(), key, "element " + std::to_string(u) + " is out of range");
      out.push_back(static_cast<int64_t>(u));
    }
  }
  return out;
}

std::optional<std::string> GgufFile::opt_string(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return get_string(key);
}
std::optional<int64_t> GgufFile::opt_int(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return get_int(key);
}
std::optional<double> GgufFile::opt_float(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return get_float(key);
}
std::optional<bool> GgufFile::opt_bool(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return get_bool(key);
}

const std::vector<GgufTensorInfo>& GgufFile::tensors() const { return impl_->tensors; }

const GgufTensorInfo* GgufFile::find_tensor(const std::string& name) const {
  auto it = impl_->by_name.find(name);
  return it == impl_->by_name.end() ? nullptr : &impl_->tensors[it->second];
}

TensorView GgufFile::view(const GgufTensorInfo& t) const {
  if (!t.supported)
    fail_at(path(), t.info_offset,
            "tensor '" + t.name + "': unsupported tensor type " + std::to_string(t.ggml_type) + " (" +
                ggml_type_name(t.ggml_type) + ")");
  TensorView v;
  v.name = t.name;
  v.file = path();
  v.dtype = t.dtype;
  v.ndim = static_cast<int>(t.dims.size());
  v.cols = static_cast<int64_t>(t.dims[0]);
  v.rows = 1;
  for (size_t d = 1; d < t.dims.size(); ++d) v.rows *= static_cast<int64_t>(t.dims[d]);
  v.nbytes = storage_bytes(t.dtype, static_cast<uint64_t>(v.rows * v.cols));
  v.file_offset = impl_->data_offset + t.offset;
  // Ranges were validated at open; this re-check guards infos not from this file.
  if (v.file_offset > file_size() || v.nbytes > file_size() - v.file_offset)
    fail_at(path(), t.info_offset, "tensor '" + t.name + "': data lies outside the file");
  v.data = impl_->map.data() + v.file_offset;
  return v;
}

}  // namespace spectra
