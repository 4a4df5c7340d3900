/* Thread count: OpenBLAS's pool (one per process, so the last setter wins) and the
 * count our own loops may use, kept per context. */
#include "core.h"

#include <cblas.h>

void lt_set_num_threads(lt_ctx *c, int n) {
  if (n < 1) n = 1;
  openblas_set_num_threads(n);
  c->num_threads = n;
}

int lt_get_num_threads(const lt_ctx *c) {
  return c->num_threads > 0 ? c->num_threads : openblas_get_num_threads();
}
