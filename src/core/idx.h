/* IDX files, the format of MNIST and Fashion-MNIST, plain or gzip-compressed:
 *
 *   0x00 0x00 type ndims   [ndims x u32 big-endian dims]   data (big-endian, row-major)
 *   type: 0x08 ubyte, 0x09 sbyte, 0x0B short, 0x0C int, 0x0D float, 0x0E double
 *
 * Compression is detected from the gzip magic bytes (1f 8b), not the file name, and may
 * span several gzip members. Integer types become int64 and float types float32; as =
 * LT_F32 reads integer types straight into float32 instead (what image loaders want:
 * 60,000 MNIST images are 188 MB as float32 but 376 MB as int64). Every size is checked
 * before any allocation: the dims' product must not overflow, must match a plain file
 * exactly, and must be within what the compressed bytes can expand to (deflate's
 * maximum ratio is 1032:1); a gzip stream must end exactly after the data and pass its
 * CRC check. */
#ifndef LURN_IDX_H
#define LURN_IDX_H

#include "core.h"

#define LT_IDX_NATURAL (-1) /* int64 for integer data, float32 for float data */

/* as: LT_IDX_NATURAL, LT_F32 or LT_I64 (integer data only). Errors read "read_idx '<path>': <problem>". */
lt_tensor *lt_idx_load(lt_ctx *c, const char *path, int as);
/* A file image (plain or gzip) in memory; name stands for the file in error messages. */
lt_tensor *lt_idx_parse(lt_ctx *c, const char *name, const uint8_t *buf, size_t len, int as);

#endif
