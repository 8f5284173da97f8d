// libqrencode (Debian: libqrencode-dev): QR code symbol encoding.
#include <qrencode.h>
