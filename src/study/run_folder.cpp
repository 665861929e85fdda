// Run folder creation, overwrite refusal, and the INCOMPLETE marker.
#include "study/run_folder.hpp"

#include <ctime>
#include <filesystem>
#include <system_error>
#include <vector>

#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace spectra::study {
namespace fs = std::filesystem;

std::string default_run_dir(const std::string& runs_root) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  fs::path base = fs::path(runs_root) / buf;
  fs::path p = base;
  for (int i = 2; fs::exists(p); ++i) p = fs::path(base.string() + "-" + std::to_string(i));
  return p.string();
}

bool is_run_folder(const std::string& dir) {
  std::error_code ec;
  for (const char* name : {"config.toml", "summary.json", kIncompleteMarker})
    if (fs::exists(fs::path(dir) / name, ec)) return true;
  return false;
}

void prepare_run_folder(const std::string& run_dir, bool force) {
  std::error_code ec;
  fs::path dir(run_dir);
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) fail_file(run_dir, "the output path exists and is not a directory");
    bool empty = fs::is_empty(dir, ec);
    if (ec) fail_file(run_dir, "cannot read the output directory: " + ec.message());
    if (!empty) {
      if (!force)
        fail_file(run_dir,
                  "the output folder exists and is not empty; choose another --out, or pass --force to replace "
                  "a previous run");
      if (!is_run_folder(run_dir))
        fail_file(run_dir,
                  "the output folder is not empty and is not a Spectra run folder (no config.toml, summary.json "
                  "or INCOMPLETE); refusing to delete its contents even with --force");
      std::vector<fs::path> entries;
      for (const auto& e : fs::directory_iterator(dir, ec)) entries.push_back(e.path());
      if (ec) fail_file(run_dir, "cannot list the output directory: " + ec.message());
      for (const auto& e : entries) {
        fs::remove_all(e, ec);
        if (ec) fail_file(e.string(), "cannot remove (clearing the run folder for --force): " + ec.message());
      }
    }
  } else {
    fs::create_directories(dir, ec);
    if (ec) fail_file(run_dir, "cannot create the output directory: " + ec.message());
  }
  write_file_atomic((dir / kIncompleteMarker).string(),
                    "This study is running or did not finish: summary.json is written last, and only a run "
                    "folder without this file holds complete results.\n");
}

void mark_incomplete(const std::string& run_dir, const std::string& why) noexcept {
  try {
    write_file_atomic((fs::path(run_dir) / kIncompleteMarker).string(),
                      "This study did not finish: " + why +
                          "\nFiles present are complete (each is written atomically), but the study's results are "
                          "not: there is no summary.json.\n");
  } catch (...) {
  }
}

void mark_complete(const std::string& run_dir) {
  std::error_code ec;
  fs::remove(fs::path(run_dir) / kIncompleteMarker, ec);
}

}  // namespace spectra::study
