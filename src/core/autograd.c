/* Define-by-run autograd. Each op that sees an input requiring grad (with grad mode on)
 * attaches a node to its output: the backward function, the inputs (edges and values)
 * and any extra saved tensors. backward() orders the reachable nodes topologically,
 * runs them in reverse and frees what they saved unless retain_graph is set.
 * Nodes never reference their own output (that would be a cycle): an op that needs its
 * output saves a detached alias of it. */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lt_grad_enabled(const lt_ctx *c) { return c->grad_enabled; }
void lt_set_grad_enabled(lt_ctx *c, int on) { c->grad_enabled = on != 0; }

/* ---- detect_anomaly ----
 * Checked in two central places. Forward: lt_record, which every op that computes a float
 * tensor calls once its output is written (grad mode or not, before deciding whether to
 * record), so one check covers every op and knows its name and inputs; views are skipped
 * (they compute nothing). Backward: after each node's backward, on the gradients it
 * produced (and on the root before starting); the ops that backward functions run
 * internally are not checked one by one (lt_backward mutes the forward check).
 * Creation functions, in-place updates (copy_, fill_, optimizer steps) and conversions are
 * not ops in this sense; a NaN/Inf they bring in is reported by the first op that reads
 * it, as an input that "already contains" it. Off, the cost is one branch per op. */
typedef struct { unsigned bad; } scan_ud;

static void scan_run(char **p, const int64_t *s, int64_t n, void *ud) {
  unsigned bad = 0;
  uint32_t u;
  const char *q = p[0];
  if (s[0] == (int64_t)sizeof(float)) { /* contiguous: a loop the compiler vectorises */
    for (int64_t i = 0; i < n; i++) {
      memcpy(&u, q + i * (int64_t)sizeof u, sizeof u);
      bad |= (u & 0x7f800000u) == 0x7f800000u; /* all-ones exponent: inf or nan */
    }
  } else {
    for (int64_t i = 0; i < n; i++, q += s[0]) {
      memcpy(&u, q, sizeof u);
      bad |= (u & 0x7f800000u) == 0x7f800000u;
    }
  }
  ((scan_ud *)ud)->bad |= bad;
}

static void scan_nan(char **p, const int64_t *s, int64_t n, void *ud) {
  const char *q = p[0];
  for (int64_t i = 0; i < n; i++, q += s[0]) {
    float v;
    memcpy(&v, q, sizeof v);
    if (v != v) ((scan_ud *)ud)->bad = 1;
  }
}

const char *lt_nonfinite(const lt_tensor *t) {
  if (!t || t->dtype != LT_F32) return NULL;
  /* each stored element once: a broadcast dim (stride 0, from expand) counts as size 1,
   * so expanding to a huge shape does not make the scan huge */
  int64_t bs[1][LT_MAXDIM], shape[LT_MAXDIM];
  for (int i = 0; i < t->ndim; i++) {
    bs[0][i] = t->stride[i] * (int64_t)sizeof(float);
    shape[i] = t->stride[i] == 0 && t->shape[i] > 0 ? 1 : t->shape[i];
  }
  char *base[1] = {lt_ptr(t)};
  scan_ud any = {0}, nan = {0};
  lt_foreach(t->ndim, shape, 1, base, bs, scan_run, &any);
  if (!any.bad) return NULL;
  lt_foreach(t->ndim, shape, 1, base, bs, scan_nan, &nan); /* only on the way to an error */
  return nan.bad ? "nan" : "inf";
}

static int anomaly_forward(lt_ctx *c, const lt_tensor *out, const char *op, int nin,
                           lt_tensor **in) {
  /* a view (view, transpose, expand, ... also those ops make inside others, as linear's
   * transposed weight) computed nothing: the op that reads it reports a NaN it holds */
  for (int i = 0; i < nin; i++)
    if (in[i] && in[i]->st == out->st) return 0;
  const char *bad = lt_nonfinite(out);
  if (!bad) return 0;
  for (int i = 0; i < nin; i++) {
    const char *ib = lt_nonfinite(in[i]);
    if (ib) {
      lt_fail(c, "detect_anomaly: input %d of %s (shape %s) already contains %s: it does not "
                 "come from a checked op (input data, an in-place update such as an optimizer "
                 "step, or a tensor made before detect_anomaly was turned on)",
              i + 1, op, LT_SHAPE(in[i]), ib);
      return -1;
    }
  }
  char shapes[512];
  size_t len = 0;
  int k = 0;
  shapes[0] = 0;
  for (int i = 0; i < nin && len < sizeof shapes - 130; i++) {
    if (!in[i]) continue;
    len += (size_t)snprintf(shapes + len, sizeof shapes - len, "%s%s", k++ ? ", " : "",
                            LT_SHAPE(in[i]));
  }
  lt_fail(c, "detect_anomaly: %s produced %s in its output (input shape%s %s)", op, bad,
          k > 1 ? "s" : "", shapes);
  return -1;
}

int lt_record(lt_ctx *c, lt_tensor *out, const char *op, lt_backward_fn fn, int nin,
              lt_tensor **in, lt_node **node) {
  *node = NULL;
  if (c->detect_anomaly && anomaly_forward(c, out, op, nin, in) < 0) return -1;
  if (!c->grad_enabled) return 0;
  int need = 0;
  for (int i = 0; i < nin; i++) need |= in[i] && in[i]->requires_grad;
  if (!need) return 0;
  lt_node *n = calloc(1, sizeof *n);
  if (!n) goto oom;
  n->in = nin <= LT_NODE_INLINE ? n->inl : calloc((size_t)nin, sizeof *n->in);
  if (!n->in) {
    free(n);
    goto oom;
  }
  n->refs = 1;
  n->op = op;
  n->backward = fn;
  n->nin = nin;
  for (int i = 0; i < nin; i++) {
    n->in[i] = in[i];
    lt_retain(in[i]);
  }
  n->out_ndim = out->ndim;
  memcpy(n->out_shape, out->shape, sizeof n->out_shape);
  out->requires_grad = 1;
  out->grad_fn = n;
  *node = n;
  return 0;
oom:
  lt_fail(c, "%s: not enough memory to record the autograd graph", op);
  return -1;
}

static void node_drop_saved(lt_node *n) {
  for (int i = 0; i < n->nin; i++) {
    lt_release(n->in[i]);
    n->in[i] = NULL;
  }
  for (int i = 0; i < 2; i++) {
    lt_release(n->saved[i]);
    n->saved[i] = NULL;
  }
  lt_release(n->gacc);
  n->gacc = NULL;
}

void lt_node_release(lt_node *n) {
  if (!n || --n->refs > 0) return;
  node_drop_saved(n);
  if (n->in != n->inl) free(n->in);
  free(n);
}

int lt_accumulate(lt_ctx *c, lt_tensor **acc, lt_tensor *g) {
  /* the first gradient is taken as it is when no one else can see it (only the caller
   * holds it and it fills its own storage): no copy of a 64 MiB weight gradient */
  if (!*acc && lt_is_sole_float(g) && !g->grad_fn && !g->requires_grad) {
    lt_retain(g);
    *acc = g;
    return 0;
  }
  if (!*acc) {
    lt_tensor *copy = lt_to_dtype_raw(c, g, LT_F32); /* own, contiguous storage */
    if (!copy) return -1;
    *acc = copy;
    return 0;
  }
  lt_tensor *a = *acc;
  if (!lt_same_shape(a, g)) {
    lt_fail(c, "backward: gradient of shape %s does not match accumulated shape %s",
            LT_SHAPE(g), LT_SHAPE(a));
    return -1;
  }
  if (lt_is_contiguous(a) && lt_is_contiguous(g) && g->dtype == LT_F32) {
    float *pa = lt_f32(a);
    const float *pg = lt_f32(g);
    for (int64_t i = 0, n = lt_numel(a); i < n; i++) pa[i] += pg[i];
    return 0;
  }
  lt_tensor *sum = lt_binary(c, LT_ADD, a, g);
  if (!sum) return -1;
  int rc = lt_copy_(c, a, sum);
  lt_release(sum);
  return rc;
}

/* Nodes reachable from root in post-order (inputs before users), iteratively. */
typedef struct { lt_node **v; size_t n, cap; } node_vec;

static int vec_push(node_vec *v, lt_node *n) {
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 64;
    lt_node **nv = realloc(v->v, cap * sizeof *nv);
    if (!nv) return -1;
    v->v = nv;
    v->cap = cap;
  }
  v->v[v->n++] = n;
  return 0;
}

static int topo_order(lt_node *root, node_vec *order) {
  node_vec stack = {0};
  int rc = 0;
  /* mark: 0 unseen, 1 on stack (children pending), 2 done */
  if (vec_push(&stack, root) < 0) return -1;
  root->mark = 1;
  while (stack.n) {
    lt_node *n = stack.v[stack.n - 1];
    int pushed = 0;
    for (int i = 0; i < n->nin; i++) {
      lt_tensor *t = n->in[i];
      lt_node *m = t ? t->grad_fn : NULL;
      if (m && m->mark == 0) {
        m->mark = 1;
        if (vec_push(&stack, m) < 0) { rc = -1; goto done; }
        pushed = 1;
        break;
      }
    }
    if (!pushed) {
      stack.n--;
      n->mark = 2;
      if (vec_push(order, n) < 0) { rc = -1; goto done; }
      n->refs++; /* freeing an input during backward must not free a queued node */
    }
  }
done:
  if (rc < 0)
    for (size_t k = 0; k < stack.n; k++) stack.v[k]->mark = 0;
  free(stack.v);
  return rc;
}

int lt_backward(lt_ctx *c, lt_tensor *root, lt_tensor *grad, int retain_graph) {
  if (!root->requires_grad) {
    lt_fail(c, "backward: tensor does not require grad and has no grad_fn "
               "(did you compute it under no_grad, or from tensors without requires_grad?)");
    return -1;
  }
  const char *bad;
  if (c->detect_anomaly && (bad = lt_nonfinite(root))) {
    if (lt_numel(root) == 1)
      lt_fail(c, "backward: the loss is %s (detect_anomaly)", bad);
    else
      lt_fail(c, "backward: the tensor to differentiate (shape %s) contains %s "
                 "(detect_anomaly)", LT_SHAPE(root), bad);
    return -1;
  }
  lt_tensor *seed = grad;
  if (!seed) {
    if (lt_numel(root) != 1) {
      lt_fail(c, "backward: grad can be implicitly created only for scalar outputs "
                 "(tensor has shape %s); pass a gradient tensor", LT_SHAPE(root));
      return -1;
    }
    seed = lt_full(c, LT_F32, root->ndim, root->shape, 1.0);
    if (!seed) return -1;
  } else {
    if (!lt_same_shape(seed, root)) {
      lt_fail(c, "backward: gradient has shape %s but the tensor has shape %s",
              LT_SHAPE(seed), LT_SHAPE(root));
      return -1;
    }
    if (c->detect_anomaly && (bad = lt_nonfinite(seed))) {
      lt_fail(c, "backward: the gradient passed to backward contains %s (detect_anomaly)", bad);
      return -1;
    }
    lt_retain(seed);
  }
  int was = c->grad_enabled, rc = 0;
  c->grad_enabled = 0; /* backward builds no graph of its own */
  /* the ops inside backward functions are checked through the gradients they produce */
  int anomaly = c->detect_anomaly;
  c->detect_anomaly = 0;
  if (!root->grad_fn) { /* a leaf */
    rc = lt_accumulate(c, &root->grad, seed);
    lt_release(seed);
    c->grad_enabled = was;
    c->detect_anomaly = anomaly;
    return rc;
  }
  node_vec order = {0};
  if (topo_order(root->grad_fn, &order) < 0) {
    for (size_t k = 0; k < order.n; k++) {
      order.v[k]->mark = 0;
      lt_node_release(order.v[k]);
    }
    free(order.v);
    lt_release(seed);
    c->grad_enabled = was;
    c->detect_anomaly = anomaly;
    lt_fail(c, "backward: not enough memory");
    return -1;
  }
  rc = lt_accumulate(c, &root->grad_fn->gacc, seed);
  lt_release(seed);
  lt_tensor *gin[64];
  lt_tensor **gv = gin;
  for (size_t k = order.n; k-- > 0 && rc == 0;) {
    lt_node *n = order.v[k];
    if (!n->gacc) continue; /* no gradient reached this node */
    if (n->released) {
      lt_fail(c, "backward: trying to backward through the graph a second time (op %s): "
                 "its saved values were freed by the first backward; pass retain_graph = true "
                 "to the first call if you need to", n->op);
      rc = -1;
      break;
    }
    if (gv != gin) free(gv);
    gv = n->nin <= 64 ? gin : calloc((size_t)n->nin, sizeof *gv);
    if (!gv) { gv = gin; rc = -1; lt_fail(c, "backward: not enough memory"); break; }
    memset(gv, 0, (size_t)n->nin * sizeof *gv);
    rc = n->backward(c, n, n->gacc, gv);
    for (int i = 0; i < n->nin; i++) {
      lt_tensor *t = n->in[i], *g = gv[i];
      if (rc == 0 && g && t->requires_grad) {
        if (!lt_same_shape(g, t)) {
          lt_fail(c, "backward of %s: gradient for input %d has shape %s, expected %s (bug)",
                  n->op, i, LT_SHAPE(g), LT_SHAPE(t));
          rc = -1;
        } else if (anomaly && (bad = lt_nonfinite(g))) {
          lt_fail(c, "detect_anomaly: backward of %s produced %s in the gradient of input %d "
                     "(shape %s)", n->op, bad, i + 1, LT_SHAPE(t));
          rc = -1;
        } else {
          rc = lt_accumulate(c, t->grad_fn ? &t->grad_fn->gacc : &t->grad, g);
        }
      }
      lt_release(g);
    }
    lt_release(n->gacc);
    n->gacc = NULL;
    if (!retain_graph && rc == 0) {
      node_drop_saved(n);
      n->released = 1;
    }
  }
  if (gv != gin) free(gv);
  for (size_t k = 0; k < order.n; k++) {
    order.v[k]->mark = 0;
    lt_release(order.v[k]->gacc); /* after an error, leave nothing half-accumulated */
    order.v[k]->gacc = NULL;
    lt_node_release(order.v[k]);
  }
  free(order.v);
  c->grad_enabled = was;
  c->detect_anomaly = anomaly;
  return rc;
}
