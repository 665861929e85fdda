// gp_str() must keep gnuplot from running anything: gnuplot substitutes
// `command` even inside double-quoted strings, and a run folder's path (from
// a study.toml someone sent) reaches a gnuplot script through gp_str().
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "report/gnuplot.hpp"

namespace fs = std::filesystem;

TEST(GnuplotQuoting, BackquotesQuotesAndNewlinesStayText) {
  const fs::path dir = fs::temp_directory_path() / ("spectra-gp-quoting-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path marker = dir / "marker";
  const std::string text = "a `touch " + marker.string() + "` \"q\" \\ b\nc";
  {
    std::ofstream gp(dir / "t.gp");
    gp << "print " << spectra::report::gp_str(text) << "\n";
  }
  const std::string cmd = "gnuplot " + (dir / "t.gp").string() + " > " + (dir / "out").string() + " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream in(dir / "out");
  std::stringstream out;
  out << in.rdbuf();
  EXPECT_FALSE(fs::exists(marker)) << "gnuplot ran the backquoted command";
  EXPECT_EQ(out.str(), text + "\n");
  fs::remove_all(dir);
}
