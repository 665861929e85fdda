#pragma once
// Progress of a study on stderr: on a terminal a redrawn bar (windows done,
// tokens/s, ETA); otherwise (a pipe, a log file, CI) one plain line per
// finished window. Rate and ETA count tokens, since windows may differ in length.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace spectra::study {

enum class ProgressStyle { Auto, Bar, Lines, None };

class Progress {
 public:
  // Auto: Bar when `out` is a terminal, else Lines.
  Progress(int total_windows, int64_t total_tokens, ProgressStyle style = ProgressStyle::Auto, FILE* out = stderr);

  // A window starts / partial progress inside it (tokens of it done so far) /
  // it is finished.
  void start(int window, const std::string& label, int64_t tokens);
  void update(int64_t tokens_done_in_window);
  void finish_window();
  // Print a message without garbling the bar.
  void message(const std::string& text);
  // Clear the bar (end of the measurement phase).
  void done();

  double elapsed_seconds() const;
  ProgressStyle style() const { return style_; }

  // "1:02:03" / "2:03" / "--" for negative.
  static std::string format_duration(double seconds);

 private:
  void draw(bool force);
  double rate() const;  // tokens per second

  int total_windows_;
  int64_t total_tokens_;
  ProgressStyle style_;
  FILE* out_;
  std::chrono::steady_clock::time_point t0_, last_draw_, window_t0_;
  int windows_done_ = 0;
  int current_ = -1;
  std::string label_;
  int64_t tokens_done_ = 0;     // finished windows
  int64_t window_tokens_ = 0;   // tokens of the current window
  int64_t window_done_ = 0;     // done within the current window
  bool bar_visible_ = false;
};

}  // namespace spectra::study
