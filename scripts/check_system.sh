#!/usr/bin/env bash
# Checks the system libraries the project needs beyond Python packages:
# Pango and HarfBuzz's subsetter (PDF rendering with WeasyPrint) and a CJK font
# (Chinese text as glyphs, not boxes). Prints how to install what is missing.
# Exit status 1 when something is missing and STRICT_SYSTEM_CHECK=1, else 0.
missing=()
have_lib() { ldconfig -p 2>/dev/null | grep -q "$1"; }
have_lib 'libpango-1.0.so.0' || missing+=("libpango-1.0-0 libpangoft2-1.0-0")
have_lib 'libharfbuzz-subset.so.0' || missing+=("libharfbuzz-subset0")
if command -v fc-list >/dev/null 2>&1; then
  [ -n "$(fc-list :lang=zh 2>/dev/null | head -1)" ] || missing+=("fonts-noto-cjk")
else
  missing+=("fontconfig fonts-noto-cjk")
fi
# The records' tests read PDFs back with pdftotext and pdffonts.
command -v pdftotext >/dev/null 2>&1 && command -v pdffonts >/dev/null 2>&1 || missing+=("poppler-utils")
# The browser tests drive Debian's Chromium (Playwright's own download is not used) and need
# npm for axe-core.
[ -x /usr/bin/chromium ] || missing+=("chromium")
command -v npm >/dev/null 2>&1 || missing+=("npm")
if [ ${#missing[@]} -gt 0 ]; then
  echo "System packages missing (PDF rendering, Chinese text and the browser tests need them):" >&2
  echo "  sudo apt-get install -y ${missing[*]}" >&2
  [ "${STRICT_SYSTEM_CHECK:-0}" = "1" ] && exit 1
fi
exit 0
