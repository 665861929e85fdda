#pragma once
// Runs gnuplot as a subprocess to render one figure to PNG (pngcairo) and
// SVG. The figure is a script body plus its data files; the driver writes
// them into a private work folder, prepends the terminal and output lines,
// runs `gnuplot script`, checks the exit status and that a non-empty file
// appeared, then renames it into place (so a figure is complete or absent).
#include <string>
#include <utility>
#include <vector>

namespace spectra::report {

struct GnuplotFigure {
  std::string name;          // file name without extension, e.g. "heatmap_pearson_r"
  int width = 900;           // SVG size in pixels; the PNG is twice as large
  int height = 600;
  std::vector<std::pair<std::string, std::string>> data;  // data file name → contents
  std::string script;        // commands run after the terminal/output lines
};

class Gnuplot {
 public:
  // Throws if the executable cannot be run or lacks the pngcairo or svg terminal.
  Gnuplot(std::string executable, std::string figures_dir);
  ~Gnuplot();
  Gnuplot(const Gnuplot&) = delete;
  Gnuplot& operator=(const Gnuplot&) = delete;

  // Writes FIGURES_DIR/NAME.png and NAME.svg. Throws spectra::Error with
  // gnuplot's own error message when it fails.
  void render(const GnuplotFigure& fig);
  const std::string& figures_dir() const { return dir_; }

 private:
  int run(const std::string& script_path, std::string& output) const;
  std::string exe_, dir_, work_;
};

// A gnuplot double-quoted string literal (\" and \\ escaped, newline as \\n,
// backquote as \140). Gnuplot runs `command` substitution even inside
// double-quoted strings, so an unescaped backquote in a path or label (a run
// folder named in a study.toml) would execute a shell command.
std::string gp_str(const std::string& text);

}  // namespace spectra::report
