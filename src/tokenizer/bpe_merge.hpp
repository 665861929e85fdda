#pragma once
// The merge loop shared by both BPE families: a linked list of symbols and a
// priority queue of adjacent pairs. The best pair (highest priority, then the
// leftmost) is merged first; stale queue entries are skipped lazily, so a
// word of n symbols costs O(n log n).
#include <cstdint>
#include <optional>
#include <queue>
#include <vector>

namespace spectra {

struct MergeSymbol {
  uint32_t begin = 0;  // byte offset in the word
  uint32_t len = 0;    // bytes; 0 once merged into its left neighbour
  int32_t id = -1;     // token id, -1 if the text is not a token
  int32_t prev = -1, next = -1;
};

struct PairMerge {
  double priority;  // higher merges first
  int32_t id;       // token id of the merged symbol
};

// Builds one symbol per element of `lengths` (consecutive byte lengths) with
// the given ids.
inline std::vector<MergeSymbol> make_symbols(const std::vector<uint32_t>& lengths, const std::vector<int32_t>& ids) {
  std::vector<MergeSymbol> syms(lengths.size());
  uint32_t off = 0;
  for (size_t i = 0; i < syms.size(); ++i) {
    syms[i] = {off, lengths[i], ids[i], static_cast<int32_t>(i) - 1,
               i + 1 < syms.size() ? static_cast<int32_t>(i + 1) : -1};
    off += lengths[i];
  }
  return syms;
}

// PairFn: (const MergeSymbol& left, const MergeSymbol& right) -> std::optional<PairMerge>.
template <class PairFn>
void merge_symbols(std::vector<MergeSymbol>& syms, PairFn&& pair_fn) {
  struct Candidate {
    double priority;
    int32_t left, right;
    uint32_t left_len, right_len;
  };
  auto worse = [](const Candidate& a, const Candidate& b) {
    return a.priority < b.priority || (a.priority == b.priority && a.left > b.left);
  };
  std::priority_queue<Candidate, std::vector<Candidate>, decltype(worse)> queue(worse);
  auto consider = [&](int32_t l, int32_t r) {
    if (l < 0 || r < 0) return;
    if (auto m = pair_fn(syms[l], syms[r])) queue.push({m->priority, l, r, syms[l].len, syms[r].len});
  };
  for (size_t i = 1; i < syms.size(); ++i) consider(static_cast<int32_t>(i - 1), static_cast<int32_t>(i));
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    MergeSymbol& l = syms[c.left];
    MergeSymbol& r = syms[c.right];
    if (l.len != c.left_len || r.len != c.right_len || l.len == 0 || r.len == 0 || l.next != c.right) continue;
    const auto m = pair_fn(l, r);
    l.id = m->id;
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) syms[r.next].prev = c.left;
    consider(l.prev, c.left);
    consider(c.left, l.next);
  }
}

}  // namespace spectra
