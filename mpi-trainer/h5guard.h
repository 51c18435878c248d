/*
 * h5guard.h - an integrity guard in front of libhdf5.  Debian's libhdf5
 * 1.10.8 has memory errors on malformed files (testsuite/fuzz/
 * libhdf5-findings), so quorate-train parses only HDF5 files it wrote
 * itself: each carries, in a 512-byte HDF5 user block, a header with a
 * magic string, a format version, the length of the rest of the file and
 * the SHA-256 of those bytes.  Readers load the whole file, check the
 * header, and only then give the bytes to libhdf5 (its core driver).
 *
 * The header, little-endian, at offset 0 of the file:
 *   0  16 bytes  "quorate-train h5" (H5GUARD_MAGIC, no terminator)
 *  16  u32       format version (H5GUARD_VERSION)
 *  20  u32       0 (reserved)
 *  24  u64       length of the file after the user block
 *  32  32 bytes  SHA-256 of those bytes
 *  64  zeros up to H5GUARD_USERBLOCK; HDF5's superblock follows.
 */
#ifndef QUORATE_TRAIN_H5GUARD_H
#define QUORATE_TRAIN_H5GUARD_H

#include <stddef.h>
#include <stdint.h>

#include <hdf5.h>

#define H5GUARD_USERBLOCK 512
#define H5GUARD_MAGIC "quorate-train h5"
#define H5GUARD_MAGIC_LEN 16
#define H5GUARD_VERSION 1
#define H5GUARD_HEADER_LEN 64

/* A file creation property list with the user block (H5Pclose it), or -1. */
hid_t h5guard_fcpl(void);

/* After libhdf5 closed PATH, written with h5guard_fcpl(): hash the bytes
 * after the user block, write the header into it, fsync the file.  0, or
 * -1 with "PATH: why" in err. */
int h5guard_seal(const char *path, char *err, size_t errlen);

/* Whether IMAGE begins with the magic string (a header, valid or not). */
int h5guard_has_header(const void *image, size_t len);

/* Check IMAGE (a whole file of LEN bytes) against its header: 0, or -1
 * with "NAME: why" in err (no header, other version, length or digest
 * mismatch). */
int h5guard_verify(const void *image, size_t len, const char *name, char *err, size_t errlen);

/* Read the whole of PATH into a malloc'd buffer (*image, *len).  0, or -1
 * with "PATH: why" in err. */
int h5guard_read_file(const char *path, void **image, size_t *len, char *err, size_t errlen);

/* Open IMAGE read-only through HDF5's core driver (it takes a copy; the
 * caller may free IMAGE once this returns).  A file id, or -1 with
 * "NAME: not an HDF5 file image" in err.  No check: h5guard_verify first. */
hid_t h5guard_open_image(const void *image, size_t len, const char *name,
			 char *err, size_t errlen);

#endif
