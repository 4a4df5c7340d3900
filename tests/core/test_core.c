/* C unit tests of the core: geometry, broadcasting, kernels against slow references,
 * the generator, autograd plumbing and error reporting. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#include "check.h"

static lt_tensor *mk(lt_ctx *c, int ndim, const int64_t *shape, const float *v) {
  lt_tensor *t = lt_empty(c, LT_F32, ndim, shape);
  memcpy(lt_f32(t), v, (size_t)lt_numel(t) * sizeof(float));
  return t;
}

static void test_rng(void) {
  lt_rng r;
  lt_rng_seed(&r, 5489u);
  CHECK(lt_rng_u32(&r) == 3499211612u, "MT19937 reference output");
  /* NumPy: np.random.seed(42); np.random.rand() == 0.3745401188473625 */
  lt_rng_seed(&r, 42u);
  double d = lt_rng_double(&r);
  CHECK(fabs(d - 0.3745401188473625) < 1e-16, "got %.17g", d);
  /* np.random.seed(0); np.random.randn() == 1.764052345967664 */
  lt_rng_seed(&r, 0u);
  double g = lt_rng_gauss(&r);
  CHECK(fabs(g - 1.764052345967664) < 1e-12, "got %.17g", g);
  for (int i = 0; i < 1000; i++) CHECK(lt_rng_interval(&r, 6) <= 6, "interval bound");
}

static void test_views(lt_ctx *c) {
  int64_t sh[2] = {2, 3};
  float v[6] = {0, 1, 2, 3, 4, 5};
  lt_tensor *a = mk(c, 2, sh, v);
  lt_tensor *t = lt_transpose(c, a, 0, 1);
  CHECK(t->shape[0] == 3 && t->shape[1] == 2 && !lt_is_contiguous(t), "transpose geometry");
  CHECK(t->st == a->st, "transpose shares storage");
  CHECK(lt_get(t, 1) == 3 && lt_get(t, 2) == 1, "transpose values");
  lt_tensor *n = lt_narrow(c, a, 1, 1, 2);
  CHECK(lt_get(n, 0) == 1 && lt_get(n, 3) == 5, "narrow values");
  int64_t flat[1] = {-1};
  lt_tensor *r = lt_reshape(c, t, 1, flat, 0); /* copies: t is not contiguous */
  CHECK(r && r->st != a->st && lt_get(r, 1) == 3, "reshape of a transpose copies");
  CHECK(lt_reshape(c, t, 1, flat, 1) == NULL && strstr(c->err, "view"), "view refuses: %s", c->err);
  int64_t ex[3] = {4, 2, 3};
  lt_tensor *e = lt_expand(c, a, 3, ex);
  CHECK(e && e->stride[0] == 0 && lt_get(e, 6 + 4) == 4, "expand");
  lt_release(a), lt_release(t), lt_release(n), lt_release(r), lt_release(e);
}

static void test_broadcast(lt_ctx *c) {
  int64_t sa[2] = {3, 1}, sb[1] = {4};
  float va[3] = {1, 2, 3}, vb[4] = {10, 20, 30, 40};
  lt_tensor *a = mk(c, 2, sa, va), *b = mk(c, 1, sb, vb);
  lt_tensor *s = lt_binary(c, LT_ADD, a, b);
  CHECK(s->ndim == 2 && s->shape[0] == 3 && s->shape[1] == 4, "broadcast shape");
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 4; j++) CHECK(lt_get(s, i * 4 + j) == va[i] + vb[j], "value %d %d", i, j);
  int64_t sc[1] = {3};
  lt_tensor *bad = mk(c, 1, sc, va);
  CHECK(lt_binary(c, LT_MUL, b, bad) == NULL, "incompatible shapes refused");
  CHECK(strstr(c->err, "mul") && strstr(c->err, "[4]") && strstr(c->err, "[3]"), "message: %s", c->err);
  lt_tensor *g = lt_sum_to(c, s, 2, sa);
  CHECK(g && lt_get(g, 0) == 4 * 1 + 100 && lt_get(g, 2) == 4 * 3 + 100, "sum_to");
  lt_release(a), lt_release(b), lt_release(s), lt_release(bad), lt_release(g);
}

/* the slow, obvious reference for matmul */
static void naive_mm(const lt_tensor *a, const lt_tensor *b, double *out) {
  int64_t M = a->shape[0], K = a->shape[1], N = b->shape[1];
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      double acc = 0;
      for (int64_t k = 0; k < K; k++) acc += lt_get(a, i * K + k) * lt_get(b, k * N + j);
      out[i * N + j] = acc;
    }
}

static void test_matmul(lt_ctx *c) {
  int64_t dims[][3] = {{1, 1, 1}, {3, 5, 2}, {32, 20, 128}, {7, 1, 9}, {1, 17, 1}, {64, 64, 64}};
  for (size_t k = 0; k < sizeof dims / sizeof *dims; k++) {
    int64_t M = dims[k][0], K = dims[k][1], N = dims[k][2];
    for (int ta = 0; ta < 2; ta++)
      for (int tb = 0; tb < 2; tb++) {
        /* build operands, optionally as transposed views of the other layout */
        int64_t sa[2] = {ta ? K : M, ta ? M : K}, sb[2] = {tb ? N : K, tb ? K : N};
        lt_tensor *ra = lt_randn(c, 2, sa), *rb = lt_randn(c, 2, sb);
        lt_tensor *a = ta ? lt_transpose(c, ra, 0, 1) : (lt_retain(ra), ra);
        lt_tensor *b = tb ? lt_transpose(c, rb, 0, 1) : (lt_retain(rb), rb);
        lt_tensor *p = lt_matmul(c, a, b);
        double *ref = malloc((size_t)(M * N) * sizeof *ref);
        naive_mm(a, b, ref);
        double worst = 0;
        for (int64_t i = 0; i < M * N; i++) {
          double e = fabs(lt_get(p, i) - ref[i]) / (1 + fabs(ref[i]));
          if (e > worst) worst = e;
        }
        CHECK(worst < 1e-5, "matmul %lldx%lldx%lld ta=%d tb=%d err %g", (long long)M,
              (long long)K, (long long)N, ta, tb, worst);
        free(ref);
        lt_release(ra), lt_release(rb), lt_release(a), lt_release(b), lt_release(p);
      }
  }
  int64_t s1[2] = {2, 3}, s2[2] = {4, 5};
  lt_tensor *a = lt_rand(c, 2, s1), *b = lt_rand(c, 2, s2);
  CHECK(lt_matmul(c, a, b) == NULL && strstr(c->err, "[2, 3]") && strstr(c->err, "[4, 5]"),
        "misaligned: %s", c->err);
  lt_release(a), lt_release(b);
}

static void test_reductions(lt_ctx *c) {
  int64_t sh[2] = {2, 3};
  float v[6] = {1, 5, 3, 4, 2, 6};
  lt_tensor *a = mk(c, 2, sh, v);
  lt_tensor *s0 = lt_sum_dim(c, a, 0, 0), *s1 = lt_sum_dim(c, a, -1, 1), *m = lt_mean_all(c, a);
  CHECK(lt_get(s0, 0) == 5 && lt_get(s0, 2) == 9, "sum dim 0");
  CHECK(s1->ndim == 2 && s1->shape[1] == 1 && lt_get(s1, 1) == 12, "sum dim -1 keepdim");
  CHECK(fabs(lt_get(m, 0) - 3.5) < 1e-6, "mean");
  lt_tensor *vals, *idx;
  CHECK(lt_maxmin_dim(c, a, 1, 0, 1, &vals, &idx) == 0, "max dim");
  CHECK(lt_get(vals, 0) == 5 && lt_get(idx, 0) == 1 && lt_get(idx, 1) == 2, "max values/indices");
  lt_tensor *sm = lt_softmax(c, a, 1, 0);
  double row = lt_get(sm, 0) + lt_get(sm, 1) + lt_get(sm, 2);
  CHECK(fabs(row - 1) < 1e-6, "softmax rows sum to 1");
  CHECK(lt_sum_dim(c, a, 2, 0) == NULL && strstr(c->err, "dim 2 out of range"), "%s", c->err);
  lt_release(a), lt_release(s0), lt_release(s1), lt_release(m), lt_release(vals);
  lt_release(idx), lt_release(sm);
}

static void test_autograd(lt_ctx *c) {
  int64_t sh[1] = {3};
  float v[3] = {1, 2, 3};
  lt_tensor *x = mk(c, 1, sh, v);
  x->requires_grad = 1;
  lt_tensor *y = lt_binary(c, LT_MUL, x, x); /* y = x^2, dy/dx = 2x */
  lt_tensor *s = lt_sum_all(c, y);
  CHECK(s->grad_fn != NULL, "tape recorded");
  CHECK(lt_backward(c, s, NULL, 0) == 0, "backward: %s", c->err);
  for (int i = 0; i < 3; i++) CHECK(lt_get(x->grad, i) == 2 * v[i], "grad %d", i);
  CHECK(lt_backward(c, s, NULL, 0) < 0 && strstr(c->err, "retain_graph"), "%s", c->err);
  CHECK(lt_backward(c, y, NULL, 0) < 0, "non-scalar backward refused");
  lt_set_grad_enabled(c, 0);
  lt_tensor *z = lt_binary(c, LT_MUL, x, x);
  CHECK(z->grad_fn == NULL && !z->requires_grad, "no tape under no_grad");
  lt_set_grad_enabled(c, 1);
  lt_release(x), lt_release(y), lt_release(s), lt_release(z);
}

static void test_cascade_sum(void) {
  /* exact on integers, and close to a double sum on random data (any length/width) */
  enum { N = 5000 };
  static float x[N];
  for (int i = 0; i < N; i++) x[i] = (float)(i % 97);
  double exact = 0;
  for (int i = 0; i < N; i++) exact += x[i];
  CHECK(lt_cascade_sum(x, N) == (float)exact, "integer sum %g vs %g", lt_cascade_sum(x, N), exact);
  lt_rng r;
  lt_rng_seed(&r, 7);
  for (int i = 0; i < N; i++) x[i] = (float)lt_rng_gauss(&r);
  int64_t shapes[][2] = {{N, 1}, {7, 1}, {200, 3}, {200, 5}, {100, 13}, {50, 32}, {40, 100}};
  for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
    int64_t rows = shapes[k][0], cols = shapes[k][1];
    float out[128];
    lt_cascade_sum_rows(x, rows, cols, out);
    for (int64_t j = 0; j < cols; j++) {
      double ref = 0, mag = 0;
      for (int64_t i = 0; i < rows; i++) ref += x[i * cols + j], mag += fabs(x[i * cols + j]);
      CHECK(fabs(out[j] - ref) <= 1e-6 * mag + 1e-6, "column %lld of [%lld, %lld]: %g vs %g",
            (long long)j, (long long)rows, (long long)cols, out[j], ref);
    }
  }
}

static void test_limits(lt_ctx *c) {
  int64_t huge[1] = {(int64_t)1e12};
  CHECK(lt_empty(c, LT_F32, 1, huge) == NULL && strstr(c->err, "too large"), "%s", c->err);
  int64_t neg[1] = {-2};
  CHECK(lt_empty(c, LT_F32, 1, neg) == NULL && strstr(c->err, "negative"), "%s", c->err);
  CHECK(c->live_bytes == 0, "all tensors released (%zu bytes live)", c->live_bytes);
}

/* alloc.c: freed buffers come back for the same size class; the cache is bounded and
 * trimmed. Sanitizer builds bypass it (use-after-free must stay visible). */
static void test_buffer_cache(void) {
  lt_ctx *c = lt_ctx_new();
  int64_t sh[1] = {1000}, sh2[1] = {1010}, big[1] = {(int64_t)1 << 26}; /* big: 256 MiB */
  lt_tensor *a = lt_empty(c, LT_F32, 1, sh);
  void *pa = lt_f32(a);
  lt_release(a);
#if defined(__SANITIZE_ADDRESS__)
  CHECK(c->cached_bytes == 0, "cached %zu", c->cached_bytes);
  (void)pa, (void)sh2, (void)big;
#else
  CHECK(c->cached_bytes >= 4000 && c->cached_bytes <= 5000, "cached %zu", c->cached_bytes); /* <= 25% over */
  lt_tensor *b = lt_empty(c, LT_F32, 1, sh2);                 /* same class: reused */
  CHECK(lt_f32(b) == pa && c->cached_bytes == 0, "not reused (cached %zu)", c->cached_bytes);
  CHECK(c->live_bytes == 4040, "live %zu", c->live_bytes);
  lt_release(b);
  lt_tensor *h = lt_empty(c, LT_F32, 1, big);
  lt_release(h); /* over LT_CACHE_MAX_BUFFER: not kept */
  CHECK(c->cached_bytes < ((size_t)32 << 20), "cached %zu", c->cached_bytes);
  lt_cache_trim(c);
  CHECK(c->cached_bytes == 0 && !c->spare[0].head && !c->spare[1].head, "not trimmed");
#endif
  lt_ctx_free(c);
}

int main(void) {
  lt_ctx *c = lt_ctx_new();
  test_buffer_cache();
  test_rng();
  test_views(c);
  test_broadcast(c);
  test_matmul(c);
  test_reductions(c);
  test_autograd(c);
  test_cascade_sum();
  test_limits(c);
  lt_ctx_free(c);
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  puts("all core checks passed");
  return 0;
}
