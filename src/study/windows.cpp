// Cutting documents into the windows the forward pass sees (see windows.hpp).
#include "study/windows.hpp"

#include <algorithm>

#include "util/error.hpp"

namespace spectra::study {

WindowPlan make_windows(const std::vector<Document>& docs, const WindowOptions& o) {
  if (o.context < 2) throw Error("context must be at least 2 tokens");
  WindowPlan plan;
  auto add = [&](int di, int wi, int64_t start, std::vector<int32_t> toks) {
    const Document& d = docs[di];
    std::string label = d.source + (wi > 0 ? "#w" + std::to_string(wi) : "");
    int64_t n = static_cast<int64_t>(toks.size());
    if (n < o.min_positions) {
      plan.warnings.push_back(label + ": only " + std::to_string(n) + " tokens, fewer than the " +
                              std::to_string(o.min_positions) + " the statistics need; skipped");
      return;
    }
    if (n < o.min_tokens) {
      plan.warnings.push_back(label + ": only " + std::to_string(n) + " tokens (< min_tokens " +
                              std::to_string(o.min_tokens) + "); skipped");
      return;
    }
    if (n < o.context)
      plan.warnings.push_back(label + ": only " + std::to_string(n) + " tokens (< context " + std::to_string(o.context) +
                              "); used as a short window");
    Window w;
    w.document = di;
    w.index = wi;
    w.start = start;
    w.source = label;
    w.tokens = std::move(toks);
    plan.total_tokens += n;
    plan.windows.push_back(std::move(w));
  };
  for (int di = 0; di < static_cast<int>(docs.size()); ++di) {
    const auto& t = docs[di].tokens;
    int64_t n = static_cast<int64_t>(t.size());
    if (o.mode == WindowMode::First) {
      add(di, 0, 0, std::vector<int32_t>(t.begin(), t.begin() + std::min<int64_t>(n, o.context)));
      continue;
    }
    bool bos = o.bos_id >= 0 && n > 0 && t[0] == o.bos_id;
    int64_t body0 = bos ? 1 : 0;             // first body token
    int64_t chunk = o.context - (bos ? 1 : 0);  // body tokens per window
    int64_t body = n - body0;
    int64_t full = body / chunk;
    if (full == 0) {
      add(di, 0, body0, std::vector<int32_t>(t.begin(), t.end()));
      continue;
    }
    for (int64_t w = 0; w < full; ++w) {
      std::vector<int32_t> toks;
      toks.reserve(o.context);
      if (bos) toks.push_back(o.bos_id);
      auto b = t.begin() + body0 + w * chunk;
      toks.insert(toks.end(), b, b + chunk);
      add(di, static_cast<int>(w), body0 + w * chunk, std::move(toks));
    }
  }
  if (plan.windows.empty()) {
    std::string msg = "no window of the corpus is usable";
    if (!plan.warnings.empty()) msg += ": " + plan.warnings.front();
    throw Error(msg);
  }
  return plan;
}

}  // namespace spectra::study
