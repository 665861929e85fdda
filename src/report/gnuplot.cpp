// The gnuplot subprocess driver (see gnuplot.hpp).
#include "report/gnuplot.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "util/atomic_file.hpp"
#include "util/error.hpp"

extern char** environ;

namespace spectra::report {

namespace fs = std::filesystem;

std::string gp_str(const std::string& text) {
  std::string s = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') s += '\\', s += c;
    else if (c == '\n') s += "\\n";
    else if (c == '`') s += "\\140";  // a raw backquote would run a shell command (gnuplot's `...` substitution)
    else s += c;
  }
  return s + "\"";
}

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_plain(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) fail_file(path, "cannot write");
}

}  // namespace

Gnuplot::Gnuplot(std::string executable, std::string figures_dir) : exe_(std::move(executable)), dir_(std::move(figures_dir)) {
  std::error_code ec;
  // gnuplot runs with `cd WORK`: every path handed to it must be absolute.
  const fs::path abs_dir = fs::absolute(dir_, ec);
  if (ec) fail_file(dir_, "cannot resolve the figures folder: " + ec.message());
  dir_ = abs_dir.lexically_normal().string();
  fs::create_directories(dir_, ec);
  if (ec) fail_file(dir_, "cannot create the figures folder: " + ec.message());
  work_ = (fs::path(dir_) / (".work." + std::to_string(::getpid()))).string();
  fs::remove_all(work_, ec);
  fs::create_directories(work_, ec);
  if (ec) fail_file(work_, "cannot create a work folder: " + ec.message());
  // Probe the terminals once: a clear message beats a failed first figure.
  const std::string probe = (fs::path(work_) / "probe.gp").string();
  write_plain(probe, "set terminal pngcairo\nset terminal svg\nprint 'ok'\n");
  std::string out;
  int rc = run(probe, out);
  if (rc == 127 && out.rfind("cannot start", 0) == 0)
    throw Error("cannot run gnuplot ('" + exe_ + "'): " + out + " (install the Debian package gnuplot-nox)");
  if (rc != 0)
    throw Error("gnuplot ('" + exe_ + "') failed its start-up check (pngcairo and svg terminals) in " + work_ +
                ": exit status " + std::to_string(rc) + (out.empty() ? "" : ": " + out) +
                (out.find("unknown or ambiguous terminal") != std::string::npos
                     ? " (this gnuplot lacks pngcairo or svg: install the Debian package gnuplot-nox)"
                     : ""));
}

Gnuplot::~Gnuplot() {
  std::error_code ec;
  fs::remove_all(work_, ec);
}

int Gnuplot::run(const std::string& script_path, std::string& output) const {
  const std::string log = script_path + ".log";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  std::string dir = fs::path(script_path).parent_path().string();
  std::vector<std::string> args = {exe_, "-e", "cd " + gp_str(dir), script_path};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int err = posix_spawnp(&pid, exe_.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (err != 0) {
    output = std::string("cannot start: ") + std::strerror(err);
    return 127;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  output = slurp(log);
  while (!output.empty() && (output.back() == '\n' || output.back() == ' ')) output.pop_back();
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

void Gnuplot::render(const GnuplotFigure& fig) {
  for (const auto& [name, text] : fig.data) write_plain((fs::path(work_) / name).string(), text);
  struct Target {
    const char* ext;
    std::string terminal;
  };
  const Target targets[] = {
      {"png", "set terminal pngcairo enhanced size " + std::to_string(2 * fig.width) + "," + std::to_string(2 * fig.height) +
                  " font 'DejaVu Sans,11' fontscale 2 linewidth 2 background rgb 'white'"},
      {"svg", "set terminal svg enhanced size " + std::to_string(fig.width) + "," + std::to_string(fig.height) +
                  " font 'DejaVu Sans,11' background rgb 'white'"},
  };
  for (const auto& t : targets) {
    const std::string out_name = fig.name + "." + t.ext + ".partial";
    const std::string script_path = (fs::path(work_) / (fig.name + "." + t.ext + ".gp")).string();
    write_plain(script_path, t.terminal + "\nset output " + gp_str(out_name) + "\nset encoding utf8\n" + fig.script +
                                 "\nunset output\n");
    std::string out;
    int rc = run(script_path, out);
    const fs::path produced = fs::path(work_) / out_name;
    std::error_code ec;
    if (rc != 0 || !fs::exists(produced) || fs::file_size(produced, ec) == 0)
      throw Error("gnuplot failed on figure " + fig.name + "." + t.ext + " (exit status " + std::to_string(rc) +
                  "): " + (out.empty() ? "no output file" : out));
    const fs::path final_path = fs::path(dir_) / (fig.name + "." + t.ext);
    fs::rename(produced, final_path, ec);
    if (ec) fail_file(final_path.string(), "cannot move the figure into place: " + ec.message());
  }
  for (const auto& [name, text] : fig.data) fs::remove(fs::path(work_) / name);
}

}  // namespace spectra::report
