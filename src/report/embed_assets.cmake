# Included by CMakeLists.txt with JS, CSS and OUT set: writes OUT, a .cpp
# defining the report page's script and style as raw string literals, so the
# binary needs no template files at run time. Rewritten only when changed.
file(READ ${JS} js_text)
file(READ ${CSS} css_text)
set(delim "SPECTRA_ASSET")
string(CONCAT content
  "// Generated from report_app.js and report_style.css by embed_assets.cmake.\n"
  "namespace spectra::report {\n"
  "extern const char* const kReportAppJs;\nextern const char* const kReportStyleCss;\n"
  "const char* const kReportAppJs = R\"${delim}(${js_text})${delim}\";\n"
  "const char* const kReportStyleCss = R\"${delim}(${css_text})${delim}\";\n"
  "}  // namespace spectra::report\n")
set(old "")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT old STREQUAL content)
  file(WRITE ${OUT} "${content}")
endif()
