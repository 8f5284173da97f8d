// cmark-gfm (Debian: libcmark-gfm-dev, libcmark-gfm-extensions-dev):
// CommonMark plus the GitHub extensions (tables, autolinks, strikethrough).
#include <cmark-gfm.h>
#include <cmark-gfm-core-extensions.h>
