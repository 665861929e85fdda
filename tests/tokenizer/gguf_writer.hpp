#pragma once
// Writes small metadata-only GGUF v3 files for error tests (no tensors).
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace spectra::test {

class GgufWriter {
 public:
  void str(const std::string& key, const std::string& v) {
    begin(key, 8);
    put_str(v);
  }
  void u32(const std::string& key, uint32_t v) {
    begin(key, 4);
    put(v);
  }
  void boolean(const std::string& key, bool v) {
    begin(key, 7);
    put<uint8_t>(v ? 1 : 0);
  }
  void strs(const std::string& key, const std::vector<std::string>& v) {
    begin(key, 9);
    put<uint32_t>(8);
    put<uint64_t>(v.size());
    for (const auto& s : v) put_str(s);
  }
  void i32s(const std::string& key, const std::vector<int32_t>& v) {
    begin(key, 9);
    put<uint32_t>(5);
    put<uint64_t>(v.size());
    for (auto x : v) put(x);
  }
  void f32s(const std::string& key, const std::vector<float>& v) {
    begin(key, 9);
    put<uint32_t>(6);
    put<uint64_t>(v.size());
    for (auto x : v) put(x);
  }
  void save(const std::string& path) const {
    std::string head = "GGUF";
    auto app = [&](auto x) { head.append(reinterpret_cast<const char*>(&x), sizeof x); };
    app(uint32_t{3});
    app(uint64_t{0});
    app(static_cast<uint64_t>(count_));
    std::string all = head + body_;
    all.resize((all.size() + 31) / 32 * 32, '\0');  // aligned (empty) data section
    std::ofstream(path, std::ios::binary) << all;
  }

 private:
  template <class T>
  void put(T v) {
    body_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void put_str(const std::string& s) {
    put<uint64_t>(s.size());
    body_ += s;
  }
  void begin(const std::string& key, uint32_t type) {
    put_str(key);
    put(type);
    ++count_;
  }
  std::string body_;
  size_t count_ = 0;
};

}  // namespace spectra::test
