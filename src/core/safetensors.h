/* safetensors checkpoints: the format PyTorch and Hugging Face use, so files move both
 * ways between lurn and Python (DESIGN.md, "Checkpoints are data, not a heap dump").
 *
 *   [8 bytes: N, little-endian u64] [N bytes: JSON header] [data section]
 *
 * The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]}
 * (byte offsets into the data section) plus an optional "__metadata__" string map. Data
 * is raw little-endian, row-major. Nothing in a file is trusted: every length, offset,
 * shape and string is validated before use, and data is copied out element by element,
 * so a misaligned tensor is fine. Errors name the file, the tensor and the byte offset. */
#ifndef LURN_SAFETENSORS_H
#define LURN_SAFETENSORS_H

#include "core.h"

/* Headers larger than this are refused before any allocation (the Python library
 * uses the same 100 MB limit). */
#define LT_ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000)

typedef struct {
  char *name;
  lt_tensor *t; /* owned by the file; set to NULL after taking it */
} lt_st_tensor;

typedef struct {
  char *key, *value;
} lt_st_meta;

/* A loaded file: tensors in data-section order, metadata in header order. */
typedef struct {
  size_t n;
  lt_st_tensor *tensors;
  size_t nmeta;
  lt_st_meta *meta;
} lt_st_file;

/* Write n named tensors (any geometry; written contiguously) and nmeta metadata pairs
 * to path, atomically: a temporary file in the same directory is written, flushed,
 * fsync'd and renamed over path, so on any failure an existing file is left intact.
 * The layout is deterministic whatever the order given: tensors by dtype size
 * (largest first, so every tensor is naturally aligned), then by name, as the Python
 * library does. F32, I64 and BOOL are written. Returns 0, or -1 with c->err set. */
int lt_st_save(lt_ctx *c, const char *path, size_t n, const char *const *names,
               lt_tensor *const *ts, size_t nmeta, const char *const *keys,
               const char *const *values);

/* The same bytes into a malloc'd buffer (*out, *len): for tests and fuzzing. */
int lt_st_serialize(lt_ctx *c, size_t n, const char *const *names, lt_tensor *const *ts,
                    size_t nmeta, const char *const *keys, const char *const *values,
                    uint8_t **out, size_t *len);

/* Read and validate a whole file. Reads F32, F64, F16, BF16 (as float32), I64, I32, U8
 * (as int64) and BOOL. Returns NULL with c->err set on any problem. */
lt_st_file *lt_st_load(lt_ctx *c, const char *path);

/* Parse a file image held in memory; label names it in error messages. */
lt_st_file *lt_st_parse(lt_ctx *c, const char *label, const uint8_t *buf, size_t len);

/* Frees the file and every tensor still owned by it. NULL is fine. */
void lt_st_free(lt_st_file *f);

#endif
