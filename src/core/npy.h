/* NumPy .npy files (format versions 1.0, 2.0 and 3.0), as np.save writes them:
 *
 *   "\x93NUMPY" major minor  [header length: u16 LE (1.0) or u32 LE (2.0, 3.0)]
 *   header: a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 *           padded with spaces and a final '\n'
 *   data:   the raw elements in C (row-major) order
 *
 * Read: '<f4' and '<f8' become float32 (f8 rounded, as torch's .float()); the integer
 * dtypes i1 i2 i4 i8 u1 u2 u4 become int64 (so a '|u1' image is int64, not uint8: lurn
 * has no uint8 dtype, and int64 is what labels and indices use); '|b1' becomes bool.
 * Big-endian ('>') data is converted. Refused with a clear message: Fortran order (when
 * it changes the layout), object arrays (pickled Python objects, never unpickled),
 * structured dtypes, u8 (may not fit int64) and every other dtype. Every length and
 * shape is checked against the file: no over-read, no absurd allocation.
 *
 * Write: float32 as '<f4', int64 as '<i8', bool as '|b1', version 1.0, byte for byte
 * what NumPy 1.24's np.save writes (header padded so the data starts at a multiple of
 * 64), atomically (temp file + fsync + rename). */
#ifndef LURN_NPY_H
#define LURN_NPY_H

#include "core.h"

/* Errors read "read_npy '<path>': <problem>" (with the byte offset where it helps). */
lt_tensor *lt_npy_load(lt_ctx *c, const char *path);
/* A file image in memory; name stands for the file in error messages. */
lt_tensor *lt_npy_parse(lt_ctx *c, const char *name, const uint8_t *buf, size_t len);

/* Errors read "save_npy '<path>': <problem>". Any geometry (written contiguously). */
int lt_npy_save(lt_ctx *c, const char *path, const lt_tensor *t);
/* The same bytes into a malloc'd buffer (*out, *len): for tests and fuzzing. */
int lt_npy_serialize(lt_ctx *c, const lt_tensor *t, uint8_t **out, size_t *len);

#endif
