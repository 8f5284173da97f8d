#!/bin/sh
# /new and /cgi-bin/newemail.py (run by fcgiwrap): propose new credentials.
exec /usr/local/bin/chatmaild newemail /usr/local/lib/chatmaild/chatmail.ini
