#pragma once
// The measurement writer: an engine Observer that streams one TupleRow per
// (layer, head, position) into a TupleWriter (tuples.npy / tuples.csv), in the
// contract's order (doc, layer, head, pos). Also keeps the window's per-
// position NLL for the summary.
#include <cstdint>
#include <vector>

#include "engine/probe.hpp"
#include "observers/tuple_file.hpp"

namespace spectra {

class TupleObserver : public engine::Observer {
 public:
  // `writer` is not owned; rows are appended as the pass produces them.
  TupleObserver(TupleWriter& writer, int32_t doc = 0) : writer_(writer), doc_(doc) {}
  void set_doc(int32_t doc) { doc_ = doc; }
  void on_head(const engine::HeadProbe& h) override;
  void on_nll(int64_t pos0, std::span<const double> nll) override;
  const std::vector<double>& nll() const { return nll_; }
  uint64_t rows() const { return rows_; }

 private:
  TupleWriter& writer_;
  int32_t doc_;
  std::vector<TupleRow> buf_;
  std::vector<double> nll_;
  uint64_t rows_ = 0;
};

// Collects the rows in memory (tests, small windows).
class TupleCollector : public engine::Observer {
 public:
  void on_head(const engine::HeadProbe& h) override;
  std::vector<TupleRow> rows;
  int32_t doc = 0;
};

// Wants nothing: the forward pass runs with statistics off (probe-cost baseline).
class NullObserver : public engine::Observer {
 public:
  bool wants_attention_stats() const override { return false; }
};

// Fill TupleRows for one head probe (every kHeadProbeFields statistic; a
// null array gives NaN in its column).
void append_head_rows(const engine::HeadProbe& h, int32_t doc, std::vector<TupleRow>& out);

}  // namespace spectra
