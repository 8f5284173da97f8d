#include "buildinfo.h"

#ifndef CHATMAILD_GIT_REVISION
#define CHATMAILD_GIT_REVISION "unknown"
#endif

const char *chatmaild_git_revision(void) { return CHATMAILD_GIT_REVISION; }
