// Leftmost-longest matching of user-defined tokens in raw text.
#include "tokenizer/added_tokens.hpp"

#include <algorithm>

namespace spectra {

AddedTokenMatcher::AddedTokenMatcher(const Vocab& vocab) {
  for (int32_t id = 0; id < vocab.size(); ++id) {
    if (vocab.kinds[id] != TokenKind::UserDefined || vocab.tokens[id].empty()) continue;
    by_first_byte_[static_cast<unsigned char>(vocab.tokens[id][0])].push_back({vocab.tokens[id], id});
  }
  for (auto& [byte, list] : by_first_byte_)
    std::stable_sort(list.begin(), list.end(),
                     [](const Entry& a, const Entry& b) { return a.text.size() > b.text.size(); });
}

void AddedTokenMatcher::partition(std::string_view text, std::vector<Fragment>& out) const {
  if (by_first_byte_.empty()) {
    if (!text.empty()) out.push_back({text, -1});
    return;
  }
  size_t start = 0, i = 0;
  while (i < text.size()) {
    auto it = by_first_byte_.find(static_cast<unsigned char>(text[i]));
    const Entry* hit = nullptr;
    if (it != by_first_byte_.end())
      for (const auto& e : it->second)
        if (text.compare(i, e.text.size(), e.text) == 0) {
          hit = &e;
          break;
        }
    if (!hit) {
      ++i;
      continue;
    }
    if (i > start) out.push_back({text.substr(start, i - start), -1});
    out.push_back({{}, hit->id});
    i += hit->text.size();
    start = i;
  }
  if (start < text.size()) out.push_back({text.substr(start), -1});
}

}  // namespace spectra
