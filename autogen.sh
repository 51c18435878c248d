#!/bin/sh
# Regenerate configure and the Makefile.in files after editing configure.ac or
# a Makefile.am.  Both are committed; a release build needs no autotools.
set -e
cd "$(dirname "$0")"
autoreconf --force --install --warnings=all
rm -rf autom4te.cache
