/* The interrupt flag long kernels poll, and tensor lifetime across contexts: the
 * context is reference counted by its storages, and borrowed storage is never freed. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "core.h"

#include "check.h"

static volatile sig_atomic_t flag;

/* op fails with "interrupted" and takes the flag when it is set, and runs normally
 * otherwise */
#define EXPECT_STOPS(c, name, expr)                                                     \
  do {                                                                                  \
    flag = 1;                                                                           \
    lt_tensor *r_ = (expr);                                                             \
    CHECK(r_ == NULL, "%s ran through a set interrupt flag", name);                     \
    CHECK(strcmp((c)->err, "interrupted") == 0, "%s: error '%s'", name, (c)->err);      \
    CHECK(flag == 0, "%s left the flag set", name);                                     \
    lt_release(r_);                                                                     \
    r_ = (expr);                                                                        \
    CHECK(r_ != NULL, "%s failed without an interrupt: %s", name, (c)->err);            \
    lt_release(r_);                                                                     \
  } while (0)

static void test_polling(void) {
  lt_ctx *c = lt_ctx_new();
  c->interrupt = &flag;
  int64_t big[2] = {2048, 1024}, col[2] = {2048, 1}, row[2] = {1, 1024};
  lt_tensor *x = lt_full(c, LT_F32, 2, big, 0.5);
  lt_tensor *a = lt_full(c, LT_F32, 2, col, 1.0), *b = lt_full(c, LT_F32, 2, row, 2.0);
  /* broadcasting makes 2048 runs of 1024: polled between runs */
  EXPECT_STOPS(c, "add (broadcast)", lt_binary(c, LT_ADD, a, b));
  lt_tensor *cond = lt_binary(c, LT_GT, x, a);
  EXPECT_STOPS(c, "where", lt_where(c, cond, x, a));
  EXPECT_STOPS(c, "tanh", lt_unary(c, LT_TANH, x));
  EXPECT_STOPS(c, "sum over rows", lt_sum_dim(c, x, 1, 0));
  EXPECT_STOPS(c, "sum over columns", lt_sum_dim(c, x, 0, 0));
  int64_t bs[3] = {64, 8, 8}, ws[3] = {1, 8, 8};
  lt_tensor *bm = lt_full(c, LT_F32, 3, bs, 1.0), *w = lt_full(c, LT_F32, 3, ws, 1.0);
  EXPECT_STOPS(c, "batched matmul", lt_matmul(c, bm, w));
  /* a small op needs no poll: a stale flag is left for the caller (the Lua hook) */
  int64_t one = 4;
  lt_tensor *s1 = lt_full(c, LT_F32, 1, &one, 1.0);
  flag = 1;
  lt_tensor *s2 = lt_binary(c, LT_ADD, s1, s1);
  CHECK(s2 != NULL, "a 4-element add stopped");
  flag = 0;
  lt_release(s1), lt_release(s2), lt_release(bm), lt_release(w), lt_release(cond);
  lt_release(x), lt_release(a), lt_release(b);
  CHECK(c->live_bytes == 0, "%zu bytes still live", c->live_bytes);
  lt_ctx_free(c);
}

static void test_lifetime(void) {
  /* a tensor outlives its context's owner; the context goes with the last storage */
  lt_ctx *c = lt_ctx_new();
  int64_t n = 3;
  lt_tensor *t = lt_full(c, LT_F32, 1, &n, 2.0);
  lt_tensor *v = lt_alias(c, t, 1, &n, t->stride, 0);
  CHECK(c->refs == 2, "owner + one storage, got %d refs", c->refs);
  lt_ctx_free(c); /* the owner lets go first */
  CHECK(lt_f32(t)[2] == 2.0f, "data after the owner let go");
  lt_release(t);
  CHECK(lt_f32(v)[0] == 2.0f, "the alias keeps the storage");
  lt_release(v); /* frees the storage, then the context (ASan checks both) */

  /* borrowed memory: used in place, never freed, not counted */
  c = lt_ctx_new();
  float host[6] = {1, 2, 3, 4, 5, 6};
  int64_t shape[2] = {2, 3};
  lt_tensor *b = lt_from_borrowed(c, LT_F32, 2, shape, host);
  CHECK(b && lt_f32(b) == host, "borrowed tensor points at the host buffer");
  CHECK(c->live_bytes == 0, "borrowed bytes are the host's, got %zu", c->live_bytes);
  host[4] = 50;
  CHECK(lt_get(b, 4) == 50, "host writes are seen");
  lt_tensor *s = lt_sum_all(c, b);
  CHECK(s && lt_f32(s)[0] == 66, "sum of borrowed data");
  lt_tensor *bt = lt_transpose(c, b, 0, 1);
  CHECK(lt_fill_(c, bt, 0.0) == 0 && host[5] == 0, "writes through a view reach the host");
  lt_release(s), lt_release(bt), lt_release(b); /* host[] is on the stack: never freed */
  int64_t neg = -1;
  CHECK(lt_from_borrowed(c, LT_F32, 1, &neg, host) == NULL, "negative size refused");
  CHECK(lt_from_borrowed(c, LT_F32, 1, &n, NULL) == NULL, "NULL data refused");
  lt_ctx_free(c);
}

int main(void) {
  test_polling();
  test_lifetime();
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("interrupt and lifetime: all checks passed\n");
  return 0;
}
