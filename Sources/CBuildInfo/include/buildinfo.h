#ifndef CHATMAILD_BUILDINFO_H
#define CHATMAILD_BUILDINFO_H
/// The git revision stamped at build time by scripts/stamp-revision, or "unknown".
const char *chatmaild_git_revision(void);
#endif
