/* PyTorch-style printing: tensor([[0.5286, 0.5261], ...]). One number format per tensor
 * (integer-valued floats as "1.", fixed "%.4f", or "%.4e" for wide ranges), right-aligned
 * to a common width; more than 1000 elements are summarised with "..." keeping the first
 * and last 3 entries of each dim. */
#include "core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EDGE 3
#define SUMMARY_AT 1000
#define LINE_WIDTH 80

typedef struct {
  char *s;
  size_t n, cap;
  int oom;
} buf_t;

static void put(buf_t *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->n + n + 1 > b->cap) {
    size_t cap = (b->cap + n + 1) * 2;
    char *ns = realloc(b->s, cap);
    if (!ns) {
      b->oom = 1;
      return;
    }
    b->s = ns, b->cap = cap;
  }
  memcpy(b->s + b->n, s, n);
  b->n += n;
  b->s[b->n] = 0;
}
static void puts_(buf_t *b, const char *s) { put(b, s, strlen(s)); }

typedef struct {
  const lt_tensor *t;
  int summarise;
  int mode; /* 0 integer-valued floats, 1 fixed, 2 scientific, 3 int64, 4 bool */
  int width;
  int64_t rowstride[LT_MAXDIM]; /* flat row-major strides */
} fmt_t;

static int elem_text(const fmt_t *f, double v, char *out, size_t n) {
  if (f->mode == 4) return snprintf(out, n, "%s", v != 0 ? "true" : "false");
  if (isnan(v)) return snprintf(out, n, "nan");
  if (isinf(v)) return snprintf(out, n, v > 0 ? "inf" : "-inf");
  if (f->mode == 0) return snprintf(out, n, "%.0f.", v);
  if (f->mode == 1) return snprintf(out, n, "%.4f", v);
  return snprintf(out, n, "%.4e", v);
}

/* the element at flat index i as text; int64 exactly (through a double it would round past
 * 2^53, and 2^63 would not convert back) */
static int elem_at(const fmt_t *f, int64_t i, char *out, size_t n) {
  const lt_tensor *t = f->t;
  if (f->mode != 3) return elem_text(f, lt_get(t, i), out, n);
  int64_t off = 0;
  for (int d = 0; d < t->ndim; d++) off += (i / f->rowstride[d]) % t->shape[d] * t->stride[d];
  return snprintf(out, n, "%lld", (long long)lt_i64(t)[off]);
}

/* is flat index i shown (not inside a summarised middle)? */
static int shown(const fmt_t *f, int64_t i) {
  if (!f->summarise) return 1;
  const lt_tensor *t = f->t;
  for (int d = 0; d < t->ndim; d++) {
    int64_t k = (i / f->rowstride[d]) % t->shape[d];
    if (t->shape[d] > 2 * EDGE && k >= EDGE && k < t->shape[d] - EDGE) return 0;
  }
  return 1;
}

static void choose_format(fmt_t *f) {
  const lt_tensor *t = f->t;
  if (t->dtype == LT_BOOL) { f->mode = 4; }
  else if (t->dtype == LT_I64) { f->mode = 3; }
  else {
    double amax = 0, amin = INFINITY;
    int all_int = 1, any = 0;
    for (int64_t i = 0, n = lt_numel(t); i < n; i++) {
      if (!shown(f, i)) continue;
      double v = lt_get(t, i);
      if (!isfinite(v)) continue;
      if (v != floor(v)) all_int = 0;
      double a = fabs(v);
      if (a == 0) continue;
      any = 1;
      if (a > amax) amax = a;
      if (a < amin) amin = a;
    }
    if (all_int) f->mode = (any && (amax / amin > 1000 || amax > 1e8)) ? 2 : 0;
    else if (any && (amax / amin > 1000 || amax > 1e8 || amin < 1e-4)) f->mode = 2;
    else f->mode = 1;
  }
  char tmp[64];
  f->width = 1;
  for (int64_t i = 0, n = lt_numel(t); i < n; i++) {
    if (!shown(f, i)) continue;
    double v = lt_get(t, i);
    if (f->mode <= 2 && !isfinite(v)) continue; /* as PyTorch: nan/inf do not set the width */
    int w = elem_at(f, i, tmp, sizeof tmp);
    if (w > f->width) f->width = w;
  }
}

static void emit(buf_t *b, const fmt_t *f, int d, int64_t base, int indent) {
  const lt_tensor *t = f->t;
  int64_t n = t->shape[d];
  int skip = f->summarise && n > 2 * EDGE;
  char tmp[64];
  puts_(b, "[");
  if (d == t->ndim - 1) {
    int per_line = (LINE_WIDTH - indent) / (f->width + 2);
    if (per_line < 1) per_line = 1;
    int on_line = 0;
    for (int64_t k = 0; k < n; k++) {
      if (on_line == per_line) {
        puts_(b, "\n");
        for (int s = 0; s < indent + 1; s++) puts_(b, " ");
        on_line = 0;
      } else if (k > 0) {
        puts_(b, " ");
      }
      if (skip && k == EDGE) { /* " ..." is one more entry of the row, as in PyTorch */
        puts_(b, " ...,");
        k = n - EDGE - 1;
        on_line++;
        continue;
      }
      int w = elem_at(f, base + k, tmp, sizeof tmp);
      for (int s = w; s < f->width; s++) puts_(b, " ");
      puts_(b, tmp);
      if (k < n - 1) puts_(b, ",");
      on_line++;
    }
  } else {
    for (int64_t k = 0; k < n; k++) {
      if (k > 0) {
        puts_(b, ",");
        for (int nl = 0; nl < t->ndim - d - 1; nl++) puts_(b, "\n");
        for (int s = 0; s < indent + 1; s++) puts_(b, " ");
      }
      if (skip && k == EDGE) {
        puts_(b, "...");
        k = n - EDGE - 1;
        continue;
      }
      emit(b, f, d + 1, base + k * f->rowstride[d], indent + 1);
    }
  }
  puts_(b, "]");
}

char *lt_format(lt_ctx *c, const lt_tensor *t) {
  buf_t b = {0};
  fmt_t f = {.t = t, .summarise = lt_numel(t) > SUMMARY_AT};
  lt_contiguous_strides(t->ndim, t->shape, f.rowstride);
  puts_(&b, "tensor(");
  int64_t numel = lt_numel(t);
  if (numel == 0) {
    puts_(&b, "[]");
    if (t->ndim > 1) {
      char sh[160];
      puts_(&b, ", size=");
      puts_(&b, lt_shape_str(sh, sizeof sh, t->ndim, t->shape));
    }
  } else {
    choose_format(&f);
    if (t->ndim == 0) {
      char tmp[64];
      elem_at(&f, 0, tmp, sizeof tmp);
      puts_(&b, tmp);
    } else {
      emit(&b, &f, 0, 0, 7);
    }
  }
  if (t->dtype != LT_F32) {
    puts_(&b, ", dtype=lurn.");
    puts_(&b, lt_dtype_name(t->dtype));
  }
  if (t->grad_fn) {
    puts_(&b, ", grad_fn=<");
    puts_(&b, t->grad_fn->op);
    puts_(&b, ">");
  } else if (t->requires_grad) {
    puts_(&b, ", requires_grad=true");
  }
  puts_(&b, ")");
  if (b.oom) {
    free(b.s);
    return lt_fail(c, "tostring: not enough memory");
  }
  return b.s;
}
