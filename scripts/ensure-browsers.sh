#!/usr/bin/env bash
# The e2e suites and the benchmark drive Debian's browsers (no browser downloads here):
# chromium (Playwright), firefox-esr (puppeteer-core over WebDriver BiDi) and WebKitGTK's
# MiniBrowser through WebKitWebDriver under Xvfb. Installs the missing ones with apt-get
# when we may (root), in one apt run.
set -euo pipefail
missing=()
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
[ -x "${FIREFOX_PATH:-/usr/bin/firefox-esr}" ] || missing+=(firefox-esr)
[ -x "${WEBKIT_DRIVER_PATH:-/usr/bin/WebKitWebDriver}" ] || missing+=(webkit2gtk-driver)
if [ -z "${MINIBROWSER_PATH:-}" ] && ! compgen -G "/usr/lib/*/webkit2gtk-4.1/MiniBrowser" >/dev/null; then
  missing+=(webkit2gtk-driver) # its libwebkit2gtk-4.1-0 dependency ships MiniBrowser
fi
[ -n "${DISPLAY:-}" ] || command -v Xvfb >/dev/null || missing+=(xvfb)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "installing Debian's ${missing[*]} with apt-get" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  exit 0
fi
echo "missing browsers: ${missing[*]}. Install them (Debian/Ubuntu: sudo apt-get install ${missing[*]})" >&2
echo "or point CHROMIUM_PATH, FIREFOX_PATH, WEBKIT_DRIVER_PATH, MINIBROWSER_PATH at them." >&2
exit 1
