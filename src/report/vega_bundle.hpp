#pragma once
// Debian's libjs-vega ships Vega as separate UMD modules (vega-util,
// vega-scale, ..., vega-view) rather than one bundled vega.min.js, and their
// browser-global fallback overwrites `window.vega` module by module. This
// builds one inline script from them: each module is wrapped so that its
// CommonJS branch runs against a small in-page require(), then the glue that
// Vega's own index.js does (registering the transforms) exposes
// `vega.parse` and `vega.View`. No network, no bundler, nothing vendored.
#include <string>

namespace spectra::report {

// Reads the modules from VEGA_DIR (default /usr/share/javascript/vega).
// Throws spectra::Error naming the missing file and the Debian package.
std::string vega_inline_script(const std::string& vega_dir);

}  // namespace spectra::report
