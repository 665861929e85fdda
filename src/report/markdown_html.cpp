// A small Markdown → HTML converter for the Markdown this report writes
// itself (headings, paragraphs, nested "- " bullets, pipe tables, ``` code
// blocks, **bold**, `code`). Everything is HTML-escaped first.
#include <sstream>
#include <vector>

#include "report/report_writers.hpp"

namespace spectra::report {

std::string html_escape(const std::string& s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

namespace {

std::string inline_md(const std::string& text) {
  const std::string s = html_escape(text);
  std::string o;
  bool bold = false, code = false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (!code && s.compare(i, 2, "**") == 0) {
      o += bold ? "</strong>" : "<strong>";
      bold = !bold;
      ++i;
    } else if (s[i] == '`') {
      o += code ? "</code>" : "<code>";
      code = !code;
    } else if (!code && s[i] == '\\' && i + 1 < s.size() && s[i + 1] == '|') {
      o += '|';
      ++i;
    } else {
      o += s[i];
    }
  }
  if (code) o += "</code>";
  if (bold) o += "</strong>";
  return o;
}

std::vector<std::string> table_cells(const std::string& line) {
  std::vector<std::string> cells;
  std::string cur;
  size_t i = line.find('|') + 1;
  for (; i < line.size(); ++i) {
    if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == '|') {
      cur += "\\|";
      ++i;
    } else if (line[i] == '|') {
      cells.push_back(cur);
      cur.clear();
    } else {
      cur += line[i];
    }
  }
  for (auto& c : cells) {
    size_t a = c.find_first_not_of(' '), b = c.find_last_not_of(' ');
    c = a == std::string::npos ? "" : c.substr(a, b - a + 1);
  }
  return cells;
}

size_t indent_of(const std::string& l) { return l.find_first_not_of(' '); }
bool is_bullet(const std::string& l) {
  size_t i = indent_of(l);
  return i != std::string::npos && l.compare(i, 2, "- ") == 0;
}

}  // namespace

std::string markdown_to_html(const std::string& md) {
  std::vector<std::string> lines;
  {
    std::istringstream in(md);
    std::string l;
    while (std::getline(in, l)) lines.push_back(l);
  }
  std::ostringstream o;
  size_t i = 0;
  while (i < lines.size()) {
    const std::string& l = lines[i];
    if (l.find_first_not_of(' ') == std::string::npos) {
      ++i;
      continue;
    }
    if (l.rfind("```", 0) == 0) {
      o << "<pre><code>";
      for (++i; i < lines.size() && lines[i].rfind("```", 0) != 0; ++i) o << html_escape(lines[i]) << "\n";
      o << "</code></pre>\n";
      ++i;
      continue;
    }
    if (l[0] == '#') {
      size_t level = l.find_first_not_of('#');
      o << "<h" << level << ">" << inline_md(l.substr(level + 1)) << "</h" << level << ">\n";
      ++i;
      continue;
    }
    if (l[0] == '|') {
      const auto head = table_cells(l);
      std::vector<std::string> align;
      i += 1;
      if (i < lines.size() && lines[i].find("---") != std::string::npos) {
        for (const auto& c : table_cells(lines[i])) align.push_back(c.size() && c.back() == ':' ? "right" : "");
        ++i;
      }
      o << "<table><thead><tr>";
      for (const auto& c : head) o << "<th>" << inline_md(c) << "</th>";
      o << "</tr></thead><tbody>\n";
      for (; i < lines.size() && !lines[i].empty() && lines[i][0] == '|'; ++i) {
        o << "<tr>";
        const auto cells = table_cells(lines[i]);
        for (size_t k = 0; k < cells.size(); ++k)
          o << (k < align.size() && !align[k].empty() ? "<td class=\"num\">" : "<td>") << inline_md(cells[k]) << "</td>";
        o << "</tr>\n";
      }
      o << "</tbody></table>\n";
      continue;
    }
    if (is_bullet(l)) {
      // Nested lists by indentation; a table inside a bullet ends the list.
      std::vector<size_t> stack;
      while (i < lines.size() && is_bullet(lines[i])) {
        const size_t ind = indent_of(lines[i]);
        if (stack.empty() || ind > stack.back()) {
          o << "<ul>";
          stack.push_back(ind);
        } else {
          o << "</li>";
          while (!stack.empty() && ind < stack.back()) {
            o << "</ul></li>";
            stack.pop_back();
          }
        }
        o << "<li>" << inline_md(lines[i].substr(ind + 2));
        ++i;
      }
      while (!stack.empty()) {
        o << "</li></ul>";
        stack.pop_back();
      }
      o << "\n";
      continue;
    }
    o << "<p>";
    bool first = true;
    for (; i < lines.size() && !lines[i].empty() && lines[i][0] != '#' && lines[i][0] != '|' && !is_bullet(lines[i]) &&
           lines[i].rfind("```", 0) != 0;
         ++i) {
      o << (first ? "" : " ") << inline_md(lines[i]);
      first = false;
    }
    o << "</p>\n";
  }
  return o.str();
}

}  // namespace spectra::report
