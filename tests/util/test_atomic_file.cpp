#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "util/atomic_file.hpp"

namespace fs = std::filesystem;
using namespace spectra;

TEST(AtomicFile, UncommittedLeavesNothing) {
  auto dir = fs::temp_directory_path() / "spectra_atomic_test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    AtomicFile f((dir / "a.txt").string());
    f.stream() << "half";
  }
  EXPECT_FALSE(fs::exists(dir / "a.txt"));
  EXPECT_TRUE(fs::is_empty(dir));
  {
    AtomicFile f((dir / "a.txt").string());
    f.stream() << "whole";
    f.commit();
  }
  std::ifstream in(dir / "a.txt");
  std::string s;
  in >> s;
  EXPECT_EQ(s, "whole");
  fs::remove_all(dir);
}
