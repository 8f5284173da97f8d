#ifndef CHATMAILD_BUILDINFO_H
#define CHATMAILD_BUILDINFO_H
/// The git revision passed at build time with
/// -Xcc -DCHATMAILD_GIT_REVISION='"<rev>"', or "unknown".
const char *chatmaild_git_revision(void);
#endif
