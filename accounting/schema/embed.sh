#!/bin/sh
# embed.sh - turn accounting/schema/NNN_name.sql into a C table of
# migrations (schema_sql.c), so that quorated carries its schema and needs
# no installed data files.  Usage: embed.sh FILE.sql... > schema_sql.c
set -eu
cat <<'HDR'
/* Generated from accounting/schema/NNN_name.sql by embed.sh: do not edit. */
#include "config.h"

#include <stddef.h>

#include "store.h"

const struct schema_migration schema_migrations[] = {
HDR
for f in "$@"; do
	base=$(basename "$f" .sql)
	num=${base%%_*}
	case "$num" in
	''|*[!0-9]*) echo "embed.sh: $f: name must start with a number (NNN_name.sql)" >&2; exit 1 ;;
	esac
	printf '\t{ %d, "%s",\n' "$(expr "$num" + 0)" "$base"
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t  "/' -e 's/$/\\n"/' "$f"
	printf '\t},\n'
done
cat <<'FTR'
	{ 0, NULL, NULL },
};
FTR
