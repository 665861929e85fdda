// Tuple index and per-head gathering; see head_data.hpp.
#include "stats/head_data.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

#include "util/error.hpp"

namespace spectra::stats {

TupleIndex build_tuple_index(std::span<const TupleRow> rows, const std::string& file) {
  TupleIndex ix;
  ix.rows = rows.size();
  std::map<std::pair<int32_t, int32_t>, size_t> head_of;  // (layer, head) → slot in `found`
  std::map<int32_t, int64_t> doc_max_pos;
  struct RawRun {
    uint64_t begin, count;
    int32_t doc;
  };
  std::vector<std::vector<RawRun>> raw;
  std::vector<HeadId> found;
  uint64_t i = 0;
  const uint64_t n = rows.size();
  while (i < n) {
    const TupleRow& r0 = rows[i];
    if (r0.layer < 0 || r0.head < 0 || r0.kv_head < 0 || r0.doc < 0)
      fail_field(file, "row " + std::to_string(i), "negative doc, layer, head or kv_head");
    uint64_t j = i;
    int32_t maxpos = -1;
    while (j < n && rows[j].doc == r0.doc && rows[j].layer == r0.layer && rows[j].head == r0.head) {
      if (rows[j].pos < 0) fail_field(file, "row " + std::to_string(j), "pos is negative");
      maxpos = std::max(maxpos, rows[j].pos);
      ++j;
    }
    auto key = std::make_pair(r0.layer, r0.head);
    auto it = head_of.find(key);
    if (it == head_of.end()) {
      it = head_of.emplace(key, found.size()).first;
      found.push_back({r0.layer, r0.head, r0.kv_head});
      raw.emplace_back();
    }
    raw[it->second].push_back({i, j - i, r0.doc});
    auto [d, inserted] = doc_max_pos.emplace(r0.doc, maxpos);
    if (!inserted) d->second = std::max<int64_t>(d->second, maxpos);
    i = j;
  }
  std::map<int32_t, uint32_t> dense;
  for (auto& [doc, maxpos] : doc_max_pos) {
    dense[doc] = static_cast<uint32_t>(ix.docs.size());
    ix.docs.push_back(doc);
    ix.doc_tokens.push_back(maxpos + 1);
  }
  for (auto& [key, slot] : head_of) {  // std::map: ascending (layer, head)
    ix.heads.push_back(found[slot]);
    std::vector<TupleIndex::Run> runs;
    runs.reserve(raw[slot].size());
    for (auto& rr : raw[slot]) runs.push_back({rr.begin, rr.count, dense[rr.doc]});
    std::stable_sort(runs.begin(), runs.end(), [](const auto& a, const auto& b) { return a.doc < b.doc; });
    ix.runs.push_back(std::move(runs));
  }
  return ix;
}

HeadData gather_head(std::span<const TupleRow> rows, const TupleIndex& index, size_t h, int32_t min_position,
                     const std::string& file) {
  HeadData d;
  d.id = index.heads[h];
  const auto& runs = index.runs[h];
  uint64_t total = 0;
  for (auto& r : runs) total += r.count;
  d.pos.reserve(total);
  d.q_norm.reserve(total);
  d.entropy.reserve(total);
  d.sink_mass.reserve(total);
  d.entropy_fixed.reserve(total);
  d.neg_var.reserve(total);
  d.k_budget.reserve(total);
  d.k_prev.reserve(total);
  d.doc_offsets.assign(index.docs.size() + 1, 0);
  size_t k = 0;
  std::vector<size_t> order;
  for (uint32_t doc = 0; doc < index.docs.size(); ++doc) {
    const size_t start = d.pos.size();
    d.doc_offsets[doc] = start;
    for (; k < runs.size() && runs[k].doc == doc; ++k) {
      for (uint64_t i = runs[k].begin; i < runs[k].begin + runs[k].count; ++i) {
        const TupleRow& r = rows[i];
        // k_budget of position pos − 1: the previous row of the run (the
        // engine's order), else looked up in the run.
        double kp = std::numeric_limits<double>::quiet_NaN();
        if (i > runs[k].begin && rows[i - 1].pos == r.pos - 1) {
          kp = rows[i - 1].k_budget;
        } else if (r.pos >= 1) {
          for (uint64_t j = runs[k].begin; j < runs[k].begin + runs[k].count; ++j)
            if (rows[j].pos == r.pos - 1) {
              kp = rows[j].k_budget;
              break;
            }
        }
        if (r.kv_head != d.id.kv_head)
          fail_field(file, "row " + std::to_string(i),
                     "kv_head " + std::to_string(r.kv_head) + " differs from " + std::to_string(d.id.kv_head) +
                         " of layer " + std::to_string(r.layer) + " head " + std::to_string(r.head));
        if (r.pos < min_position) {
          ++d.dropped_early;
          continue;
        }
        if (!std::isfinite(r.q_norm) || !std::isfinite(r.entropy)) {
          ++d.dropped_nonfinite;
          continue;
        }
        d.pos.push_back(r.pos);
        d.q_norm.push_back(r.q_norm);
        d.entropy.push_back(r.entropy);
        d.sink_mass.push_back(r.sink_mass);
        d.entropy_fixed.push_back(r.entropy_fixed_norm);
        d.neg_var.push_back(r.neg_var_score);
        d.k_budget.push_back(r.k_budget);
        d.k_prev.push_back(kp);
      }
    }
    const size_t end = d.pos.size();
    // Order by position within the document (already so in the engine's files).
    bool sorted = true;
    for (size_t i = start + 1; i < end; ++i)
      if (d.pos[i] <= d.pos[i - 1]) sorted = false;
    if (!sorted) {
      order.resize(end - start);
      std::iota(order.begin(), order.end(), start);
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return d.pos[a] < d.pos[b]; });
      auto permute = [&](auto& v) {
        std::vector<typename std::decay_t<decltype(v)>::value_type> tmp(end - start);
        for (size_t i = 0; i < tmp.size(); ++i) tmp[i] = v[order[i]];
        std::copy(tmp.begin(), tmp.end(), v.begin() + static_cast<std::ptrdiff_t>(start));
      };
      permute(d.pos);
      permute(d.q_norm);
      permute(d.entropy);
      permute(d.sink_mass);
      permute(d.entropy_fixed);
      permute(d.neg_var);
      permute(d.k_budget);
      permute(d.k_prev);
      for (size_t i = start + 1; i < end; ++i)
        if (d.pos[i] == d.pos[i - 1])
          fail_file(file, "duplicate rows for doc " + std::to_string(index.docs[doc]) + " layer " +
                              std::to_string(d.id.layer) + " head " + std::to_string(d.id.head) + " pos " +
                              std::to_string(d.pos[i]));
    }
  }
  d.doc_offsets[index.docs.size()] = d.pos.size();
  return d;
}

}  // namespace spectra::stats
