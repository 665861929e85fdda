// Default-study path lookup: the checkout's models/, corpus/demo/ and runs/.
#include "study/study_paths.hpp"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "util/error.hpp"

namespace spectra::study {
namespace fs = std::filesystem;

namespace {

void add_with_parents(std::vector<std::string>& out, fs::path p) {
  std::error_code ec;
  p = fs::weakly_canonical(p, ec);
  if (ec) return;
  while (true) {
    std::string s = p.string();
    bool dup = false;
    for (const auto& o : out) dup |= o == s;
    if (!dup) out.push_back(s);
    if (!p.has_parent_path() || p.parent_path() == p) break;
    p = p.parent_path();
  }
}

}  // namespace

std::vector<std::string> search_roots() {
  std::vector<std::string> roots;
  if (const char* home = std::getenv("SPECTRA_HOME"); home && *home) roots.push_back(fs::absolute(home).string());
  std::error_code ec;
  fs::path cwd = fs::current_path(ec);
  if (!ec) add_with_parents(roots, cwd);
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) add_with_parents(roots, exe.parent_path());
  return roots;
}

std::string find_in_roots(const std::string& relative, std::vector<std::string>* tried) {
  std::error_code ec;
  for (const auto& r : search_roots()) {
    fs::path p = fs::path(r) / relative;
    if (tried) tried->push_back(p.string());
    if (fs::exists(p, ec)) return p.string();
  }
  return "";
}

std::string default_model_path() {
  std::vector<std::string> tried;
  std::string p = find_in_roots(kDefaultModel, &tried);
  if (!p.empty()) return p;
  std::string msg = std::string("no --model given and the default model ") + kDefaultModel +
                    " was not found (looked in the current directory, the executable's folder and their parents";
  if (!tried.empty()) msg += ", first " + tried.front();
  msg += "). Fetch it with scripts/fetch_model.sh (from the Spectra checkout), or pass --model PATH "
         "(a .gguf file or a Hugging Face model folder).";
  throw Error(msg);
}

std::string default_corpus_path() {
  std::vector<std::string> tried;
  std::string p = find_in_roots(kDefaultCorpus, &tried);
  if (!p.empty()) return p;
  throw Error(std::string("no --corpus given and the demo corpus ") + kDefaultCorpus +
              " was not found. Build it with scripts/build_demo_corpus.py (scripts/setup.sh does), or pass "
              "--corpus PATH (a folder of .txt/.md/.jsonl/.tokens files, or files).");
}

std::string default_runs_root() { return kDefaultRuns; }

}  // namespace spectra::study
