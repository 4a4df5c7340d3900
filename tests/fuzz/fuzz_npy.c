/* libFuzzer target for the .npy reader (build: see the end of CMakeLists.txt, or run
 * scripts/fuzz).
 *
 * Any input must either fail with a message naming the file or parse; ASan/UBSan catch
 * the rest. A file that parses must survive a round trip: written back by the writer
 * and read again, it gives the same dtype, shape and bytes. Crashes found are kept in
 * tests/fuzz/corpus_npy/, which test_data_formats replays in the normal suite. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "npy.h"

static void roundtrip(lt_ctx *c, const lt_tensor *t) {
  uint8_t *buf;
  size_t len;
  if (lt_npy_serialize(c, t, &buf, &len) < 0) {
    fprintf(stderr, "writer refused what the reader produced: %s\n", c->err);
    abort();
  }
  lt_tensor *u = lt_npy_parse(c, "roundtrip", buf, len);
  size_t nbytes = (size_t)lt_numel(t) * lt_dtype_size(t->dtype);
  if (!u || u->dtype != t->dtype || !lt_same_shape(u, t) || memcmp(lt_ptr(u), lt_ptr(t), nbytes)) {
    fprintf(stderr, "round trip changed the tensor: %s\n", u ? "different" : c->err);
    abort();
  }
  lt_release(u);
  free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lt_ctx *c;
  if (!c) c = lt_ctx_new();
  lt_tensor *t = lt_npy_parse(c, "fuzz", data, size);
  if (t) roundtrip(c, t);
  else if (strncmp(c->err, "read_npy 'fuzz': ", 17)) { /* every error names the file */
    fprintf(stderr, "error message without the file name: %s\n", c->err);
    abort();
  }
  lt_release(t);
  return 0;
}
