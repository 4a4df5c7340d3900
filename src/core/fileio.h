/* Whole-file reads and atomic writes shared by the data readers and writers (npy.c,
 * idx.c, csv.c). Every message starts with the caller's label, e.g. "read_npy 'x.npy'",
 * so an error always names the operation and the file. */
#ifndef LURN_FILEIO_H
#define LURN_FILEIO_H

#include <stdarg.h>
#include <stdio.h>

#include "core.h"

/* Read the regular file at path into a malloc'd buffer (*buf, *len; the caller frees).
 * Returns 0, or -1 with "<label>: cannot open: ..." (or similar) in c->err. */
int lt_read_file(lt_ctx *c, const char *label, const char *path, uint8_t **buf, size_t *len);

/* One byte range of a file being written. */
typedef struct {
  const void *p;
  size_t n;
} lt_span;

/* Write the spans, in order, to path atomically: a temporary file next to it is written,
 * flushed, fsync'd and renamed over path, so on any failure an existing file is left
 * intact and no temporary file remains. Returns 0, or -1 with c->err set. */
int lt_write_file_atomic(lt_ctx *c, const char *label, const char *path, const lt_span *parts,
                         int nparts);

/* The same for content produced by emit(c, f, ud), which writes to f and returns 0, or -1
 * with the reason (without the label) in c->err: for writers that stream large data. */
typedef int (*lt_emit_fn)(lt_ctx *c, FILE *f, void *ud);
int lt_write_file_atomic_with(lt_ctx *c, const char *label, const char *path, lt_emit_fn emit,
                              void *ud);

/* The bytes p[0..n) as text for an error message: printable ASCII as is, anything else
 * as \xNN, cut short with "..." to fit cap. Returns out. */
char *lt_quote_bytes(char *out, size_t cap, const void *p, size_t n);

/* "<op> '<path>': <fmt...>" into c->err (path cut at 300 bytes): every reader's error.
 * Returns -1. */
int lt_vfail_file(lt_ctx *c, const char *op, const char *path, const char *fmt, va_list ap);

/* "<op> '<path>'" (path cut at 300 bytes) into buf, for error messages. */
const char *lt_file_label(char *buf, size_t n, const char *op, const char *path);

#endif
