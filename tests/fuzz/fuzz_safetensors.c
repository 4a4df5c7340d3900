/* libFuzzer target for the safetensors reader (build: see the end of CMakeLists.txt).
 *
 * Any input must either fail with a message or parse; ASan/UBSan catch the rest. A file
 * that parses must also survive a round trip: written back by the writer (which must
 * accept everything the reader produced) and read again, it gives identical tensors
 * and metadata. Crashes found are kept in tests/fuzz/corpus_safetensors/, which
 * test_safetensors replays in the normal suite. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "safetensors.h"

static void roundtrip(lt_ctx *c, lt_st_file *f) {
  const char **names = malloc((f->n + 1) * sizeof *names), **keys = malloc((f->nmeta + 1) * sizeof *keys);
  const char **vals = malloc((f->nmeta + 1) * sizeof *vals);
  lt_tensor **ts = malloc((f->n + 1) * sizeof *ts);
  for (size_t i = 0; i < f->n; i++) names[i] = f->tensors[i].name, ts[i] = f->tensors[i].t;
  for (size_t i = 0; i < f->nmeta; i++) keys[i] = f->meta[i].key, vals[i] = f->meta[i].value;
  uint8_t *buf;
  size_t len;
  if (lt_st_serialize(c, f->n, names, ts, f->nmeta, keys, vals, &buf, &len) < 0) {
    fprintf(stderr, "writer refused what the reader produced: %s\n", c->err);
    abort();
  }
  lt_st_file *g = lt_st_parse(c, "roundtrip", buf, len);
  if (!g || g->n != f->n || g->nmeta != f->nmeta) {
    fprintf(stderr, "round trip failed: %s\n", g ? "count differs" : c->err);
    abort();
  }
  for (size_t i = 0; i < f->n; i++) { /* g is in layout order: find by name */
    const lt_tensor *a = f->tensors[i].t, *b = NULL;
    for (size_t j = 0; j < g->n && !b; j++)
      if (!strcmp(g->tensors[j].name, f->tensors[i].name)) b = g->tensors[j].t;
    size_t nbytes = (size_t)lt_numel(a) * lt_dtype_size(a->dtype);
    if (!b || a->dtype != b->dtype || !lt_same_shape(a, b) || memcmp(lt_ptr(a), lt_ptr(b), nbytes)) {
      fprintf(stderr, "round trip changed tensor '%s'\n", f->tensors[i].name);
      abort();
    }
  }
  for (size_t i = 0; i < f->nmeta; i++) {
    int found = 0;
    for (size_t j = 0; j < g->nmeta; j++)
      found |= !strcmp(g->meta[j].key, f->meta[i].key) && !strcmp(g->meta[j].value, f->meta[i].value);
    if (!found) {
      fprintf(stderr, "round trip changed metadata '%s'\n", f->meta[i].key);
      abort();
    }
  }
  lt_st_free(g);
  free(buf);
  free(names), free(keys), free(vals), free(ts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lt_ctx *c;
  if (!c) c = lt_ctx_new();
  lt_st_file *f = lt_st_parse(c, "fuzz", data, size);
  if (f) roundtrip(c, f);
  else if (strncmp(c->err, "load 'fuzz': ", 13)) { /* every error names the file */
    fprintf(stderr, "error message without the file name: %s\n", c->err);
    abort();
  }
  lt_st_free(f);
  return 0;
}
