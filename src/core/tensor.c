/* Tensor lifetime, creation and geometry. */
#include "core.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Refuse absurd sizes before asking malloc (lurn.zeros(1e12) must be an error). */
#define LT_MAX_BYTES ((size_t)1 << 40)

lt_ctx *lt_ctx_new(void) {
  lt_ctx *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->grad_enabled = 1;
  c->refs = 1;
  lt_rng_seed(&c->rng, 5489u);
  lt_rng_seed(&c->np_rng, 5489u);
  return c;
}

void lt_ctx_retain(lt_ctx *c) { c->refs++; }

void lt_ctx_free(lt_ctx *c) {
  if (c && --c->refs == 0) {
    lt_pool_free(c);
    lt_cache_trim(c);
    free(c);
  }
}

int lt_stop(lt_ctx *c) {
  *c->interrupt = 0;
  lt_fail(c, "interrupted");
  return 1;
}

void *lt_fail(lt_ctx *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->err, sizeof c->err, fmt, ap);
  va_end(ap);
  return NULL;
}

const char *lt_dtype_name(lt_dtype d) {
  switch (d) {
  case LT_F32: return "float32";
  case LT_I64: return "int64";
  case LT_BOOL: return "bool";
  }
  return "?";
}

size_t lt_dtype_size(lt_dtype d) { return d == LT_F32 ? 4 : d == LT_I64 ? 8 : 1; }

char *lt_shape_str(char *buf, size_t n, int ndim, const int64_t *shape) {
  size_t k = (size_t)snprintf(buf, n, "[");
  for (int i = 0; i < ndim && k < n; i++)
    k += (size_t)snprintf(buf + k, n - k, i ? ", %lld" : "%lld", (long long)shape[i]);
  if (k < n) snprintf(buf + k, n - k, "]");
  return buf;
}

int64_t lt_shape_numel(int ndim, const int64_t *shape) {
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) n *= shape[i];
  return n;
}

int64_t lt_numel(const lt_tensor *t) { return lt_shape_numel(t->ndim, t->shape); }

void lt_contiguous_strides(int ndim, const int64_t *shape, int64_t *stride) {
  int64_t s = 1;
  for (int i = ndim - 1; i >= 0; i--) {
    stride[i] = s;
    s *= shape[i] > 0 ? shape[i] : 1;
  }
}

int lt_is_contiguous(const lt_tensor *t) {
  int64_t s = 1;
  for (int i = t->ndim - 1; i >= 0; i--) {
    if (t->shape[i] != 1 && t->stride[i] != s) return 0;
    s *= t->shape[i];
  }
  return 1;
}

int lt_same_shape(const lt_tensor *a, const lt_tensor *b) {
  if (a->ndim != b->ndim) return 0;
  for (int i = 0; i < a->ndim; i++)
    if (a->shape[i] != b->shape[i]) return 0;
  return 1;
}

int lt_wrap_dim(lt_ctx *c, const char *op, int64_t dim, int ndim) {
  int64_t n = ndim > 0 ? ndim : 1;
  if (dim < -n || dim >= n) {
    lt_fail(c, "%s: dim %lld out of range for a %d-d tensor (expected %lld..%lld)", op,
            (long long)dim, ndim, (long long)-n, (long long)(n - 1));
    return -1;
  }
  return (int)(dim < 0 ? dim + n : dim);
}

static lt_storage *storage_new(lt_ctx *c, size_t nbytes) {
  if (c->max_bytes && nbytes > c->max_bytes - (c->live_bytes < c->max_bytes ? c->live_bytes : c->max_bytes))
    return lt_fail(c, "not enough memory: %zu bytes more would pass the tensor memory limit "
                      "(%zu bytes, %zu in use)", nbytes, c->max_bytes, c->live_bytes);
  lt_storage *s = lt_struct_alloc(c, LT_SPARE_STORAGE, sizeof *s);
  if (!s) return lt_fail(c, "not enough memory");
  s->data = lt_buffer_alloc(c, nbytes);
  if (!s->data) {
    lt_struct_free(c, LT_SPARE_STORAGE, s);
    return lt_fail(c, "not enough memory: cannot allocate %zu bytes", nbytes);
  }
#ifdef LURN_POISON_NEW_TENSORS
  /* sanitizer builds: new tensors hold NaN (float32), -1 (int64) or 255 (bool), never
   * zeros that happen to make a kernel that reads unwritten memory look right */
  memset(s->data, 0xFF, nbytes);
#endif
  s->refs = 1;
  s->nbytes = nbytes;
  s->ctx = c;
  s->borrowed = 0;
  lt_ctx_retain(c);
  c->live_bytes += nbytes;
  if (c->live_bytes > c->peak_bytes) c->peak_bytes = c->live_bytes;
  c->gc_debt += nbytes + sizeof(lt_tensor);
  return s;
}

static void storage_release(lt_storage *s) {
  if (--s->refs > 0) return;
  lt_ctx *c = s->ctx;
  if (!s->borrowed) {
    c->live_bytes -= s->nbytes;
    /* freed before any collection: it was never garbage the host's GC had to find */
    size_t charge = s->nbytes + sizeof(lt_tensor);
    c->gc_debt = c->gc_debt > charge ? c->gc_debt - charge : 0;
    lt_buffer_free(c, s->data, s->nbytes);
  }
  lt_struct_free(c, LT_SPARE_STORAGE, s); /* before the context may go with its last storage */
  lt_ctx_free(c);
}

static lt_tensor *tensor_shell(lt_ctx *c, lt_dtype d, int ndim, const int64_t *shape) {
  if (ndim < 0 || ndim > LT_MAXDIM)
    return lt_fail(c, "tensors have at most %d dims (got %d)", LT_MAXDIM, ndim);
  lt_tensor *t = lt_struct_alloc(c, LT_SPARE_TENSOR, sizeof *t);
  if (!t) return lt_fail(c, "not enough memory");
  memset(t, 0, sizeof *t);
  t->refs = 1;
  t->dtype = d;
  t->ndim = ndim;
  if (ndim) memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
  return t;
}

/* Validate a shape for dtype d and give its byte count: no negative size, and at most
 * LT_MAX_BYTES, checked without overflow. -1 (c->err names the shape) otherwise. */
static int check_shape(lt_ctx *c, lt_dtype d, int ndim, const int64_t *shape, size_t *nbytes) {
  if (ndim < 0 || ndim > LT_MAXDIM) {
    lt_fail(c, "tensors have at most %d dims (got %d)", LT_MAXDIM, ndim);
    return -1;
  }
  /* nz: the product of the non-zero dims, which the strides multiply even when a 0 dim
   * makes the tensor empty: bounding it keeps [0, 2^40, 2^40] from overflowing them */
  size_t n = 1, nz = 1, esz = lt_dtype_size(d);
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0) {
      lt_fail(c, "invalid shape %s: negative size", lt_shape_str((char[128]){0}, 128, ndim, shape));
      return -1;
    }
    if (shape[i] && nz > LT_MAX_BYTES / esz / (size_t)shape[i]) {
      lt_fail(c, "shape %s is too large (over %zu bytes)",
              lt_shape_str((char[128]){0}, 128, ndim, shape), (size_t)LT_MAX_BYTES);
      return -1;
    }
    n *= (size_t)shape[i];
    if (shape[i]) nz *= (size_t)shape[i];
  }
  *nbytes = n * esz;
  return 0;
}

lt_tensor *lt_empty(lt_ctx *c, lt_dtype d, int ndim, const int64_t *shape) {
  size_t nbytes;
  if (check_shape(c, d, ndim, shape, &nbytes) < 0) return NULL;
  lt_tensor *t = tensor_shell(c, d, ndim, shape);
  if (!t) return NULL;
  t->st = storage_new(c, nbytes);
  if (!t->st) {
    lt_struct_free(c, LT_SPARE_TENSOR, t);
    return NULL;
  }
  lt_contiguous_strides(ndim, shape, t->stride);
  return t;
}

lt_tensor *lt_from_borrowed(lt_ctx *c, lt_dtype d, int ndim, const int64_t *shape, void *data) {
  size_t nbytes;
  if (!data) return lt_fail(c, "from_borrowed: NULL data");
  if (check_shape(c, d, ndim, shape, &nbytes) < 0) return NULL; /* as lt_empty: sizes, overflow */
  lt_tensor *t = tensor_shell(c, d, ndim, shape);
  if (!t) return NULL;
  lt_storage *s = lt_struct_alloc(c, LT_SPARE_STORAGE, sizeof *s);
  if (!s) {
    lt_struct_free(c, LT_SPARE_TENSOR, t);
    return lt_fail(c, "not enough memory");
  }
  /* not counted in live_bytes: the host owns (and accounts for) this memory */
  *s = (lt_storage){.refs = 1, .nbytes = nbytes, .data = data, .ctx = c, .borrowed = 1};
  lt_ctx_retain(c);
  t->st = s;
  lt_contiguous_strides(ndim, shape, t->stride);
  return t;
}

lt_tensor *lt_full(lt_ctx *c, lt_dtype d, int ndim, const int64_t *shape, double v) {
  return lt_full_num(c, d, ndim, shape, lt_num_f(v));
}

lt_tensor *lt_full_num(lt_ctx *c, lt_dtype d, int ndim, const int64_t *shape, lt_num v) {
  lt_tensor *t = lt_empty(c, d, ndim, shape);
  if (t) lt_fill_num_(c, t, v);
  return t;
}

char *lt_num_str(char *buf, size_t n, lt_num v) {
  if (v.is_int) snprintf(buf, n, "%lld", (long long)v.i);
  else snprintf(buf, n, "%g", v.d);
  return buf;
}

lt_tensor *lt_scalar(lt_ctx *c, lt_dtype d, double v) { return lt_full(c, d, 0, NULL, v); }
lt_tensor *lt_scalar_num(lt_ctx *c, lt_dtype d, lt_num v) { return lt_full_num(c, d, 0, NULL, v); }

lt_tensor *lt_arange(lt_ctx *c, double start, double end, double step, lt_dtype d) {
  if (step == 0 || !isfinite(start) || !isfinite(end) || !isfinite(step))
    return lt_fail(c, "arange: invalid range (start %g, end %g, step %g)", start, end, step);
  double span = ceil((end - start) / step);
  int64_t n = span > 0 ? (span < 9e18 ? (int64_t)span : INT64_MAX) : 0; /* lt_empty refuses */
  lt_tensor *t = lt_empty(c, d, 1, &n);
  if (!t) return NULL;
  for (int64_t i = 0; i < n; i++) lt_set(t, i, start + (double)i * step);
  return t;
}

lt_tensor *lt_arange_i64(lt_ctx *c, int64_t start, int64_t end, int64_t step) {
  if (step == 0)
    return lt_fail(c, "arange: invalid range (start %lld, end %lld, step 0)", (long long)start,
                   (long long)end);
  /* the count in unsigned arithmetic: |end - start| and |step| fit in uint64 */
  uint64_t span = 0, mag = step > 0 ? (uint64_t)step : 0 - (uint64_t)step;
  if (step > 0 && end > start) span = (uint64_t)end - (uint64_t)start;
  if (step < 0 && end < start) span = (uint64_t)start - (uint64_t)end;
  uint64_t k = span / mag + (span % mag != 0);
  int64_t n = k > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)k; /* lt_empty refuses */
  lt_tensor *t = lt_empty(c, LT_I64, 1, &n);
  if (!t) return NULL;
  /* every value lies in [start, end): the wrapping sum is the exact one */
  int64_t *p = lt_i64(t);
  for (int64_t i = 0; i < n; i++) p[i] = (int64_t)((uint64_t)start + (uint64_t)i * (uint64_t)step);
  return t;
}

lt_tensor *lt_uniform_r(lt_ctx *c, lt_rng *r, int ndim, const int64_t *shape, double lo,
                        double hi) {
  lt_tensor *t = lt_empty(c, LT_F32, ndim, shape);
  if (!t) return NULL;
  float *p = lt_f32(t);
  for (int64_t i = 0, n = lt_numel(t); i < n; i++) p[i] = (float)(lo + (hi - lo) * lt_rng_double(r));
  return t;
}

lt_tensor *lt_uniform(lt_ctx *c, int ndim, const int64_t *shape, double lo, double hi) {
  return lt_uniform_r(c, &c->rng, ndim, shape, lo, hi);
}

lt_tensor *lt_rand(lt_ctx *c, int ndim, const int64_t *shape) {
  return lt_uniform(c, ndim, shape, 0.0, 1.0);
}

lt_tensor *lt_randn_r(lt_ctx *c, lt_rng *r, int ndim, const int64_t *shape) {
  lt_tensor *t = lt_empty(c, LT_F32, ndim, shape);
  if (!t) return NULL;
  float *p = lt_f32(t);
  for (int64_t i = 0, n = lt_numel(t); i < n; i++) p[i] = (float)lt_rng_gauss(r);
  return t;
}

lt_tensor *lt_randn(lt_ctx *c, int ndim, const int64_t *shape) {
  return lt_randn_r(c, &c->rng, ndim, shape);
}

lt_tensor *lt_randint_r(lt_ctx *c, lt_rng *r, int64_t lo, int64_t hi, int ndim,
                        const int64_t *shape) {
  if (hi <= lo)
    return lt_fail(c, "randint: empty range [%lld, %lld)", (long long)lo, (long long)hi);
  lt_tensor *t = lt_empty(c, LT_I64, ndim, shape);
  if (!t) return NULL;
  int64_t *p = lt_i64(t);
  uint64_t span = (uint64_t)hi - (uint64_t)lo - 1;
  for (int64_t i = 0, n = lt_numel(t); i < n; i++)
    p[i] = lo + (int64_t)lt_rng_interval(r, span);
  return t;
}

lt_tensor *lt_randint(lt_ctx *c, int64_t lo, int64_t hi, int ndim, const int64_t *shape) {
  return lt_randint_r(c, &c->rng, lo, hi, ndim, shape);
}

void lt_retain(lt_tensor *t) {
  if (t) t->refs++;
}

void lt_release(lt_tensor *t) {
  if (!t || --t->refs > 0) return;
  if (t->grad_fn) lt_node_release(t->grad_fn);
  lt_release(t->grad);
  lt_release(t->grad_spare);
  lt_storage *st = t->st;
  lt_struct_free(st->ctx, LT_SPARE_TENSOR, t); /* before the storage, which may free the context */
  storage_release(st);
}

int lt_is_sole_float(const lt_tensor *t) {
  return t->refs == 1 && t->st->refs == 1 && !t->st->borrowed && t->dtype == LT_F32 &&
         lt_is_contiguous(t) && (size_t)lt_numel(t) * sizeof(float) == t->st->nbytes;
}

void lt_drop_grad(lt_tensor *t) {
  lt_tensor *g = t->grad;
  t->grad = NULL;
  if (g && lt_is_sole_float(g)) {
    lt_release(t->grad_spare);
    t->grad_spare = g;
  } else {
    lt_release(g);
  }
}

lt_tensor *lt_grad_buffer(lt_ctx *c, lt_tensor *t) {
  lt_tensor *s = t->grad_spare;
  if (s && lt_same_shape(s, t) && s->dtype == LT_F32) {
    t->grad_spare = NULL;
    return s;
  }
  return lt_empty(c, LT_F32, t->ndim, t->shape);
}

lt_tensor *lt_alias(lt_ctx *c, const lt_tensor *t, int ndim, const int64_t *shape,
                    const int64_t *stride, int64_t offset) {
  lt_tensor *a = tensor_shell(c, t->dtype, ndim, shape);
  if (!a) return NULL;
  if (ndim) memcpy(a->stride, stride, (size_t)ndim * sizeof *stride);
  a->offset = offset;
  a->st = t->st;
  t->st->refs++;
  return a;
}

lt_tensor *lt_detach(lt_ctx *c, const lt_tensor *t) {
  return lt_alias(c, t, t->ndim, t->shape, t->stride, t->offset);
}

/* flat row-major index -> element offset in storage (elements) */
static int64_t flat_offset(const lt_tensor *t, int64_t flat) {
  int64_t off = 0;
  for (int i = t->ndim - 1; i >= 0; i--) {
    int64_t sz = t->shape[i];
    off += (flat % sz) * t->stride[i];
    flat /= sz;
  }
  return off;
}

double lt_get(const lt_tensor *t, int64_t flat) {
  int64_t off = flat_offset(t, flat);
  switch (t->dtype) {
  case LT_F32: return lt_f32(t)[off];
  case LT_I64: return (double)lt_i64(t)[off];
  case LT_BOOL: return lt_u8(t)[off];
  }
  return 0;
}

void lt_set(lt_tensor *t, int64_t flat, double v) {
  int64_t off = flat_offset(t, flat);
  switch (t->dtype) {
  case LT_F32: lt_f32(t)[off] = (float)v; break;
  case LT_I64: lt_i64(t)[off] = lt_to_i64(v); break;
  case LT_BOOL: lt_u8(t)[off] = v != 0; break;
  }
}

/* Merge dims that are contiguous for every operand, then walk the outer dims with an
 * odometer and hand each innermost run to fn. */
void lt_foreach(int ndim, const int64_t *shape, int nop, char **base,
                int64_t (*bstride)[LT_MAXDIM], lt_inner_fn fn, void *ud) {
  lt_foreach_c(NULL, ndim, shape, nop, base, bstride, fn, ud);
}

/* Polls between runs, at most once per LT_POLL elements, so Ctrl-C stops a long loop
 * over small runs; a single contiguous run is one call (a bounded, fast pass), split
 * across the context's threads when it is long. */
#define LT_POLL ((int64_t)1 << 20)

typedef struct {
  lt_inner_fn fn;
  void *ud;
  int nop;
  char *p[4];
  int64_t s[4];
} run_job;

static void run_range(void *arg, int64_t b, int64_t e) {
  const run_job *j = arg;
  char *p[4];
  for (int k = 0; k < j->nop; k++) p[k] = j->p[k] + b * j->s[k];
  int64_t s[4] = {j->s[0], j->s[1], j->s[2], j->s[3]};
  j->fn(p, s, e - b, j->ud);
}

int lt_foreach_c(lt_ctx *c, int ndim, const int64_t *shape, int nop, char **base,
                 int64_t (*bstride)[LT_MAXDIM], lt_inner_fn fn, void *ud) {
  int64_t sh[LT_MAXDIM], st[4][LT_MAXDIM];
  int nd = 0;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] == 0) return 0;
    if (shape[i] == 1) continue;
    int merge = nd > 0;
    for (int k = 0; k < nop && merge; k++)
      if (st[k][nd - 1] != bstride[k][i] * shape[i]) merge = 0;
    if (merge) {
      sh[nd - 1] *= shape[i];
      for (int k = 0; k < nop; k++) st[k][nd - 1] = bstride[k][i];
    } else {
      sh[nd] = shape[i];
      for (int k = 0; k < nop; k++) st[k][nd] = bstride[k][i];
      nd++;
    }
  }
  int64_t inner_s[4];
  char *p[4];
  if (nd == 0) { /* a single element */
    for (int k = 0; k < nop; k++) inner_s[k] = 0;
    fn(base, inner_s, 1, ud);
    return 0;
  }
  for (int k = 0; k < nop; k++) inner_s[k] = st[k][nd - 1];
  if (nd == 1 && c) { /* one run: the kernels of ops (c given) write only their own elements */
    run_job j = {fn, ud, nop, {0}, {0}};
    for (int k = 0; k < nop; k++) j.p[k] = base[k], j.s[k] = inner_s[k];
    lt_parallel_for(c, sh[0], LT_PARALLEL_GRAIN, run_range, &j);
    return 0;
  }
  int64_t idx[LT_MAXDIM] = {0};
  int64_t inner = sh[nd - 1], since_poll = 0;
  for (;;) {
    if ((since_poll += inner) >= LT_POLL) {
      since_poll = 0;
      if (lt_interrupted(c)) return -1;
    }
    for (int k = 0; k < nop; k++) {
      p[k] = base[k];
      for (int i = 0; i < nd - 1; i++) p[k] += idx[i] * st[k][i];
    }
    fn(p, inner_s, inner, ud);
    int i = nd - 2;
    for (; i >= 0; i--) {
      if (++idx[i] < sh[i]) break;
      idx[i] = 0;
    }
    if (i < 0) return 0;
  }
}
