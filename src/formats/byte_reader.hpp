#pragma once
// A bounds-checked little-endian cursor over mapped bytes (internal to
// src/formats). Every read that would pass the end throws spectra::Error
// "FILE: at offset N: WHAT", N being the absolute offset of the failed read.
#include <cstdint>
#include <cstring>
#include <string>

#include "util/error.hpp"

namespace spectra::detail {

class ByteReader {
 public:
  ByteReader(const std::string& file, const uint8_t* data, uint64_t size)
      : file_(file), data_(data), size_(size) {}

  uint64_t pos() const { return pos_; }
  uint64_t size() const { return size_; }
  uint64_t remaining() const { return size_ - pos_; }
  const std::string& file() const { return file_; }

  // Throws unless n more bytes are available; `what` names the item being read.
  void need(uint64_t n, const char* what) const {
    if (n > size_ - pos_)
      fail_at(file_, pos_,
              std::string("truncated: ") + what + " needs " + std::to_string(n) + " bytes, " +
                  std::to_string(size_ - pos_) + " left in the file");
  }

  template <class T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  // GGUF string: u64 length, then that many bytes (no terminator).
  std::string read_string(const char* what) {
    const uint64_t at = pos_;
    const uint64_t n = read<uint64_t>(what);
    if (n > size_ - pos_)
      fail_at(file_, at,
              std::string(what) + ": string length " + std::to_string(n) + " exceeds the " +
                  std::to_string(size_ - pos_) + " bytes left in the file");
    std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return s;
  }

  void skip(uint64_t n, const char* what) {
    need(n, what);
    pos_ += n;
  }

 private:
  std::string file_;
  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

}  // namespace spectra::detail
