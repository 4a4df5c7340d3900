/* libFuzzer target for the IDX reader, plain and gzip (build: see the end of
 * CMakeLists.txt, or run scripts/fuzz).
 *
 * Any input must either fail with a message naming the file or parse; ASan/UBSan catch
 * the rest, and the fuzzer's memory limit catches an allocation the file cannot back.
 * Read both ways (natural dtype and float32), an input gives the same verdict, shape
 * and values (except that an int64 tensor may exceed the size limit a float32 one
 * stays under). Crashes found are kept in tests/fuzz/corpus_idx/, which
 * test_data_formats replays in the normal suite. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lt_ctx *c;
  if (!c) c = lt_ctx_new();
  lt_tensor *t = lt_idx_parse(c, "fuzz", data, size, LT_IDX_NATURAL);
  if (!t && strncmp(c->err, "read_idx 'fuzz': ", 17)) { /* every error names the file */
    fprintf(stderr, "error message without the file name: %s\n", c->err);
    abort();
  }
  char first[sizeof c->err];
  memcpy(first, c->err, sizeof first);
  lt_tensor *f = lt_idx_parse(c, "fuzz", data, size, LT_F32);
  /* only the size limit may tell them apart: int64 elements are twice float32's */
  int size_only = !t && f && strstr(first, "is too large");
  if ((!t != !f && !size_only) || (t && (!lt_same_shape(t, f) || f->dtype != LT_F32))) {
    fprintf(stderr, "natural and float32 reads disagree: %s / %s\n", first, c->err);
    abort();
  }
  for (int64_t i = 0; t && i < lt_numel(t); i++) {
    float a = t->dtype == LT_F32 ? lt_f32(t)[i] : (float)lt_i64(t)[i], b = lt_f32(f)[i];
    if (a != b && !(a != a && b != b)) {
      fprintf(stderr, "element %lld differs: %g vs %g\n", (long long)i, a, b);
      abort();
    }
  }
  lt_release(t);
  lt_release(f);
  return 0;
}
