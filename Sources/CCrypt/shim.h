// crypt_r from libxcrypt (Debian package libcrypt-dev; libcrypt1 is essential).
#include <crypt.h>
