/*
 * h5_closed.h - for the HDF5 fuzz targets: after each input, every HDF5
 * identifier the trainer's readers opened must be closed again.
 *
 * LeakSanitizer cannot tell a handle our code forgot from libhdf5's own
 * leaks: Debian's libhdf5 has no frame pointers, so the stack of every
 * block it allocates ends inside libhdf5, whoever called it.  lsan.supp
 * leaves those stacks out; this check is what catches a forgotten
 * H5Fclose, H5Dclose, H5Aclose or H5Sclose of ours.
 */
#ifndef QUORATE_FUZZ_H5_CLOSED_H
#define QUORATE_FUZZ_H5_CLOSED_H

#include <stdio.h>
#include <stdlib.h>
#include <hdf5.h>

static inline void h5_check_all_closed(void)
{
	ssize_t open = H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL);

	if (open != 0) {
		fprintf(stderr, "fuzz: %zd HDF5 identifier(s) left open after an input\n", open);
		abort();
	}
}

#endif
