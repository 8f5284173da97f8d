#include "buildinfo.h"

// scripts/stamp-revision writes revision.h (not in git) before release builds.
#if __has_include("revision.h")
#include "revision.h"
#endif

#ifndef CHATMAILD_GIT_REVISION
#define CHATMAILD_GIT_REVISION "unknown"
#endif

const char *chatmaild_git_revision(void) { return CHATMAILD_GIT_REVISION; }

#ifndef CMDEPLOY_VERSION_STAMP_B64
#define CMDEPLOY_VERSION_STAMP_B64 ""
#endif

const char *cmdeploy_version_stamp_b64(void) { return CMDEPLOY_VERSION_STAMP_B64; }
