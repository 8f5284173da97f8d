#ifndef CHATMAILD_BUILDINFO_H
#define CHATMAILD_BUILDINFO_H
/// The git revision stamped at build time by scripts/stamp-revision, or "unknown".
const char *chatmaild_git_revision(void);
/// cmdeploy's version stamp (commit and diff) in base64, or "" when unstamped.
const char *cmdeploy_version_stamp_b64(void);
#endif
