// SafetensorsFile: parses and validates a safetensors header over a memory
// map. Tensor bytes are never copied; views point into the map.
#include "formats/safetensors_file.hpp"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "util/error.hpp"
#include "util/json_brief.hpp"

namespace spectra {

namespace {

// Every dtype of the safetensors format, with its element size in bytes.
struct DtypeInfo {
  const char* name;
  uint64_t size;
};
constexpr DtypeInfo kDtypes[] = {
    {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1}, {"U64", 8},
    {"U32", 4}, {"U16", 2}, {"U8", 1},  {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1},
};

std::optional<uint64_t> dtype_size(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return d.size;
  return std::nullopt;
}

std::optional<DType> readable_dtype(const std::string& name) {
  if (name == "F32") return DType::F32;
  if (name == "F16") return DType::F16;
  if (name == "BF16") return DType::BF16;
  return std::nullopt;
}

constexpr uint64_t kMaxHeader = uint64_t{100} << 20;  // the format's own 100 MB limit

}  // namespace

struct SafetensorsFile::Impl {
  MappedFile map;
  uint64_t data_offset = 0;
  std::map<std::string, std::string> metadata;
  std::vector<SafetensorsTensor> tensors;
  std::unordered_map<std::string, size_t> by_name;

  explicit Impl(const std::string& path) : map(path) {}
  const std::string& path() const { return map.path(); }
  void parse();
  void parse_entry(const std::string& name, const nlohmann::json& e, uint64_t data_size);
};

void SafetensorsFile::Impl::parse() {
  const uint64_t size = map.size();
  if (size < 8) fail_at(path(), 0, "truncated: file of " + std::to_string(size) + " bytes has no 8-byte header length");
  uint64_t n = 0;
  std::memcpy(&n, map.data(), 8);
  if (n > size - 8)
    fail_at(path(), 0,
            "header length " + std::to_string(n) + " exceeds the file size " + std::to_string(size) +
                " (truncated or not a safetensors file)");
  if (n > kMaxHeader) fail_at(path(), 0, "header length " + std::to_string(n) + " exceeds 100 MB");
  if (n < 2) fail_at(path(), 8, "header of " + std::to_string(n) + " bytes cannot hold a JSON object");
  data_offset = 8 + n;
  const char* begin = reinterpret_cast<const char*>(map.data() + 8);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(begin, begin + n);
  } catch (const nlohmann::json::parse_error& e) {
    fail_at(path(), 8 + (e.byte > 0 ? e.byte - 1 : 0), std::string("header JSON is malformed: ") + e.what());
  } catch (const nlohmann::json::exception& e) {  // e.g. a number too large for a double
    fail_at(path(), 8, std::string("header JSON is malformed: ") + e.what());
  }
  if (!header.is_object()) fail_at(path(), 8, "header JSON is not an object");
  const uint64_t data_size = size - data_offset;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it.value().is_object()) fail_field(path(), "__metadata__", "must be an object of strings");
      for (auto m = it.value().begin(); m != it.value().end(); ++m) {
        if (!m.value().is_string()) fail_field(path(), "__metadata__." + m.key(), "must be a string");
        metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    parse_entry(it.key(), it.value(), data_size);
  }
  // Data order, then no overlaps between neighbours.
  std::sort(tensors.begin(), tensors.end(), [](const SafetensorsTensor& a, const SafetensorsTensor& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  for (size_t i = 1; i < tensors.size(); ++i) {
    if (tensors[i].begin < tensors[i - 1].end)
      fail_field(path(), tensors[i].name + ".data_offsets",
                 "bytes [" + std::to_string(tensors[i].begin) + ", " + std::to_string(tensors[i].end) +
                     ") overlap tensor '" + tensors[i - 1].name + "' [" + std::to_string(tensors[i - 1].begin) +
                     ", " + std::to_string(tensors[i - 1].end) + ")");
  }
  for (size_t i = 0; i < tensors.size(); ++i) by_name.emplace(tensors[i].name, i);
}

void SafetensorsFile::Impl::parse_entry(const std::string& name, const nlohmann::json& e, uint64_t data_size) {
  if (!e.is_object()) fail_field(path(), name, "tensor entry must be an object");
  SafetensorsTensor t;
  t.name = name;
  auto dt = e.find("dtype");
  if (dt == e.end() || !dt->is_string()) fail_field(path(), name + ".dtype", "missing or not a string");
  t.dtype_name = dt->get<std::string>();
  const auto elem = dtype_size(t.dtype_name);
  if (!elem) fail_field(path(), name + ".dtype", "unknown dtype '" + t.dtype_name + "'");
  t.dtype = readable_dtype(t.dtype_name);

  auto sh = e.find("shape");
  if (sh == e.end() || !sh->is_array()) fail_field(path(), name + ".shape", "missing or not an array");
  uint64_t numel = 1;
  for (const auto& d : *sh) {
    if (!d.is_number_unsigned() && !(d.is_number_integer() && d.get<int64_t>() >= 0))
      fail_field(path(), name + ".shape", "dimensions must be non-negative integers, found " + brief_json(d));
    const uint64_t v = d.get<uint64_t>();
    if (v != 0 && numel > (uint64_t{1} << 56) / v) fail_field(path(), name + ".shape", "shape " + brief_json(*sh) + " is too large");
    numel *= v;
    t.shape.push_back(v);
  }

  auto off = e.find("data_offsets");
  if (off == e.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
      !(*off)[1].is_number_unsigned())
    fail_field(path(), name + ".data_offsets", "must be [begin, end] with non-negative integers");
  t.begin = (*off)[0].get<uint64_t>();
  t.end = (*off)[1].get<uint64_t>();
  if (t.begin > t.end)
    fail_field(path(), name + ".data_offsets", "begin " + std::to_string(t.begin) + " > end " + std::to_string(t.end));
  if (t.end > data_size)
    fail_field(path(), name + ".data_offsets",
               "end " + std::to_string(t.end) + " lies past the data section (" + std::to_string(data_size) +
                   " bytes after the header)");
  const uint64_t expect = numel * *elem;
  if (t.end - t.begin != expect)
    fail_field(path(), name + ".data_offsets",
               "byte length " + std::to_string(t.end - t.begin) + " != product(shape " + brief_json(*sh) + ") x " +
                   std::to_string(*elem) + " (" + t.dtype_name + ") = " + std::to_string(expect));
  tensors.push_back(std::move(t));
}

SafetensorsFile::SafetensorsFile(const std::string& path) : impl_(std::make_shared<Impl>(path)) { impl_->parse(); }

const std::string& SafetensorsFile::path() const { return impl_->path(); }
uint64_t SafetensorsFile::file_size() const { return impl_->map.size(); }
uint64_t SafetensorsFile::data_offset() const { return impl_->data_offset; }
const std::map<std::string, std::string>& SafetensorsFile::metadata() const { return impl_->metadata; }
const std::vector<SafetensorsTensor>& SafetensorsFile::tensors() const { return impl_->tensors; }

const SafetensorsTensor* SafetensorsFile::find(const std::string& name) const {
  auto it = impl_->by_name.find(name);
  return it == impl_->by_name.end() ? nullptr : &impl_->tensors[it->second];
}

TensorView SafetensorsFile::view(const SafetensorsTensor& t) const {
  if (!t.dtype)
    fail_field(path(), t.name + ".dtype", "dtype " + t.dtype_name + " is not supported (Spectra reads F32, F16, BF16)");
  TensorView v;
  v.name = t.name;
  v.file = path();
  v.dtype = *t.dtype;
  v.ndim = static_cast<int>(t.shape.size());
  v.cols = t.shape.empty() ? 1 : static_cast<int64_t>(t.shape.back());
  v.rows = 1;
  for (size_t i = 0; i + 1 < t.shape.size(); ++i) v.rows *= static_cast<int64_t>(t.shape[i]);
  v.file_offset = impl_->data_offset + t.begin;
  v.nbytes = t.end - t.begin;
  v.data = impl_->map.data() + v.file_offset;
  return v;
}

}  // namespace spectra
