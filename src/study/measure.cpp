// Stage 2: windows -> forward pass -> per-window tuple files and journal
// entries (see measure.hpp).
#include "study/measure.hpp"

#include <chrono>
#include <cmath>
#include <limits>
#include <memory>

#include "engine/forward.hpp"
#include "observers/tuple_observer.hpp"
#include "study/interrupt.hpp"
#include "study/kill_points.hpp"
#include "study/provenance.hpp"

namespace spectra::study {
namespace {
using Clock = std::chrono::steady_clock;
using json = nlohmann::ordered_json;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
}  // namespace

MeasureResult measure_windows(const StudyPlan& plan, const std::vector<int>& todo, const WindowStore& store,
                              ProcessGroup& group, const MeasureOptions& o) {
  MeasureResult res;
  const auto t_start = Clock::now();
  int64_t todo_tokens = 0;
  for (int w : todo) todo_tokens += static_cast<int64_t>(plan.windows.windows[w].tokens.size());
  Progress progress(static_cast<int>(todo.size()), todo_tokens, o.progress);
  const std::string who = group.distributed() ? "[rank " + std::to_string(group.rank()) + "] " : "";

  int cur_window = -1;
  int64_t cur_tokens = 0;
  std::unique_ptr<engine::Engine> eng;
  engine::EngineOptions eo;
  eo.precision = engine::parse_precision(plan.config.precision);
  eo.threads = plan.config.threads;
  eo.budget_mass = static_cast<float>(plan.config.budget_mass);
  eo.budget_stat = plan.config.budget;
  eo.weights = plan.weights.mode;  // resolved by run_study (never Auto here)
  eo.progress = [&](int done, int total) {
    progress.update(total > 0 ? cur_tokens * done / total : 0);
    if (done == (total + 1) / 2) kill_point("mid-write", cur_window);
    group.poll();
    throw_if_interrupted();
  };

  for (int k = group.next_task(static_cast<int>(todo.size())); k >= 0;
       k = group.next_task(static_cast<int>(todo.size()))) {
    throw_if_interrupted();
    const int w = todo[k];
    const Window& win = plan.windows.windows[w];
    if (!eng) {
      auto t0 = Clock::now();
      eng = std::make_unique<engine::Engine>(*plan.model, eo);
      res.engine_setup = seconds_since(t0);
      if (!eng->precision_note().empty() && o.log) o.log("study: " + eng->precision_note());
    }
    cur_window = w;
    cur_tokens = static_cast<int64_t>(win.tokens.size());
    eng->validate_tokens(win.tokens);
    progress.start(w, who + win.source, cur_tokens);
    const std::string started = utc_now_iso();
    auto tw = Clock::now();
    engine::ForwardResult r;
    {
      TupleWriter writer(store.tuple_path(w), TupleFormat::Npy);
      TupleObserver obs(writer, w);
      engine::ForwardOptions fo;
      fo.observer = &obs;
      r = eng->forward(win.tokens, fo);
      throw_if_interrupted();
      writer.finish();
    }
    const double secs = seconds_since(tw);
    kill_point("after-tuples", w);
    const double mnll = r.mean_nll();
    const double ppl = std::isfinite(mnll) ? std::exp(mnll) : std::numeric_limits<double>::quiet_NaN();
    store.commit(w, {{"source", win.source},
                     {"tokens", cur_tokens},
                     {"mean_nll", number_or_null(mnll)},
                     {"perplexity", number_or_null(ppl)},
                     {"started", started},
                     {"finished", utc_now_iso()},
                     {"seconds", secs},
                     {"forward", {{"total", r.time.total},
                                  {"weight_conversion", r.time.convert},
                                  {"matmul", r.time.matmul},
                                  {"attention", r.time.attention},
                                  {"lm_head", r.time.lm_head}}},
                     {"precision", engine::to_string(eng->precision())},
                     {"precision_note", eng->precision_note()},
                     {"threads", eng->threads()},
                     {"weights", engine::to_string(eng->weights_mode())},
                     {"process", o.process}});
    kill_point("after-window", w);
    progress.finish_window();
    res.windows.push_back(w);
    if (o.after_window) o.after_window(w);
  }
  progress.done();
  res.seconds = seconds_since(t_start);
  return res;
}

}  // namespace spectra::study
