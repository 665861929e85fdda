// Per-window tuple files and their journal entries (see window_store.hpp).
#include "study/window_store.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "study/provenance.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"
#include "util/mapped_file.hpp"

namespace spectra::study {
namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

std::string six(int w) {
  char b[16];
  std::snprintf(b, sizeof b, "%06d", w);
  return b;
}

bool read_json(const std::string& path, json& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    out = json::parse(ss.str());
    return out.is_object();
  } catch (const json::exception&) {
    return false;
  }
}

void remove_matching(const fs::path& dir, const std::function<bool(const std::string&)>& pred) {
  std::error_code ec;
  std::vector<fs::path> doomed;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (pred(e.path().filename().string())) doomed.push_back(e.path());
  for (const auto& p : doomed) fs::remove(p, ec);
}

}  // namespace

WindowStore::WindowStore(std::string run_dir, std::string plan_id, int windows)
    : run_dir_(std::move(run_dir)), plan_id_(std::move(plan_id)), windows_(windows) {}

std::string WindowStore::tuple_path(int w) const { return (fs::path(run_dir_) / "windows" / (six(w) + ".npy")).string(); }
std::string WindowStore::entry_path(int w) const { return (fs::path(run_dir_) / "journal" / (six(w) + ".json")).string(); }

void WindowStore::make_folders() const {
  std::error_code ec;
  for (const char* sub : {"windows", "journal"}) {
    fs::create_directories(fs::path(run_dir_) / sub, ec);
    if (ec) fail_file((fs::path(run_dir_) / sub).string(), "cannot create: " + ec.message());
  }
}

WindowCheck WindowStore::check(int w, bool hash) const {
  json e;
  std::error_code ec;
  const std::string tp = tuple_path(w);
  if (!fs::exists(entry_path(w), ec))
    return {false, fs::exists(tp, ec) ? "its tuple file has no journal entry (stopped before the entry was written)"
                                      : kNotMeasured};
  if (!read_json(entry_path(w), e)) return {false, "its journal entry is unreadable"};
  if (e.value("plan", "") != plan_id_) return {false, "its journal entry belongs to another plan"};
  if (e.value("window", -1) != w) return {false, "its journal entry names another window"};
  if (!fs::exists(tp, ec)) return {false, "its tuple file is missing"};
  const uint64_t size = fs::file_size(tp, ec);
  if (ec || size != e.value("bytes", uint64_t(0)))
    return {false, "its tuple file has " + std::to_string(size) + " bytes, the journal says " +
                       std::to_string(e.value("bytes", uint64_t(0)))};
  // A tuple file of an older record version (written by a spectra before
  // issue #14, e.g. a study started with it and resumed with this one) is
  // measured again, so that the assembled table has one record version.
  try {
    const int v = tuple_npy_file_version(tp);
    if (v != kTupleRecordVersion)
      return {false, "its tuple file has tuple record version " + std::to_string(v) + " (written by an older spectra; " +
                         "this one writes version " + std::to_string(kTupleRecordVersion) + ")"};
  } catch (const Error& e) {
    return {false, std::string("its tuple file is not a valid tuple file (") + e.what() + ")"};
  }
  if (hash) {
    const std::string h = sha256_file(tp);
    if (h != e.value("sha256", ""))
      return {false, "checksum mismatch (SHA-256 " + h.substr(0, 12) + "..., the journal says " +
                         e.value("sha256", "").substr(0, 12) + "...)"};
  }
  return {true, ""};
}

std::vector<std::pair<int, std::string>> WindowStore::pending(bool hash) const {
  std::vector<std::pair<int, std::string>> out;
  for (int w = 0; w < windows_; ++w) {
    WindowCheck c = check(w, hash);
    if (!c.done) out.emplace_back(w, c.why);
  }
  return out;
}

void WindowStore::commit(int w, json entry) const {
  const std::string tp = tuple_path(w);
  std::error_code ec;
  json e = {{"plan", plan_id_},
            {"window", w},
            {"tuple_file", "windows/" + fs::path(tp).filename().string()},
            {"bytes", static_cast<uint64_t>(fs::file_size(tp, ec))},
            {"sha256", sha256_file(tp)}};
  for (const auto& [k, v] : entry.items()) e[k] = v;
  write_file_atomic(entry_path(w), e.dump(2) + "\n");
}

std::vector<json> WindowStore::entries() const {
  std::vector<json> out(windows_);
  for (int w = 0; w < windows_; ++w)
    if (!read_json(entry_path(w), out[w])) fail_file(entry_path(w), "missing or unreadable journal entry");
  return out;
}

uint64_t WindowStore::assemble(const std::string& path, TupleFormat format,
                               const std::function<void(int)>& progress) const {
  TupleWriter writer(path, format);
  for (int w = 0; w < windows_; ++w) {
    json e;
    if (!read_json(entry_path(w), e)) fail_file(entry_path(w), "missing or unreadable journal entry");
    const std::string tp = tuple_path(w);
    {
      MappedFile m(tp);
      const std::string h = sha256_hex(m.data(), m.size());
      if (h != e.value("sha256", ""))
        fail_file(tp, "does not match its journal entry (SHA-256 " + h.substr(0, 12) +
                          "...); run spectra study --resume " + run_dir_ + " to measure it again");
    }
    TupleReader r(tp);
    if (r.version() != kTupleRecordVersion)
      fail_file(tp, "has tuple record version " + std::to_string(r.version()) + " (written by an older spectra); run "
                    "spectra study --resume " + run_dir_ + " to measure it again");
    for (const auto& row : r.rows())
      if (row.doc != w) fail_file(tp, "holds rows of doc " + std::to_string(row.doc) + ", expected " + std::to_string(w));
    writer.append(r.rows());
    if (progress) progress(w);
  }
  writer.finish();
  return writer.rows_written();
}

void WindowStore::remove_tuple_files() const {
  remove_matching(fs::path(run_dir_) / "windows", [](const std::string&) { return true; });
  std::error_code ec;
  fs::remove(fs::path(run_dir_) / "windows", ec);
  remove_temporaries();
}

void WindowStore::remove_temporaries() const {
  auto partial = [](const std::string& n) { return n.find(".partial.") != std::string::npos; };
  remove_matching(fs::path(run_dir_) / "windows", partial);
  remove_matching(fs::path(run_dir_) / "journal", partial);
}

}  // namespace spectra::study
