/* Elementwise ops with NumPy broadcasting, and their backward passes. */
#include "core.h"
#include "simd.h"

#include <math.h>
#include <stdlib.h>

static const char *binop_name(lt_binop op) {
  static const char *names[] = {"add", "sub", "mul", "div", "pow",
                                "eq",  "ne",  "lt",  "le",  "gt", "ge"};
  return names[op];
}

int lt_broadcast_shape(lt_ctx *c, const char *op, const lt_tensor *a, const lt_tensor *b,
                       int *ndim, int64_t *shape) {
  int n = a->ndim > b->ndim ? a->ndim : b->ndim;
  for (int i = 0; i < n; i++) {
    int ia = i - (n - a->ndim), ib = i - (n - b->ndim);
    int64_t sa = ia >= 0 ? a->shape[ia] : 1, sb = ib >= 0 ? b->shape[ib] : 1;
    if (sa != sb && sa != 1 && sb != 1) {
      lt_fail(c, "%s: shapes %s and %s cannot be broadcast together (dim %d: %lld vs %lld)",
              op, LT_SHAPE(a), LT_SHAPE(b), i, (long long)sa, (long long)sb);
      return -1;
    }
    shape[i] = sa == 1 ? sb : sa;
  }
  *ndim = n;
  return 0;
}

/* ---- kernels: o = f(x, y) over one strided run ---- */
#define BIN_KERNEL(NAME, TI, TO, EXPR)                                            \
  LT_SIMD static void NAME(char **p, const int64_t *s, int64_t n, void *ud) {     \
    (void)ud;                                                                     \
    TO *o = (TO *)p[0];                                                           \
    const TI *x = (const TI *)p[1], *y = (const TI *)p[2];                        \
    const int64_t zi = sizeof(TI), zo = sizeof(TO);                               \
    if (s[0] == zo && s[1] == zi && s[2] == zi) {                                 \
      for (int64_t i = 0; i < n; i++) { TI a = x[i], b = y[i]; o[i] = (TO)(EXPR); } \
    } else if (s[0] == zo && s[1] == zi && s[2] == 0) {                           \
      const TI b = *y;                                                            \
      for (int64_t i = 0; i < n; i++) { TI a = x[i]; o[i] = (TO)(EXPR); }         \
    } else if (s[0] == zo && s[1] == 0 && s[2] == zi) {                           \
      const TI a = *x;                                                            \
      for (int64_t i = 0; i < n; i++) { TI b = y[i]; o[i] = (TO)(EXPR); }         \
    } else {                                                                      \
      for (int64_t i = 0; i < n; i++) {                                           \
        TI a = *(const TI *)(p[1] + i * s[1]), b = *(const TI *)(p[2] + i * s[2]); \
        *(TO *)(p[0] + i * s[0]) = (TO)(EXPR);                                    \
      }                                                                           \
    }                                                                             \
  }

BIN_KERNEL(add_f, float, float, a + b)
BIN_KERNEL(sub_f, float, float, a - b)
BIN_KERNEL(mul_f, float, float, a * b)
BIN_KERNEL(div_f, float, float, a / b)
BIN_KERNEL(pow_f, float, float, powf(a, b))
BIN_KERNEL(add_i, int64_t, int64_t, (int64_t)((uint64_t)a + (uint64_t)b))
BIN_KERNEL(sub_i, int64_t, int64_t, (int64_t)((uint64_t)a - (uint64_t)b))
BIN_KERNEL(mul_i, int64_t, int64_t, (int64_t)((uint64_t)a * (uint64_t)b))
/* integer powers exactly (a double would round past 2^53), wrapping on overflow as the
 * other integer ops (and PyTorch) do; a negative exponent truncates the real result toward
 * zero (0 to a negative power: INT64_MIN, as 1/0 converts) */
static inline int64_t ipow(int64_t a, int64_t b) {
  if (b < 0) return a == 1 ? 1 : a == -1 ? ((b & 1) ? -1 : 1) : a == 0 ? INT64_MIN : 0;
  uint64_t r = 1, x = (uint64_t)a;
  for (uint64_t e = (uint64_t)b; e; e >>= 1) {
    if (e & 1) r *= x;
    x *= x;
  }
  return (int64_t)r;
}
BIN_KERNEL(pow_i, int64_t, int64_t, ipow(a, b))
#define CMP_KERNELS(T, SUF)                     \
  BIN_KERNEL(eq_##SUF, T, uint8_t, a == b)      \
  BIN_KERNEL(ne_##SUF, T, uint8_t, a != b)      \
  BIN_KERNEL(lt_##SUF, T, uint8_t, a < b)       \
  BIN_KERNEL(le_##SUF, T, uint8_t, a <= b)      \
  BIN_KERNEL(gt_##SUF, T, uint8_t, a > b)       \
  BIN_KERNEL(ge_##SUF, T, uint8_t, a >= b)
CMP_KERNELS(float, f)
CMP_KERNELS(int64_t, i)
CMP_KERNELS(uint8_t, b)

static lt_inner_fn binop_kernel(lt_binop op, lt_dtype d) {
  static const lt_inner_fn f[] = {add_f, sub_f, mul_f, div_f, pow_f,
                                  eq_f,  ne_f,  lt_f,  le_f,  gt_f, ge_f};
  static const lt_inner_fn i[] = {add_i, sub_i, mul_i, NULL, pow_i,
                                  eq_i,  ne_i,  lt_i,  le_i,  gt_i, ge_i};
  static const lt_inner_fn b[] = {NULL, NULL, NULL, NULL, NULL,
                                  eq_b, ne_b, lt_b, le_b, gt_b, ge_b};
  return d == LT_F32 ? f[op] : d == LT_I64 ? i[op] : b[op];
}

static int is_compare(lt_binop op) { return op >= LT_EQ; }

/* dtype the op computes in: float wins; integer arithmetic promotes bool to int64;
 * true division is always float */
static lt_dtype compute_dtype(lt_binop op, lt_dtype a, lt_dtype b) {
  if (a == LT_F32 || b == LT_F32 || op == LT_DIV) return LT_F32;
  if (is_compare(op) && a == LT_BOOL && b == LT_BOOL) return LT_BOOL;
  return LT_I64;
}

/* ---- backward passes ---- */
static int grad_to(lt_ctx *c, lt_tensor *g, const lt_tensor *like, lt_tensor **out) {
  *out = lt_sum_to(c, g, like->ndim, like->shape);
  return *out ? 0 : -1;
}

/* gin[i] = sum_to(g op v, in[i].shape); consumes the product */
static int grad_prod(lt_ctx *c, lt_binop op, lt_tensor *g, lt_tensor *v, const lt_tensor *like,
                     lt_tensor **out) {
  lt_tensor *p = lt_binary(c, op, g, v);
  if (!p) return -1;
  int rc = grad_to(c, p, like, out);
  lt_release(p);
  return rc;
}

static int add_backward(lt_ctx *c, lt_node *n, lt_tensor *g, lt_tensor **gin) {
  lt_tensor *a = n->in[0], *b = n->in[1];
  if (a->requires_grad && grad_to(c, g, a, &gin[0]) < 0) return -1;
  if (b->requires_grad) {
    if (grad_to(c, g, b, &gin[1]) < 0) return -1;
    if (n->iv[0] == LT_SUB) {
      lt_tensor *neg = lt_unary(c, LT_NEG, gin[1]);
      if (!neg) return -1;
      lt_release(gin[1]);
      gin[1] = neg;
    }
  }
  return 0;
}

static int mul_backward(lt_ctx *c, lt_node *n, lt_tensor *g, lt_tensor **gin) {
  lt_tensor *a = n->in[0], *b = n->in[1];
  if (a->requires_grad && grad_prod(c, LT_MUL, g, b, a, &gin[0]) < 0) return -1;
  if (b->requires_grad && grad_prod(c, LT_MUL, g, a, b, &gin[1]) < 0) return -1;
  return 0;
}

static int div_backward(lt_ctx *c, lt_node *n, lt_tensor *g, lt_tensor **gin) {
  lt_tensor *a = n->in[0], *b = n->in[1];
  if (a->requires_grad && grad_prod(c, LT_DIV, g, b, a, &gin[0]) < 0) return -1;
  if (b->requires_grad) { /* d(a/b)/db = -a / b^2 */
    lt_tensor *q = lt_binary(c, LT_DIV, a, b);
    lt_tensor *q2 = q ? lt_binary(c, LT_DIV, q, b) : NULL;
    lt_tensor *nq = q2 ? lt_unary(c, LT_NEG, q2) : NULL;
    int rc = nq ? grad_prod(c, LT_MUL, g, nq, b, &gin[1]) : -1;
    lt_release(q), lt_release(q2), lt_release(nq);
    if (rc < 0) return -1;
  }
  return 0;
}

static int pow_backward(lt_ctx *c, lt_node *n, lt_tensor *g, lt_tensor **gin) {
  lt_tensor *a = n->in[0], *b = n->in[1];
  int rc = 0;
  if (a->requires_grad) { /* b * a^(b-1) */
    lt_tensor *bm1 = lt_binary_scalar(c, LT_SUB, b, 1.0, 0);
    lt_tensor *pw = bm1 ? lt_binary(c, LT_POW, a, bm1) : NULL;
    lt_tensor *d = pw ? lt_binary(c, LT_MUL, pw, b) : NULL;
    rc = d ? grad_prod(c, LT_MUL, g, d, a, &gin[0]) : -1;
    lt_release(bm1), lt_release(pw), lt_release(d);
    if (rc < 0) return -1;
  }
  if (b->requires_grad) { /* a^b * log(a) */
    lt_tensor *pw = lt_binary(c, LT_POW, a, b);
    lt_tensor *la = pw ? lt_unary(c, LT_LOG, a) : NULL;
    lt_tensor *d = la ? lt_binary(c, LT_MUL, pw, la) : NULL;
    rc = d ? grad_prod(c, LT_MUL, g, d, b, &gin[1]) : -1;
    lt_release(pw), lt_release(la), lt_release(d);
  }
  return rc;
}

lt_tensor *lt_binary(lt_ctx *c, lt_binop op, lt_tensor *a, lt_tensor *b) {
  int ndim;
  int64_t shape[LT_MAXDIM];
  const char *name = binop_name(op);
  if (lt_broadcast_shape(c, name, a, b, &ndim, shape) < 0) return NULL;
  lt_dtype cd = compute_dtype(op, a->dtype, b->dtype);
  lt_dtype od = is_compare(op) ? LT_BOOL : cd;
  lt_tensor *ac = a, *bc = b, *out = NULL;
  if (a->dtype != cd && !(ac = lt_to_dtype_raw(c, a, cd))) return NULL;
  if (b->dtype != cd && !(bc = lt_to_dtype_raw(c, b, cd))) goto done;
  out = lt_empty(c, od, ndim, shape);
  if (!out) goto done;
  int64_t bs[3][LT_MAXDIM];
  for (int i = 0; i < ndim; i++) bs[0][i] = out->stride[i] * (int64_t)lt_dtype_size(od);
  lt_broadcast_strides(ac, ndim, shape, bs[1]);
  lt_broadcast_strides(bc, ndim, shape, bs[2]);
  char *base[3] = {lt_ptr(out), lt_ptr(ac), lt_ptr(bc)};
  if (lt_foreach_c(c, ndim, shape, 3, base, bs, binop_kernel(op, cd), NULL) < 0) {
    lt_release(out); /* interrupted */
    out = NULL;
    goto done;
  }
  if (od == LT_F32) {
    static const lt_backward_fn bw[] = {add_backward, add_backward, mul_backward,
                                        div_backward, pow_backward};
    lt_node *node;
    lt_tensor *in[2] = {a, b};
    if (lt_record(c, out, name, bw[op], 2, in, &node) < 0) {
      lt_release(out);
      out = NULL;
    } else if (node) {
      node->iv[0] = op;
    }
  }
done:
  if (ac != a) lt_release(ac);
  if (bc && bc != b) lt_release(bc);
  return out;
}

lt_tensor *lt_binary_scalar(lt_ctx *c, lt_binop op, lt_tensor *a, double s, int scalar_first) {
  return lt_binary_num(c, op, a, lt_num_f(s), scalar_first);
}

lt_tensor *lt_binary_num(lt_ctx *c, lt_binop op, lt_tensor *a, lt_num s, int scalar_first) {
  /* an integral number keeps an integer tensor integral (an integer exactly: the scalar
   * goes in as an int64, never through a double); anything else is float */
  if (a->dtype != LT_F32 && !s.is_int && s.d == floor(s.d) && fabs(s.d) < 9.2e18)
    s = lt_num_i((int64_t)s.d);
  lt_dtype d = (a->dtype != LT_F32 && s.is_int) ? LT_I64 : LT_F32;
  if (a->dtype == LT_BOOL && is_compare(op) && s.is_int && (s.i == 0 || s.i == 1)) d = LT_BOOL;
  lt_tensor *st = lt_scalar_num(c, d, s);
  if (!st) return NULL;
  lt_tensor *out = scalar_first ? lt_binary(c, op, st, a) : lt_binary(c, op, a, st);
  lt_release(st);
  return out;
}

/* ---- unary ---- */
static const char *unop_name(lt_unop op) {
  static const char *names[] = {"neg", "exp", "log", "sqrt", "abs",
                                "relu", "sigmoid", "tanh", "round"};
  return names[op];
}

LT_SIMD static void unary_f32(lt_unop op, float *o, const float *x, int64_t n) {
  switch (op) {
  case LT_NEG: for (int64_t i = 0; i < n; i++) o[i] = -x[i]; break;
  case LT_EXP: for (int64_t i = 0; i < n; i++) o[i] = expf(x[i]); break;
  case LT_LOG: for (int64_t i = 0; i < n; i++) o[i] = logf(x[i]); break;
  case LT_SQRT: for (int64_t i = 0; i < n; i++) o[i] = sqrtf(x[i]); break;
  case LT_ABS: for (int64_t i = 0; i < n; i++) o[i] = fabsf(x[i]); break;
  case LT_RELU: for (int64_t i = 0; i < n; i++) o[i] = x[i] > 0.f ? x[i] : 0.f; break;
  case LT_SIGMOID: /* stable for large |x|: never exp of a large positive number */
    for (int64_t i = 0; i < n; i++) {
      float v = x[i];
      if (v >= 0) o[i] = 1.f / (1.f + expf(-v));
      else { float e = expf(v); o[i] = e / (1.f + e); }
    }
    break;
  case LT_TANH: for (int64_t i = 0; i < n; i++) o[i] = tanhf(x[i]); break;
  case LT_ROUND: for (int64_t i = 0; i < n; i++) o[i] = nearbyintf(x[i]); break; /* half to even */
  }
}

/* gx from g and v (the saved input or output, per op); all contiguous float */
LT_SIMD static void unary_grad_f32(lt_unop op, float *gx, const float *g, const float *v, int64_t n) {
  switch (op) {
  case LT_NEG: for (int64_t i = 0; i < n; i++) gx[i] = -g[i]; break;
  case LT_EXP: for (int64_t i = 0; i < n; i++) gx[i] = g[i] * v[i]; break;        /* v = y */
  case LT_LOG: for (int64_t i = 0; i < n; i++) gx[i] = g[i] / v[i]; break;        /* v = x */
  case LT_SQRT: for (int64_t i = 0; i < n; i++) gx[i] = g[i] / (2.f * v[i]); break; /* v = y */
  case LT_ABS: /* v = x; sign(0) = 0 as in PyTorch */
    for (int64_t i = 0; i < n; i++) gx[i] = v[i] > 0 ? g[i] : v[i] < 0 ? -g[i] : 0.f;
    break;
  case LT_RELU: for (int64_t i = 0; i < n; i++) gx[i] = v[i] > 0.f ? g[i] : 0.f; break;
  case LT_SIGMOID: for (int64_t i = 0; i < n; i++) gx[i] = g[i] * (1.f - v[i]) * v[i]; break; /* ATen's order */
  case LT_TANH: for (int64_t i = 0; i < n; i++) gx[i] = g[i] * (1.f - v[i] * v[i]); break;
  case LT_ROUND: for (int64_t i = 0; i < n; i++) gx[i] = 0.f; break;
  }
}

static int saves_output(lt_unop op) {
  return op == LT_EXP || op == LT_SQRT || op == LT_RELU || op == LT_SIGMOID || op == LT_TANH;
}

static int unary_backward(lt_ctx *c, lt_node *n, lt_tensor *g, lt_tensor **gin) {
  lt_unop op = (lt_unop)n->iv[0];
  lt_tensor *v = n->saved[0] ? n->saved[0] : n->in[0];
  lt_tensor *gc = lt_contiguous_raw(c, g), *vc = gc ? lt_contiguous_raw(c, v) : NULL;
  lt_tensor *gx = vc ? lt_empty(c, LT_F32, v->ndim, v->shape) : NULL;
  if (gx) unary_grad_f32(op, lt_f32(gx), lt_f32(gc), lt_f32(vc), lt_numel(gx));
  lt_release(gc), lt_release(vc);
  gin[0] = gx;
  return gx ? 0 : -1;
}

lt_tensor *lt_unary(lt_ctx *c, lt_unop op, lt_tensor *x) {
  if (x->dtype != LT_F32) {
    /* integer negation, abs and round stay integral; the rest compute in float */
    if (op == LT_NEG || op == LT_ABS || op == LT_ROUND) {
      if (x->dtype == LT_BOOL && op == LT_NEG)
        return lt_fail(c, "neg: negation of a bool tensor is not defined; use logical ops");
      lt_tensor *o = lt_to_dtype_raw(c, x, x->dtype);
      if (o && op != LT_ROUND && x->dtype == LT_I64) {
        int64_t *p = lt_i64(o);
        for (int64_t i = 0, n = lt_numel(o); i < n; i++)
          p[i] = op == LT_NEG ? (int64_t)(0 - (uint64_t)p[i]) : p[i] < 0 ? (int64_t)(0 - (uint64_t)p[i]) : p[i];
      }
      return o;
    }
    lt_tensor *xf = lt_to_dtype_raw(c, x, LT_F32);
    if (!xf) return NULL;
    lt_tensor *o = lt_unary(c, op, xf);
    lt_release(xf);
    return o;
  }
  lt_tensor *xc = lt_contiguous_raw(c, x);
  if (!xc) return NULL;
  lt_tensor *out = lt_empty(c, LT_F32, x->ndim, x->shape);
  /* in chunks, polling for Ctrl-C between them */
  for (int64_t i = 0, n = out ? lt_numel(out) : 0, k; i < n && out; i += k) {
    k = n - i < ((int64_t)1 << 20) ? n - i : (int64_t)1 << 20;
    if (lt_interrupted(c)) lt_release(out), out = NULL;
    else unary_f32(op, lt_f32(out) + i, lt_f32(xc) + i, k);
  }
  lt_release(xc);
  if (!out) return NULL;
  lt_node *node;
  if (lt_record(c, out, unop_name(op), unary_backward, 1, &x, &node) < 0) goto fail;
  if (node) {
    node->iv[0] = op;
    if (saves_output(op) && !(node->saved[0] = lt_detach(c, out))) goto fail;
  }
  return out;
fail:
  lt_release(out);
  return NULL;
}

/* ---- clamp ---- */
static int clamp_backward(lt_ctx *c, lt_node *n, lt_tensor *g, lt_tensor **gin) {
  lt_tensor *x = n->in[0];
  lt_tensor *gc = lt_contiguous_raw(c, g), *xc = gc ? lt_contiguous_raw(c, x) : NULL;
  lt_tensor *gx = xc ? lt_empty(c, LT_F32, x->ndim, x->shape) : NULL;
  if (gx) {
    float lo = (float)n->dv[0], hi = (float)n->dv[1], *o = lt_f32(gx);
    const float *pg = lt_f32(gc), *px = lt_f32(xc);
    for (int64_t i = 0, m = lt_numel(gx); i < m; i++)
      o[i] = (px[i] >= lo && px[i] <= hi) ? pg[i] : 0.f;
  }
  lt_release(gc), lt_release(xc);
  gin[0] = gx;
  return gx ? 0 : -1;
}

/* the int64 bound of a clamp: an integer as it is, a double rounded inwards (up for min,
 * down for max); NaN and a bound beyond the int64 range on its open side bound nothing.
 * -1 when no int64 satisfies it (min >= 2^63, max < -2^63). */
static int i64_bound(lt_num v, int is_min, int64_t *out) {
  if (v.is_int) return *out = v.i, 0;
  double r = is_min ? ceil(v.d) : floor(v.d);
  if (r != r || (is_min ? r < -0x1p63 : r >= 0x1p63)) return *out = is_min ? INT64_MIN : INT64_MAX, 0;
  if (is_min ? r >= 0x1p63 : r < -0x1p63) return -1;
  return *out = (int64_t)r, 0;
}

lt_tensor *lt_clamp(lt_ctx *c, lt_tensor *x, double lo, double hi) {
  return lt_clamp_num(c, x, lt_num_f(lo), lt_num_f(hi));
}

lt_tensor *lt_clamp_num(lt_ctx *c, lt_tensor *x, lt_num lo, lt_num hi) {
  if (lo.is_int && hi.is_int ? lo.i > hi.i : lo.d > hi.d)
    return lt_fail(c, "clamp: min %s is greater than max %s", LT_NUM(lo), LT_NUM(hi));
  if (x->dtype != LT_F32) { /* in int64, exactly */
    int64_t ilo, ihi;
    if (i64_bound(lo, 1, &ilo) < 0 || i64_bound(hi, 0, &ihi) < 0) /* would not fit int64 */
      return lt_fail(c, "clamp: bounds (min %s, max %s) out of range for a tensor of dtype %s",
                     LT_NUM(lo), LT_NUM(hi), lt_dtype_name(x->dtype));
    if (ilo > ihi)
      return lt_fail(c, "clamp: no integer lies between min %s and max %s (a tensor of dtype %s)",
                     LT_NUM(lo), LT_NUM(hi), lt_dtype_name(x->dtype));
    lt_tensor *o = lt_to_dtype_raw(c, x, x->dtype == LT_BOOL ? LT_I64 : x->dtype);
    if (!o) return NULL;
    int64_t *p = lt_i64(o);
    for (int64_t i = 0, n = lt_numel(o); i < n; i++) p[i] = p[i] < ilo ? ilo : p[i] > ihi ? ihi : p[i];
    return o;
  }
  lt_tensor *xc = lt_contiguous_raw(c, x);
  lt_tensor *out = xc ? lt_empty(c, LT_F32, x->ndim, x->shape) : NULL;
  if (out) {
    const float *px = lt_f32(xc);
    float *o = lt_f32(out), flo = (float)lo.d, fhi = (float)hi.d;
    for (int64_t i = 0, n = lt_numel(out); i < n; i++) {
      float v = px[i];
      o[i] = v < flo ? flo : v > fhi ? fhi : v; /* NaN passes through */
    }
  }
  lt_release(xc);
  if (!out) return NULL;
  lt_node *node;
  if (lt_record(c, out, "clamp", clamp_backward, 1, &x, &node) < 0) {
    lt_release(out);
    return NULL;
  }
  if (node) node->dv[0] = lo.d, node->dv[1] = hi.d;
  return out;
}

/* ---- where ---- */
typedef struct { size_t esz; } where_ud;

static void where_inner(char **p, const int64_t *s, int64_t n, void *ud) {
  size_t esz = ((where_ud *)ud)->esz;
  if (esz == 4 && s[0] == 4 && s[1] == 1 && s[2] == 4 && s[3] == 4) {
    float *o = (float *)p[0];
    const uint8_t *m = (const uint8_t *)p[1];
    const float *a = (const float *)p[2], *b = (const float *)p[3];
    for (int64_t i = 0; i < n; i++) o[i] = m[i] ? a[i] : b[i];
    return;
  }
  for (int64_t i = 0; i < n; i++) {
    const char *src = *(const uint8_t *)(p[1] + i * s[1]) ? p[2] + i * s[2] : p[3] + i * s[3];
    for (size_t k = 0; k < esz; k++) (p[0] + i * s[0])[k] = src[k];
  }
}

static int where_backward(lt_ctx *c, lt_node *n, lt_tensor *g, lt_tensor **gin) {
  lt_tensor *cond = n->in[0], *zero = lt_scalar(c, LT_F32, 0.0);
  if (!zero) return -1;
  int rc = 0;
  for (int k = 1; k <= 2 && rc == 0; k++) {
    if (!n->in[k]->requires_grad) continue;
    lt_tensor *m = k == 1 ? lt_where(c, cond, g, zero) : lt_where(c, cond, zero, g);
    rc = m ? grad_to(c, m, n->in[k], &gin[k]) : -1;
    lt_release(m);
  }
  lt_release(zero);
  return rc;
}

lt_tensor *lt_where(lt_ctx *c, lt_tensor *cond, lt_tensor *a, lt_tensor *b) {
  int nd1, nd;
  int64_t sh1[LT_MAXDIM], shape[LT_MAXDIM];
  if (lt_broadcast_shape(c, "where", a, b, &nd1, sh1) < 0) return NULL;
  lt_tensor probe = {.ndim = nd1};
  for (int i = 0; i < nd1; i++) probe.shape[i] = sh1[i];
  if (lt_broadcast_shape(c, "where (condition)", cond, &probe, &nd, shape) < 0) return NULL;
  lt_dtype d = (a->dtype == LT_F32 || b->dtype == LT_F32) ? LT_F32
               : (a->dtype == LT_I64 || b->dtype == LT_I64) ? LT_I64 : LT_BOOL;
  lt_tensor *cc = cond, *ac = a, *bc = b, *out = NULL;
  if (cond->dtype != LT_BOOL && !(cc = lt_to_dtype_raw(c, cond, LT_BOOL))) return NULL;
  if (a->dtype != d && !(ac = lt_to_dtype_raw(c, a, d))) goto done;
  if (b->dtype != d && !(bc = lt_to_dtype_raw(c, b, d))) goto done;
  if (!(out = lt_empty(c, d, nd, shape))) goto done;
  int64_t bs[4][LT_MAXDIM];
  lt_broadcast_strides(out, nd, shape, bs[0]);
  lt_broadcast_strides(cc, nd, shape, bs[1]);
  lt_broadcast_strides(ac, nd, shape, bs[2]);
  lt_broadcast_strides(bc, nd, shape, bs[3]);
  char *base[4] = {lt_ptr(out), lt_ptr(cc), lt_ptr(ac), lt_ptr(bc)};
  where_ud ud = {lt_dtype_size(d)};
  if (lt_foreach_c(c, nd, shape, 4, base, bs, where_inner, &ud) < 0) {
    lt_release(out); /* interrupted */
    out = NULL;
    goto done;
  }
  if (d == LT_F32) {
    lt_node *node;
    lt_tensor *in[3] = {cond, a, b};
    if (lt_record(c, out, "where", where_backward, 3, in, &node) < 0) {
      lt_release(out);
      out = NULL;
    }
  }
done:
  if (cc != cond) lt_release(cc);
  if (ac && ac != a) lt_release(ac);
  if (bc && bc != b) lt_release(bc);
  return out;
}

/* ---- conversions and copies that keep the graph ---- */
static int identity_backward(lt_ctx *c, lt_node *n, lt_tensor *g, lt_tensor **gin) {
  (void)c, (void)n;
  lt_retain(g);
  gin[0] = g;
  return 0;
}

lt_tensor *lt_clone(lt_ctx *c, lt_tensor *x) {
  lt_tensor *out = lt_to_dtype_raw(c, x, x->dtype);
  lt_node *node;
  if (out && lt_record(c, out, "clone", identity_backward, 1, &x, &node) < 0) {
    lt_release(out);
    return NULL;
  }
  return out;
}

lt_tensor *lt_contiguous(lt_ctx *c, lt_tensor *x) {
  if (lt_is_contiguous(x)) {
    lt_retain(x);
    return x;
  }
  return lt_clone(c, x);
}

lt_tensor *lt_to_dtype(lt_ctx *c, lt_tensor *x, lt_dtype d) {
  if (x->dtype == d) {
    lt_retain(x);
    return x;
  }
  return lt_to_dtype_raw(c, x, d); /* int <-> float conversions carry no gradient */
}
