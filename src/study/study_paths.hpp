#pragma once
// Where the default study finds its inputs when no path is given:
//   model  models/SmolLM2-135M-Instruct.Q4_1.gguf   (scripts/fetch_model.sh)
//   corpus corpus/demo/                             (scripts/build_demo_corpus.py)
//   out    runs/<timestamp>/ in the current directory
// The model and corpus are looked up relative to the Spectra checkout. The checkout is found by looking in
// the current directory and its parents, then in the folder of the running
// executable and its parents (so build/spectra finds ../models), for the
// relative path in question. The SPECTRA_HOME environment variable, when
// set, is tried first.
#include <string>
#include <vector>

namespace spectra::study {

inline constexpr const char* kDefaultModel = "models/SmolLM2-135M-Instruct.Q4_1.gguf";
inline constexpr const char* kDefaultCorpus = "corpus/demo";
inline constexpr const char* kDefaultRuns = "runs";

// The folders searched, in order (existing or not).
std::vector<std::string> search_roots();

// First ROOT/relative that exists, or "" (the candidates tried go to `tried`).
std::string find_in_roots(const std::string& relative, std::vector<std::string>* tried = nullptr);

// The default model / demo corpus; throw spectra::Error telling how to get
// them when absent.
std::string default_model_path();
std::string default_corpus_path();
// Folder for runs/: ./runs (relative to the current directory).
std::string default_runs_root();

}  // namespace spectra::study
