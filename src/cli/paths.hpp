#pragma once
// Output paths are resolved once, at the command line: a relative --out DIR
// becomes an absolute path before any work starts, so nothing later (a
// subprocess started in another folder, a chdir) can resolve it differently.
#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>

namespace spectra::cli {

inline CLI::Validator AbsolutePath() {
  return CLI::Validator(
      [](std::string& p) -> std::string {
        std::error_code ec;
        auto a = std::filesystem::absolute(p, ec);
        if (ec) return "cannot resolve the path '" + p + "': " + ec.message();
        p = a.lexically_normal().string();
        return {};
      },
      "", "absolute path");
}

}  // namespace spectra::cli
