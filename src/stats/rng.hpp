#pragma once
// A small, fully specified random number generator so that permutation
// results are identical on every platform and standard library:
// xoshiro256** seeded through SplitMix64, bounded integers by rejection
// (unbiased, Lemire's method). Each (seed, layer, head, stream) gets its own generator, so
// results do not depend on the number of threads or the order heads run in.
#include <cstdint>

namespace spectra::stats {

inline uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    uint64_t s = seed;
    for (auto& w : s_) w = splitmix64(s);
  }
  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform integer in [0, bound), bound > 0, unbiased: Lemire's
  // multiply-shift with rejection (a division only on the rare slow path).
  uint64_t below(uint64_t bound) {
    __extension__ using u128 = unsigned __int128;
    u128 m = static_cast<u128>(next()) * bound;
    uint64_t low = static_cast<uint64_t>(m);
    if (low < bound) {
      const uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound
      while (low < threshold) {
        m = static_cast<u128>(next()) * bound;
        low = static_cast<uint64_t>(m);
      }
    }
    return static_cast<uint64_t>(m >> 64);
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

// The generator seed for one head and one purpose (stream 1: within-document
// shuffle, stream 2: circular shift).
inline uint64_t head_seed(uint64_t seed, int32_t layer, int32_t head, uint32_t stream) {
  uint64_t s = seed;
  uint64_t a = splitmix64(s);
  s = a ^ (static_cast<uint64_t>(static_cast<uint32_t>(layer)) << 32 | static_cast<uint32_t>(head));
  uint64_t b = splitmix64(s);
  s = b ^ stream;
  return splitmix64(s);
}

}  // namespace spectra::stats
