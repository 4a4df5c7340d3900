/* The real Fashion-MNIST files (Debian's dataset-fashion-mnist): shapes, label range and
 * balance, and the load time of the 60,000-image training set, which must stay well
 * under a second of CPU time. Exits 77 (ctest's SKIP_RETURN_CODE) when the dataset is
 * absent; LURN_FASHION_MNIST names another directory. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "idx.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

#include "check.h"

static double now(clockid_t clk) {
  struct timespec ts;
  clock_gettime(clk, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Loads one split; returns the CPU seconds it took (and the wall seconds in *wall). CPU
 * time is what the limit applies to: on a busy machine (a parallel ctest, other builds)
 * wall time measures the neighbours. */
static double split(lt_ctx *c, const char *dir, const char *prefix, int64_t n, double *wall) {
  char ipath[1024], lpath[1024];
  snprintf(ipath, sizeof ipath, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
  snprintf(lpath, sizeof lpath, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
  double w0 = now(CLOCK_MONOTONIC), t0 = now(CLOCK_PROCESS_CPUTIME_ID);
  lt_tensor *x = lt_idx_load(c, ipath, LT_F32); /* what data.fashion_mnist reads */
  lt_tensor *y = lt_idx_load(c, lpath, LT_IDX_NATURAL);
  double dt = now(CLOCK_PROCESS_CPUTIME_ID) - t0;
  *wall = now(CLOCK_MONOTONIC) - w0;
  CHECK(x && y, "%s", c->err);
  if (x && y) {
    CHECK(x->dtype == LT_F32 && x->ndim == 3 && x->shape[0] == n && x->shape[1] == 28 && x->shape[2] == 28,
          "images %s", LT_SHAPE(x));
    CHECK(y->dtype == LT_I64 && y->ndim == 1 && y->shape[0] == n, "labels %s", LT_SHAPE(y));
    int64_t count[10] = {0}, bad = 0;
    for (int64_t i = 0; i < n; i++) {
      int64_t l = lt_i64(y)[i];
      if (l < 0 || l > 9) bad++;
      else count[l]++;
    }
    CHECK(bad == 0, "%lld labels outside 0..9", (long long)bad);
    for (int k = 0; k < 10; k++) CHECK(count[k] == n / 10, "class %d has %lld images", k, (long long)count[k]);
    float lo = 255, hi = 0;
    const float *p = lt_f32(x);
    for (int64_t i = 0; i < n * 784; i++) lo = p[i] < lo ? p[i] : lo, hi = p[i] > hi ? p[i] : hi;
    CHECK(lo == 0 && hi == 255, "pixel range [%g, %g]", lo, hi);
  }
  lt_release(x);
  lt_release(y);
  return dt;
}

int main(void) {
  const char *dir = getenv("LURN_FASHION_MNIST");
  if (!dir) dir = "/usr/share/datasets/fashion-mnist";
  char probe[1024];
  snprintf(probe, sizeof probe, "%s/train-images-idx3-ubyte.gz", dir);
  if (access(probe, R_OK) != 0) {
    printf("test_fashion_mnist: skipped: %s is absent (apt-get install dataset-fashion-mnist)\n", probe);
    return 77;
  }
  lt_ctx *c = lt_ctx_new();
  double wtrain, wtest, train = split(c, dir, "train", 60000, &wtrain), test = split(c, dir, "t10k", 10000, &wtest);
  /* a sanitizer build instruments every conversion loop: allow it more time */
  double limit = SANITIZED ? 10.0 : 1.0;
  printf("test_fashion_mnist: train images + labels loaded in %.3f s CPU (%.3f s wall), "
         "test in %.3f s CPU (%.3f s wall); limit %.0f s CPU\n", train, wtrain, test, wtest, limit);
  CHECK(train < limit, "loading the training set took %.3f s of CPU time", train);
  CHECK(c->live_bytes == 0, "%zu tensor bytes leaked", c->live_bytes);
  lt_ctx_free(c);
  if (failures) fprintf(stderr, "test_fashion_mnist: %d checks failed\n", failures);
  return failures != 0;
}
