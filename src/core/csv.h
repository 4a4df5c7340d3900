/* CSV reader for numeric tables: the selected columns of every record become a float32
 * tensor [rows, columns].
 *
 * The dialect is RFC 4180's, leniently: LF, CRLF or CR line ends, the last one optional;
 * fields may be quoted ("a ""b""", and a quoted field may span lines); a UTF-8 BOM is
 * skipped; empty lines are skipped. Every record must have as many fields as the first
 * (the header, when there is one). Selected cells must be numbers as C's strtof reads
 * them in the "C" locale whatever the process locale (decimal point '.', optional
 * exponent, inf and nan allowed; hex floats refused), with spaces around them allowed.
 * Columns not selected may hold any text. Errors name the file, the line (1-based, of
 * the file), the column (1-based, with its header name) and the offending text. */
#ifndef LURN_CSV_H
#define LURN_CSV_H

#include "core.h"

/* One selected column: by header name, or (name NULL) by 0-based index. */
typedef struct {
  const char *name;
  int64_t index;
} lt_csv_col;

typedef struct {
  int header;           /* the first record holds the column names */
  char delimiter;       /* ',' usually; not '"', '\r' or '\n' */
  size_t ncols;         /* number of selected columns; 0 selects every column */
  const lt_csv_col *cols;
} lt_csv_opts;

typedef struct {
  lt_tensor *t;  /* float32 [rows, ncols]; set to NULL after taking it */
  size_t ncols;
  char **names;  /* the selected columns' header names; NULL without a header */
} lt_csv;

/* Errors read "read_csv '<path>': line L, column C ('name'): <problem>". */
lt_csv *lt_csv_load(lt_ctx *c, const char *path, const lt_csv_opts *o);
/* A file image in memory; name stands for the file in error messages. */
lt_csv *lt_csv_parse(lt_ctx *c, const char *name, const uint8_t *buf, size_t len,
                     const lt_csv_opts *o);
/* Frees the result and the tensor still owned by it. NULL is fine. */
void lt_csv_free(lt_csv *r);

#endif
