/* Reductions (sum, mean, max, min, argmax, all, any), softmax and the broadcast
 * reduction that backward passes use. A reduction along dim views the contiguous
 * input as [outer, n, inner]. */
#include "core.h"

#include <math.h>
#include <string.h>

static void split3(const lt_tensor *x, int d, int64_t *outer, int64_t *n, int64_t *inner) {
  *outer = 1, *inner = 1;
  for (int i = 0; i < d; i++) *outer *= x->shape[i];
  for (int i = d + 1; i < x->ndim; i++) *inner *= x->shape[i];
  *n = x->ndim ? x->shape[d] : 1;
}

/* output shape of a reduction along d */
static int reduced_shape(const lt_tensor *x, int d, int keepdim, int64_t *shape) {
  int k = 0;
  for (int i = 0; i < x->ndim; i++) {
    if (i != d) shape[k++] = x->shape[i];
    else if (keepdim) shape[k++] = 1;
  }
  return k;
}

/* g (shape of the reduced output) back to a contiguous tensor of x's shape, divided by
 * `divisor` (the count, for mean: a division, as PyTorch, not a multiply by 1/n) */
static lt_tensor *expand_back(lt_ctx *c, lt_tensor *g, const lt_node *n, double divisor) {
  const lt_tensor *x = n->in[0];
  int d = (int)n->iv[0], keepdim = (int)n->iv[1], all = (int)n->iv[2];
  lt_tensor *gv;
  if (all || keepdim || x->ndim == 0) {
    int64_t ones[LT_MAXDIM];
    for (int i = 0; i < x->ndim; i++) ones[i] = all ? 1 : (i == d ? 1 : x->shape[i]);
    gv = lt_reshape(c, g, x->ndim, ones, 0);
  } else {
    gv = lt_unsqueeze(c, g, d);
  }
  if (!gv) return NULL;
  lt_tensor *out = lt_empty(c, LT_F32, x->ndim, x->shape);
  if (out && lt_copy_(c, out, gv) < 0) {
    lt_release(out);
    out = NULL;
  }
  lt_release(gv);
  if (out && divisor != 1.0) {
    float *p = lt_f32(out), d = (float)divisor;
    for (int64_t i = 0, m = lt_numel(out); i < m; i++) p[i] /= d;
  }
  return out;
}

static int sum_backward(lt_ctx *c, lt_node *n, lt_tensor *g, lt_tensor **gin) {
  gin[0] = expand_back(c, g, n, n->dv[0]);
  return gin[0] ? 0 : -1;
}

static lt_tensor *record_sum(lt_ctx *c, lt_tensor *out, lt_tensor *x, int d, int keepdim,
                             int all, double divisor, const char *op) {
  lt_node *node;
  if (lt_record(c, out, op, sum_backward, 1, &x, &node) < 0) {
    lt_release(out);
    return NULL;
  }
  if (node) node->iv[0] = d, node->iv[1] = keepdim, node->iv[2] = all, node->dv[0] = divisor;
  return out;
}

static lt_tensor *sum_impl(lt_ctx *c, lt_tensor *x, int d, int keepdim, int all, int mean) {
  const char *op = mean ? "mean" : "sum";
  if (mean && x->dtype != LT_F32)
    return lt_fail(c, "mean: input dtype %s is not floating point; call :float() first",
                   lt_dtype_name(x->dtype));
  lt_dtype od = x->dtype == LT_F32 ? LT_F32 : LT_I64;
  lt_tensor *xc = x->dtype == od ? lt_contiguous_raw(c, x) : lt_to_dtype_raw(c, x, od);
  if (!xc) return NULL;
  int64_t shape[LT_MAXDIM], outer, n, inner;
  int nd = all ? (keepdim ? x->ndim : 0) : reduced_shape(x, d, keepdim, shape);
  if (all)
    for (int i = 0; i < nd; i++) shape[i] = 1;
  if (all) outer = 1, n = lt_numel(x), inner = 1;
  else split3(x, d, &outer, &n, &inner);
  lt_tensor *out = lt_empty(c, od, nd, shape);
  if (!out) {
    lt_release(xc);
    return NULL;
  }
  double scale = mean ? 1.0 / (double)n : 1.0;
  if (od == LT_F32) {
    const float *px = lt_f32(xc);
    float *po = lt_f32(out);
    if (inner == 1) { /* rows: accumulate in double for accuracy */
      for (int64_t o = 0; o < outer; o++) {
        if (lt_interrupted(c)) goto interrupted;
        double acc = 0;
        for (int64_t k = 0; k < n; k++) acc += px[o * n + k];
        po[o] = (float)(acc * scale);
      }
    } else {
      memset(po, 0, (size_t)(outer * inner) * sizeof *po);
      for (int64_t o = 0; o < outer; o++)
        for (int64_t k = 0; k < n; k++) {
          if (lt_interrupted(c)) goto interrupted;
          const float *row = px + (o * n + k) * inner;
          float *dst = po + o * inner;
          for (int64_t i = 0; i < inner; i++) dst[i] += row[i];
        }
      if (mean)
        for (int64_t i = 0; i < outer * inner; i++) po[i] = (float)(po[i] * scale);
    }
  } else {
    const int64_t *px = lt_i64(xc);
    int64_t *po = lt_i64(out);
    for (int64_t o = 0; o < outer; o++)
      for (int64_t i = 0; i < inner; i++) {
        uint64_t acc = 0; /* wraps on overflow, as the integer add does */
        for (int64_t k = 0; k < n; k++) acc += (uint64_t)px[(o * n + k) * inner + i];
        po[o * inner + i] = (int64_t)acc;
      }
  }
  lt_release(xc);
  return od == LT_F32 ? record_sum(c, out, x, d, keepdim, all, mean ? (double)n : 1.0, op) : out;
interrupted:
  lt_release(xc);
  lt_release(out);
  return NULL;
}

lt_tensor *lt_sum_all(lt_ctx *c, lt_tensor *x) { return sum_impl(c, x, 0, 0, 1, 0); }
lt_tensor *lt_mean_all(lt_ctx *c, lt_tensor *x) { return sum_impl(c, x, 0, 0, 1, 1); }

lt_tensor *lt_sum_dim(lt_ctx *c, lt_tensor *x, int64_t dim, int keepdim) {
  int d = lt_wrap_dim(c, "sum", dim, x->ndim);
  return d < 0 ? NULL : sum_impl(c, x, d, keepdim, x->ndim == 0, 0);
}

lt_tensor *lt_mean_dim(lt_ctx *c, lt_tensor *x, int64_t dim, int keepdim) {
  int d = lt_wrap_dim(c, "mean", dim, x->ndim);
  return d < 0 ? NULL : sum_impl(c, x, d, keepdim, x->ndim == 0, 1);
}

/* ---- max / min ---- */
/* x (contiguous) gets g scattered to the positions in idx along dim; others zero */
static int maxmin_backward(lt_ctx *c, lt_node *n, lt_tensor *g, lt_tensor **gin) {
  const lt_tensor *x = n->in[0], *idx = n->saved[0];
  int d = (int)n->iv[0], all = (int)n->iv[2];
  lt_tensor *gx = lt_full(c, LT_F32, x->ndim, x->shape, 0.0);
  lt_tensor *gc = gx ? lt_contiguous_raw(c, g) : NULL;
  if (!gc) {
    lt_release(gx);
    return -1;
  }
  float *po = lt_f32(gx);
  const float *pg = lt_f32(gc);
  const int64_t *pi = lt_i64(idx);
  if (all) {
    po[pi[0]] = pg[0];
  } else {
    int64_t outer, m, inner;
    split3(x, d, &outer, &m, &inner);
    for (int64_t o = 0; o < outer; o++)
      for (int64_t i = 0; i < inner; i++)
        po[(o * m + pi[o * inner + i]) * inner + i] = pg[o * inner + i];
  }
  lt_release(gc);
  gin[0] = gx;
  return 0;
}

/* better(v, best): strictly greater (or less); a NaN wins and stays, as in PyTorch */
#define BETTER(v, best, is_max) \
  ((v) != (v) ? (best) == (best) : (is_max) ? (v) > (best) : (v) < (best))

static void maxmin_rows(const lt_tensor *xc, int64_t outer, int64_t n, int64_t inner,
                        int is_max, double *vals, int64_t *idx) {
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      int64_t bi = 0;
      double best = lt_get(xc, o * n * inner + i);
      if (xc->dtype == LT_F32) {
        const float *p = lt_f32(xc) + o * n * inner + i;
        for (int64_t k = 1; k < n; k++) {
          float v = p[k * inner];
          if (BETTER((double)v, best, is_max)) best = v, bi = k;
        }
      } else if (xc->dtype == LT_I64) { /* exactly: as doubles, values past 2^53 would tie */
        const int64_t *p = lt_i64(xc) + o * n * inner + i;
        for (int64_t k = 1; k < n; k++)
          if (is_max ? p[k * inner] > p[bi * inner] : p[k * inner] < p[bi * inner]) bi = k;
        best = (double)p[bi * inner];
      } else {
        for (int64_t k = 1; k < n; k++) {
          double v = lt_get(xc, (o * n + k) * inner + i);
          if (BETTER(v, best, is_max)) best = v, bi = k;
        }
      }
      if (vals) vals[o * inner + i] = best;
      idx[o * inner + i] = bi;
    }
}

int lt_maxmin_dim(lt_ctx *c, lt_tensor *x, int64_t dim, int keepdim, int is_max,
                  lt_tensor **values, lt_tensor **indices) {
  const char *op = values ? (is_max ? "max" : "min") : (is_max ? "argmax" : "argmin");
  int d = lt_wrap_dim(c, op, dim, x->ndim);
  if (d < 0) return -1;
  if (x->ndim && x->shape[d] == 0) {
    lt_fail(c, "%s: cannot reduce over an empty dim %d of shape %s", op, d, LT_SHAPE(x));
    return -1;
  }
  int64_t shape[LT_MAXDIM], outer, n, inner;
  int nd = reduced_shape(x, d, keepdim, shape);
  split3(x, d, &outer, &n, &inner);
  lt_tensor *xc = lt_contiguous_raw(c, x);
  lt_tensor *idx = xc ? lt_empty(c, LT_I64, nd, shape) : NULL;
  lt_tensor *val = idx && values ? lt_empty(c, x->dtype, nd, shape) : NULL;
  if (!idx || (values && !val)) goto fail;
  maxmin_rows(xc, outer, n, inner, is_max, NULL, lt_i64(idx));
  if (val) {
    size_t esz = lt_dtype_size(x->dtype); /* the element itself: int64 exactly */
    for (int64_t o = 0; o < outer; o++)
      for (int64_t i = 0; i < inner; i++)
        memcpy(lt_ptr(val) + (o * inner + i) * (int64_t)esz,
               lt_ptr(xc) + ((o * n + lt_i64(idx)[o * inner + i]) * inner + i) * (int64_t)esz, esz);
    if (x->dtype == LT_F32) {
      lt_node *node;
      if (lt_record(c, val, op, maxmin_backward, 1, &x, &node) < 0) goto fail;
      if (node) {
        node->iv[0] = d, node->iv[2] = 0;
        node->saved[0] = idx;
        lt_retain(idx);
      }
    }
  }
  lt_release(xc);
  if (values) *values = val;
  if (indices) *indices = idx;
  else lt_release(idx);
  return 0;
fail:
  lt_release(xc), lt_release(idx), lt_release(val);
  return -1;
}

static int argext_all(lt_ctx *c, lt_tensor *x, int is_max, const char *op, int64_t *at,
                      lt_tensor **xc) {
  if (lt_numel(x) == 0) {
    lt_fail(c, "%s: the tensor is empty (shape %s)", op, LT_SHAPE(x));
    return -1;
  }
  if (!(*xc = lt_contiguous_raw(c, x))) return -1;
  maxmin_rows(*xc, 1, lt_numel(x), 1, is_max, NULL, at);
  return 0;
}

lt_tensor *lt_maxmin_all(lt_ctx *c, lt_tensor *x, int is_max) {
  const char *op = is_max ? "max" : "min";
  int64_t at;
  lt_tensor *xc;
  if (argext_all(c, x, is_max, op, &at, &xc) < 0) return NULL;
  size_t esz = lt_dtype_size(x->dtype);
  lt_tensor *out = lt_empty(c, x->dtype, 0, NULL); /* the element itself: int64 exactly */
  if (out) memcpy(lt_ptr(out), lt_ptr(xc) + at * (int64_t)esz, esz);
  lt_tensor *idx = out ? lt_scalar(c, LT_I64, (double)at) : NULL;
  lt_release(xc);
  if (!idx) {
    lt_release(out);
    return NULL;
  }
  lt_node *node = NULL;
  if (x->dtype == LT_F32 && lt_record(c, out, op, maxmin_backward, 1, &x, &node) < 0) {
    lt_release(out), lt_release(idx);
    return NULL;
  }
  if (node) {
    node->iv[2] = 1;
    node->saved[0] = idx;
  } else {
    lt_release(idx);
  }
  return out;
}

lt_tensor *lt_argmax_all(lt_ctx *c, lt_tensor *x, int is_max) {
  int64_t at;
  lt_tensor *xc;
  if (argext_all(c, x, is_max, is_max ? "argmax" : "argmin", &at, &xc) < 0) return NULL;
  lt_release(xc);
  return lt_scalar(c, LT_I64, (double)at);
}

lt_tensor *lt_all_any(lt_ctx *c, lt_tensor *x, int is_all) {
  lt_tensor *b = lt_to_dtype_raw(c, x, LT_BOOL);
  if (!b) return NULL;
  const uint8_t *p = lt_u8(b);
  int r = is_all;
  for (int64_t i = 0, n = lt_numel(b); i < n; i++)
    if (is_all ? !p[i] : p[i]) {
      r = !is_all;
      break;
    }
  lt_release(b);
  return lt_scalar(c, LT_BOOL, r);
}

/* ---- softmax / log_softmax ---- */
static void softmax_rows(const float *x, float *y, int64_t outer, int64_t n, int64_t inner,
                         int log) {
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      const float *px = x + o * n * inner + i;
      float *py = y + o * n * inner + i;
      float m = -INFINITY;
      for (int64_t k = 0; k < n; k++) m = px[k * inner] > m ? px[k * inner] : m;
      if (m == -INFINITY) m = 0; /* an all -inf row: avoid inf - inf */
      double s = 0;
      for (int64_t k = 0; k < n; k++) s += exp((double)px[k * inner] - m);
      if (log) { /* x - m - log(s) in double: m + log(s) rounded to float loses digits */
        double ls = log1p(s - 1.0);
        for (int64_t k = 0; k < n; k++) py[k * inner] = (float)((double)px[k * inner] - m - ls);
      } else {
        float inv = (float)(1.0 / s);
        for (int64_t k = 0; k < n; k++) py[k * inner] = expf(px[k * inner] - m) * inv;
      }
    }
}

static int softmax_backward(lt_ctx *c, lt_node *n, lt_tensor *g, lt_tensor **gin) {
  const lt_tensor *y = n->saved[0];
  int d = (int)n->iv[0], log = (int)n->iv[1];
  int64_t outer, m, inner;
  split3(y, d, &outer, &m, &inner);
  lt_tensor *gc = lt_contiguous_raw(c, g);
  lt_tensor *gx = gc ? lt_empty(c, LT_F32, y->ndim, y->shape) : NULL;
  if (!gx) {
    lt_release(gc);
    return -1;
  }
  const float *pg = lt_f32(gc), *py = lt_f32(y);
  float *po = lt_f32(gx);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      int64_t base = o * m * inner + i;
      double s = 0;
      for (int64_t k = 0; k < m; k++)
        s += log ? pg[base + k * inner] : pg[base + k * inner] * py[base + k * inner];
      for (int64_t k = 0; k < m; k++) {
        int64_t j = base + k * inner;
        po[j] = log ? pg[j] - expf(py[j]) * (float)s : py[j] * (pg[j] - (float)s);
      }
    }
  lt_release(gc);
  gin[0] = gx;
  return 0;
}

lt_tensor *lt_softmax(lt_ctx *c, lt_tensor *x, int64_t dim, int log) {
  const char *op = log ? "log_softmax" : "softmax";
  int d = lt_wrap_dim(c, op, dim, x->ndim);
  if (d < 0) return NULL;
  lt_tensor *xc = x->dtype == LT_F32 ? lt_contiguous_raw(c, x) : lt_to_dtype_raw(c, x, LT_F32);
  lt_tensor *out = xc ? lt_empty(c, LT_F32, x->ndim, x->shape) : NULL;
  if (!out) {
    lt_release(xc);
    return NULL;
  }
  int64_t outer, n, inner;
  split3(x, d, &outer, &n, &inner);
  softmax_rows(lt_f32(xc), lt_f32(out), outer, n, inner, log);
  lt_release(xc);
  lt_node *node;
  if (lt_record(c, out, op, softmax_backward, 1, &x, &node) < 0) goto fail;
  if (node) {
    node->iv[0] = d, node->iv[1] = log;
    if (!(node->saved[0] = lt_detach(c, out))) goto fail;
  }
  return out;
fail:
  lt_release(out);
  return NULL;
}

/* ---- broadcast reduction: out[shape] = sum of g over the broadcast dims ---- */
static void acc_inner(char **p, const int64_t *s, int64_t n, void *ud) {
  (void)ud;
  if (s[0] == 0) {
    double acc = 0;
    for (int64_t i = 0; i < n; i++) acc += *(const float *)(p[1] + i * s[1]);
    *(float *)p[0] += (float)acc;
  } else {
    for (int64_t i = 0; i < n; i++) *(float *)(p[0] + i * s[0]) += *(const float *)(p[1] + i * s[1]);
  }
}

lt_tensor *lt_sum_to(lt_ctx *c, lt_tensor *g, int ndim, const int64_t *shape) {
  if (g->ndim == ndim && memcmp(g->shape, shape, (size_t)ndim * sizeof *shape) == 0) {
    lt_retain(g);
    return g;
  }
  lt_tensor *out = lt_full(c, LT_F32, ndim, shape, 0.0);
  if (!out) return NULL;
  int64_t bs[2][LT_MAXDIM];
  if (lt_broadcast_strides(out, g->ndim, g->shape, bs[0]) < 0) {
    lt_release(out);
    return lt_fail(c, "sum_to: gradient shape %s does not reduce to %s", LT_SHAPE(g),
                   lt_shape_str((char[128]){0}, 128, ndim, shape));
  }
  for (int i = 0; i < g->ndim; i++) bs[1][i] = g->stride[i] * 4;
  char *base[2] = {lt_ptr(out), lt_ptr(g)};
  lt_foreach(g->ndim, g->shape, 2, base, bs, acc_inner, NULL);
  return out;
}
