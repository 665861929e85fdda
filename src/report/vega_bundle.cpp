// Inline Vega from Debian's libjs-vega modules (see vega_bundle.hpp).
#include "report/vega_bundle.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "util/error.hpp"

namespace spectra::report {

namespace {

// Dependency order does not matter (require() is lazy) but is kept readable.
const char* const kModules[] = {
    "vega-util",       "vega-time",      "vega-format",      "vega-loader",    "vega-dataflow",
    "vega-scale",      "vega-encode",    "vega-expression",  "vega-event-selector", "vega-statistics",
    "vega-transforms", "vega-canvas",    "vega-scenegraph",  "vega-view-transforms", "vega-selection",
    "vega-functions",  "vega-parser",    "vega-runtime",     "vega-view",
};

const char* kLoader = R"JS(var __spectraMods = {}, __spectraAlias = {"vega-selections": "vega-selection"};
function __spectraDef(name, fn) { __spectraMods[name] = {fn: fn, exports: null}; }
function __spectraReq(name) {
  name = __spectraAlias[name] || name;
  var m = __spectraMods[name];
  if (!m) throw new Error("Vega module not inlined: " + name);
  if (!m.exports) { var module = {exports: {}}; m.exports = module.exports; m.fn.call(window, module.exports, module, __spectraReq); m.exports = module.exports; }
  return m.exports;
}
)JS";

const char* kGlue = R"JS(var vega = (function () {
  var r = __spectraReq, df = r("vega-dataflow");
  r("vega-util").extend(df.transforms, r("vega-transforms"), r("vega-view-transforms"), r("vega-encode"));
  return {parse: r("vega-parser").parse, View: r("vega-view").View};
})();
)JS";

}  // namespace

std::string vega_inline_script(const std::string& vega_dir) {
  std::string js = kLoader;
  for (const char* name : kModules) {
    const auto path = std::filesystem::path(vega_dir) / (std::string(name) + ".min.js");
    std::ifstream in(path, std::ios::binary);
    if (!in) fail_file(path.string(), "missing: the HTML report inlines Vega from the Debian package libjs-vega");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string src = ss.str();
    // Drop the source-map comment (no file or network look-ups from the page).
    if (auto p = src.rfind("//# sourceMappingURL="); p != std::string::npos) src.erase(p);
    if (src.find("</script") != std::string::npos) fail_file(path.string(), "contains '</script': cannot be inlined");
    js += "__spectraDef(\"";
    js += name;
    js += "\", function (exports, module, require) {\n";
    js += src;
    js += "\n});\n";
  }
  js += kGlue;
  return js;
}

}  // namespace spectra::report
