/* The reader options fuzz_csv runs every input with, shared with test_data_formats,
 * which replays tests/fuzz/corpus_csv/ the same way. A corpus file is a plain CSV. */
#ifndef LURN_CSV_FUZZ_OPTS_H
#define LURN_CSV_FUZZ_OPTS_H

#include "csv.h"

static const lt_csv_col csv_fuzz_cols[] = {{"a", 0}, {NULL, 1}, {NULL, 0}, {"\"q\"", 0}};

static const lt_csv_opts csv_fuzz_opts[] = {
  {1, ',', 0, NULL},              /* header, every column */
  {0, ',', 0, NULL},              /* no header */
  {1, ';', 0, NULL},              /* another delimiter */
  {0, '\t', 2, csv_fuzz_cols + 1}, /* columns 2 and 1 by index */
  {1, ',', 4, csv_fuzz_cols},     /* by name, by index, and a name that needs quotes */
};

#define CSV_FUZZ_NOPTS (sizeof csv_fuzz_opts / sizeof *csv_fuzz_opts)

#endif
