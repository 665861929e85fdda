// Study progress: a terminal bar or plain lines (see progress.hpp).
#include "study/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace spectra::study {

using Clock = std::chrono::steady_clock;

Progress::Progress(int total_windows, int64_t total_tokens, ProgressStyle style, FILE* out)
    : total_windows_(total_windows), total_tokens_(total_tokens), style_(style), out_(out) {
  if (style_ == ProgressStyle::Auto) style_ = isatty(fileno(out_)) ? ProgressStyle::Bar : ProgressStyle::Lines;
  t0_ = last_draw_ = window_t0_ = Clock::now();
}

double Progress::elapsed_seconds() const { return std::chrono::duration<double>(Clock::now() - t0_).count(); }

double Progress::rate() const {
  double s = elapsed_seconds();
  int64_t done = tokens_done_ + window_done_;
  return s > 0 && done > 0 ? static_cast<double>(done) / s : 0.0;
}

std::string Progress::format_duration(double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) return "--";
  long s = std::lround(seconds);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

void Progress::start(int window, const std::string& label, int64_t tokens) {
  current_ = window;
  label_ = label;
  window_tokens_ = tokens;
  window_done_ = 0;
  window_t0_ = Clock::now();
  draw(true);
}

void Progress::update(int64_t tokens_done_in_window) {
  window_done_ = std::clamp<int64_t>(tokens_done_in_window, 0, window_tokens_);
  if (style_ == ProgressStyle::Lines) {
    // Long windows (large models): a line at most every 30 s, so logs show life.
    auto now = Clock::now();
    if (now - last_draw_ >= std::chrono::seconds(30)) {
      last_draw_ = now;
      double r = rate();
      double eta = r > 0 ? static_cast<double>(total_tokens_ - tokens_done_ - window_done_) / r : -1;
      std::fprintf(out_, "study: window %d/%d: %.0f%% of %s (%.0f tokens/s overall), ETA %s\n", windows_done_ + 1,
                   total_windows_, window_tokens_ > 0 ? 100.0 * window_done_ / window_tokens_ : 0.0, label_.c_str(), r,
                   format_duration(eta).c_str());
      std::fflush(out_);
    }
    return;
  }
  draw(false);
}

void Progress::finish_window() {
  last_draw_ = Clock::now();
  double secs = std::chrono::duration<double>(Clock::now() - window_t0_).count();
  tokens_done_ += window_tokens_;
  window_done_ = 0;
  ++windows_done_;
  if (style_ == ProgressStyle::Lines) {
    double r = rate();
    double eta = r > 0 ? static_cast<double>(total_tokens_ - tokens_done_) / r : -1;
    std::fprintf(out_, "study: window %d/%d done: %s, %lld tokens in %.1f s (%.0f tokens/s overall), ETA %s\n",
                 windows_done_, total_windows_, label_.c_str(), static_cast<long long>(window_tokens_), secs, r,
                 format_duration(eta).c_str());
    std::fflush(out_);
  } else {
    draw(true);
  }
}

void Progress::message(const std::string& text) {
  if (style_ == ProgressStyle::None) return;
  if (bar_visible_) std::fprintf(out_, "\r\033[K");
  std::fprintf(out_, "%s\n", text.c_str());
  bar_visible_ = false;
  if (style_ == ProgressStyle::Bar) draw(true);
  std::fflush(out_);
}

void Progress::done() {
  if (style_ == ProgressStyle::Bar && bar_visible_) {
    draw(true);
    std::fprintf(out_, "\n");
    std::fflush(out_);
    bar_visible_ = false;
  }
}

void Progress::draw(bool force) {
  if (style_ != ProgressStyle::Bar) return;
  auto now = Clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(200)) return;
  last_draw_ = now;
  int64_t done = tokens_done_ + window_done_;
  double frac = total_tokens_ > 0 ? static_cast<double>(done) / static_cast<double>(total_tokens_) : 0.0;
  const int width = 24;
  int fill = static_cast<int>(std::floor(frac * width));
  std::string bar(static_cast<size_t>(std::clamp(fill, 0, width)), '#');
  bar.resize(width, '.');
  double r = rate();
  double eta = r > 0 ? static_cast<double>(total_tokens_ - done) / r : -1;
  std::string label = label_;
  if (label.size() > 40) label = "..." + label.substr(label.size() - 37);
  std::fprintf(out_, "\r\033[K[%s] %3.0f%%  window %d/%d  %.0f tok/s  ETA %s  %s", bar.c_str(), frac * 100.0,
               std::min(windows_done_ + 1, total_windows_), total_windows_, r, format_duration(eta).c_str(),
               label.c_str());
  std::fflush(out_);
  bar_visible_ = true;
}

}  // namespace spectra::study
