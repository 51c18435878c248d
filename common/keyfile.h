/*
 * keyfile.h - the chain signing key on disk: 64 hex digits (an optional 0x,
 * an optional trailing newline) in a regular file owned by the user reading
 * it, mode 0600 or 0400.  Anything else is refused with a message naming the
 * path and what is wrong, as ssh refuses a private key others can read.
 */
#ifndef QUORATE_KEYFILE_H
#define QUORATE_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#define KEYFILE_KEY_LEN 32

/* Read and check PATH.  0 with key filled, or -1 with err set ("PATH: ...")
 * and key zeroed.  The caller wipes key with keyfile_wipe after use. */
int keyfile_read(const char *path, uint8_t key[KEYFILE_KEY_LEN],
		 char *err, size_t errlen);

/* Overwrite key material in a way the compiler cannot drop. */
void keyfile_wipe(void *p, size_t n);

#endif
