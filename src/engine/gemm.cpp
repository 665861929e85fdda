// oneDNN matmul wrapper with a primitive cache keyed by shape and layout.
#include "engine/gemm.hpp"

#include <map>
#include <mutex>
#include <tuple>

#include "engine/ops.hpp"
#include "util/error.hpp"

namespace spectra::engine {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

dnnl::engine& cpu_engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}
dnnl::stream& cpu_stream() {
  static dnnl::stream s(cpu_engine());
  return s;
}

namespace {

dt to_dt(WType t) { return t == WType::BF16 ? dt::bf16 : dt::f32; }

memory::desc plain_weight_md(int64_t n, int64_t k, WType type) {
  // logical dims {K, N}; element (k, n) stored at n*K + k, i.e. W[N][K] row-major
  return memory::desc({k, n}, to_dt(type), tag::ba);
}

// (M, N, K, type, layout_m, accumulate)
using Key = std::tuple<int64_t, int64_t, int64_t, int, int64_t, bool>;
struct Entry {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
};
std::mutex g_mu;
std::map<Key, Entry> g_cache;
std::map<std::tuple<int64_t, int64_t, int, int64_t>, std::pair<memory::desc, dnnl::reorder>> g_reorders;

dnnl::matmul::primitive_desc make_pd(int64_t M, int64_t N, int64_t K, WType type, const memory::desc& wmd,
                                     bool accumulate) {
  memory::desc src({M, K}, to_dt(type), tag::ab);
  memory::desc dst({M, N}, dt::f32, tag::ab);
  dnnl::primitive_attr attr;
  if (accumulate) {
    dnnl::post_ops po;
    po.append_sum(1.0f);
    attr.set_post_ops(po);
  }
  dnnl::matmul::desc d(src, wmd, dst);
  return dnnl::matmul::primitive_desc(d, attr, cpu_engine());
}

Entry& get_entry(int64_t M, const PreparedWeight& w, bool accumulate) {
  Key key{M, w.n, w.k, static_cast<int>(w.type), w.layout_m, accumulate};
  std::lock_guard<std::mutex> lk(g_mu);
  auto it = g_cache.find(key);
  if (it != g_cache.end()) return it->second;
  auto pd = make_pd(M, w.n, w.k, w.type, w.md, accumulate);
  Entry e{pd, dnnl::matmul(pd)};
  return g_cache.emplace(key, std::move(e)).first->second;
}

// The weight layout a matmul of M rows prefers.
memory::desc preferred_md(int64_t M, int64_t n, int64_t k, WType type) {
  memory::desc any({k, n}, to_dt(type), tag::any);
  return make_pd(M, n, k, type, any, false).weights_desc();
}

}  // namespace

PreparedWeight prepare_weight(const TensorView& t, int64_t r0, int64_t r1, WType type, int64_t layout_m,
                              Buffer& store, Buffer& scratch) {
  if (r0 < 0 || r1 > t.rows || r0 >= r1) throw Error("prepare_weight: bad row range for " + t.name);
  PreparedWeight w;
  w.n = r1 - r0;
  w.k = t.cols;
  w.type = type;
  w.layout_m = layout_m;
  const size_t esz = type == WType::BF16 ? 2 : 4;
  const size_t plain_bytes = static_cast<size_t>(w.n * w.k) * esz;
  memory::desc plain = plain_weight_md(w.n, w.k, type);
  void* plain_ptr;
  if (layout_m == 0) {
    w.md = plain;
    plain_ptr = store.reserve(plain_bytes);
  } else {
    plain_ptr = scratch.reserve(plain_bytes);
  }
  // Convert in parallel over row chunks; quantized rows are whole blocks.
  const int64_t n = w.n, k = w.k;
  const int64_t chunk = 64;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t c = 0; c < (n + chunk - 1) / chunk; ++c) {
    int64_t a = c * chunk, b = std::min(n, a + chunk);
    if (type == WType::BF16)
      convert_rows_bf16(t, r0 + a, r0 + b, static_cast<uint16_t*>(plain_ptr) + a * k);
    else
      convert_rows_f32(t, r0 + a, r0 + b, static_cast<float*>(plain_ptr) + a * k);
  }
  if (layout_m == 0) {
    w.data = plain_ptr;
    return w;
  }
  dnnl::reorder* rp;
  {
    std::lock_guard<std::mutex> lk(g_mu);
    auto key = std::make_tuple(w.n, w.k, static_cast<int>(type), layout_m);
    auto it = g_reorders.find(key);
    if (it == g_reorders.end()) {
      memory::desc md = preferred_md(layout_m, w.n, w.k, type);
      dnnl::reorder r(memory(plain, cpu_engine(), DNNL_MEMORY_NONE), memory(md, cpu_engine(), DNNL_MEMORY_NONE));
      it = g_reorders.emplace(key, std::make_pair(md, r)).first;
    }
    w.md = it->second.first;
    rp = &it->second.second;
  }
  w.data = store.reserve(w.md.get_size());
  memory src(plain, cpu_engine(), plain_ptr), dst(w.md, cpu_engine(), w.data);
  rp->execute(cpu_stream(), src, dst);
  cpu_stream().wait();
  return w;
}

void matmul_bf16(int64_t M, const uint16_t* x, const PreparedWeight& w, float* dst, bool accumulate) {
  if (w.type != WType::BF16) throw Error("matmul_bf16: weights are not bf16");
  Entry& e = get_entry(M, w, accumulate);
  memory src(e.pd.src_desc(), cpu_engine(), const_cast<uint16_t*>(x));
  memory wm(w.md, cpu_engine(), w.data);
  memory d(e.pd.dst_desc(), cpu_engine(), dst);
  e.prim.execute(cpu_stream(), {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DST, d}});
  cpu_stream().wait();
}

void matmul(int64_t M, const float* x, const PreparedWeight& w, float* dst, bool accumulate) {
  if (w.type == WType::BF16) {
    static thread_local Buffer xb;
    uint16_t* p = xb.as<uint16_t>(static_cast<size_t>(M * w.k));
    f32_to_bf16_array(x, p, M * w.k);
    matmul_bf16(M, p, w, dst, accumulate);
    return;
  }
  Entry& e = get_entry(M, w, accumulate);
  memory src(e.pd.src_desc(), cpu_engine(), const_cast<float*>(x));
  memory wm(w.md, cpu_engine(), w.data);
  memory d(e.pd.dst_desc(), cpu_engine(), dst);
  e.prim.execute(cpu_stream(), {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DST, d}});
  cpu_stream().wait();
}

const char* matmul_impl_name(int64_t M, int64_t N, int64_t K, WType type) {
  memory::desc any({K, N}, to_dt(type), tag::any);
  static thread_local std::string s;
  s = make_pd(M, N, K, type, any, false).impl_info_str();
  return s.c_str();
}

void clear_primitive_cache() {
  std::lock_guard<std::mutex> lk(g_mu);
  g_cache.clear();
  g_reorders.clear();
}

}  // namespace spectra::engine
