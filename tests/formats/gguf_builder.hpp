#pragma once
// A tiny GGUF writer for tests: builds well-formed files byte by byte so that
// tests can then break exactly one field.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace spectra::test {

class GgufBuilder {
 public:
  uint32_t version = 3;
  uint64_t alignment = 32;

  struct Tensor {
    std::string name;
    std::vector<uint64_t> dims;
    uint32_t type;
    std::vector<uint8_t> data;
  };

  void kv_u32(const std::string& k, uint32_t v) { kv_raw(k, 4, &v, 4); }
  void kv_i32(const std::string& k, int32_t v) { kv_raw(k, 5, &v, 4); }
  void kv_f32(const std::string& k, float v) { kv_raw(k, 6, &v, 4); }
  void kv_bool(const std::string& k, bool v) {
    uint8_t b = v;
    kv_raw(k, 7, &b, 1);
  }
  void kv_string(const std::string& k, const std::string& v) {
    std::vector<uint8_t> b;
    put_string(b, v);
    kv_raw(k, 8, b.data(), b.size());
  }
  void kv_string_array(const std::string& k, const std::vector<std::string>& v) {
    std::vector<uint8_t> b;
    put<uint32_t>(b, 8);
    put<uint64_t>(b, v.size());
    for (auto& s : v) put_string(b, s);
    kv_raw(k, 9, b.data(), b.size());
  }
  void kv_raw(const std::string& k, uint32_t type, const void* v, size_t n) {
    put_string(kv_, k);
    put<uint32_t>(kv_, type);
    kv_.insert(kv_.end(), static_cast<const uint8_t*>(v), static_cast<const uint8_t*>(v) + n);
    ++n_kv_;
  }
  void tensor(const std::string& name, std::vector<uint64_t> dims, uint32_t type, std::vector<uint8_t> data) {
    tensors_.push_back({name, std::move(dims), type, std::move(data)});
  }

  // Offsets of tensor infos' offset fields in the last build (for corruption).
  std::vector<size_t> offset_field_pos;
  size_t data_start = 0;

  std::vector<uint8_t> build() {
    std::vector<uint8_t> out;
    put<uint32_t>(out, 0x46554747u);
    put<uint32_t>(out, version);
    put<uint64_t>(out, tensors_.size());
    put<uint64_t>(out, n_kv_);
    out.insert(out.end(), kv_.begin(), kv_.end());
    std::vector<uint64_t> offsets;
    uint64_t off = 0;
    for (auto& t : tensors_) {
      offsets.push_back(off);
      off += (t.data.size() + alignment - 1) / alignment * alignment;
    }
    offset_field_pos.clear();
    for (size_t i = 0; i < tensors_.size(); ++i) {
      auto& t = tensors_[i];
      put_string(out, t.name);
      put<uint32_t>(out, static_cast<uint32_t>(t.dims.size()));
      for (auto d : t.dims) put<uint64_t>(out, d);
      put<uint32_t>(out, t.type);
      offset_field_pos.push_back(out.size());
      put<uint64_t>(out, offsets[i]);
    }
    if (tensors_.empty()) return out;  // vocab-only files end here, unpadded
    out.resize((out.size() + alignment - 1) / alignment * alignment, 0);
    data_start = out.size();
    for (size_t i = 0; i < tensors_.size(); ++i) {
      out.resize(data_start + offsets[i], 0);
      out.insert(out.end(), tensors_[i].data.begin(), tensors_[i].data.end());
    }
    return out;
  }

  template <class T>
  static void put(std::vector<uint8_t>& b, T v) {
    uint8_t tmp[sizeof(T)];
    std::memcpy(tmp, &v, sizeof(T));
    b.insert(b.end(), tmp, tmp + sizeof(T));
  }
  static void put_string(std::vector<uint8_t>& b, const std::string& s) {
    put<uint64_t>(b, s.size());
    b.insert(b.end(), s.begin(), s.end());
  }
  template <class T>
  static void poke(std::vector<uint8_t>& b, size_t pos, T v) {
    std::memcpy(b.data() + pos, &v, sizeof(T));
  }

 private:
  std::vector<uint8_t> kv_;
  uint64_t n_kv_ = 0;
  std::vector<Tensor> tensors_;
};

}  // namespace spectra::test
