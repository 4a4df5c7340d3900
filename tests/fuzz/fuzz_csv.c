/* libFuzzer target for the CSV reader (build: see the end of CMakeLists.txt, or run
 * scripts/fuzz). Each input is a plain CSV, read with every option set of
 * csv_fuzz_opts.h (header or not, delimiters, selection by name and by index).
 *
 * Any input must either fail with a message naming the file or parse; ASan/UBSan catch
 * the rest. A result must have the selected number of columns, and names exactly when
 * there is a header. Crashes found are kept in tests/fuzz/corpus_csv/, which
 * test_data_formats replays in the normal suite. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "csv.h"
#include "csv_fuzz_opts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lt_ctx *c;
  if (!c) c = lt_ctx_new();
  for (size_t k = 0; k < CSV_FUZZ_NOPTS; k++) {
    const lt_csv_opts *o = &csv_fuzz_opts[k];
    lt_csv *r = lt_csv_parse(c, "fuzz", data, size, o);
    if (!r && strncmp(c->err, "read_csv 'fuzz': ", 17)) { /* every error names the file */
      fprintf(stderr, "error message without the file name: %s\n", c->err);
      abort();
    }
    if (r && (r->t->ndim != 2 || (o->ncols && (size_t)r->t->shape[1] != o->ncols) ||
              r->ncols != (size_t)r->t->shape[1] || !r->names != !o->header)) {
      fprintf(stderr, "option set %zu: inconsistent result %s\n", k, LT_SHAPE(r->t));
      abort();
    }
    lt_csv_free(r);
  }
  return 0;
}
