#!/bin/bash
# configure names the Debian package of a missing dependency.  The machine has
# every package installed, so the test hides one pkg-config module at a time
# (PKG_CONFIG_LIBDIR pointing at a copy of the .pc files without it) and runs
# configure in a copy of the source tree.
. "$(dirname "$0")/lib.sh"

src=$T_TMP/src
mkdir -p "$src"
(cd "$T_TOP" && git ls-files -z | xargs -0 tar cf - 2>/dev/null) | tar xf - -C "$src"
[ -x "$src/configure" ] || { t_fail "copy of the source tree has configure"; exit 1; }

pcdirs=$(pkg-config --variable pc_path pkg-config)
check_missing() {	# check_missing PC-MODULE DEBIAN-PACKAGE
	local module=$1 pkg=$2 pc=$T_TMP/pc-$1 d out
	mkdir -p "$pc"
	for d in ${pcdirs//:/ }; do
		[ -d "$d" ] && cp -n "$d"/*.pc "$pc"/ 2>/dev/null
	done
	rm -f "$pc/$module.pc"
	out=$(cd "$src" && PKG_CONFIG_LIBDIR=$pc ./configure --without-slurm-source --without-cuda 2>&1)
	local status=$?
	if [ $status -ne 0 ] && printf '%s' "$out" | grep -q "apt-get install $pkg"; then
		t_pass "configure without $module fails naming $pkg"
	else
		t_fail "configure without $module fails naming $pkg" "exit $status" "$(printf '%s' "$out" | tail -n 3)"
	fi
}
check_missing libpq libpq-dev
check_missing json-c libjson-c-dev
check_missing libsecp256k1 libsecp256k1-dev

out=$(cd "$src" && ./configure --with-slurm-source=/nonexistent 2>&1)
t_match "configure with a wrong --with-slurm-source says how to prepare one" "$out" "scripts/slurm-source"
t_done
