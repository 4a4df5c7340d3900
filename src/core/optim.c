/* Optimizer updates, in place over a parameter's buffer, following PyTorch's
 * single-tensor update rules operation for operation (so trajectories match). */
#include "core.h"
#include "simd.h"

#include <math.h>

static int check_param(lt_ctx *c, const char *op, const lt_tensor *p, const lt_tensor *g) {
  if (p->dtype != LT_F32 || !lt_is_contiguous(p) || !lt_same_shape(p, g) || g->dtype != LT_F32) {
    lt_fail(c, "%s: parameter %s %s and gradient %s %s must be contiguous float32 of one shape",
            op, lt_dtype_name(p->dtype), LT_SHAPE(p), lt_dtype_name(g->dtype), LT_SHAPE(g));
    return -1;
  }
  return 0;
}

LT_SIMD static void sgd_update(float *pp, const float *pg, float *pb, int64_t n,
                               const lt_sgd_opts *o, int first) {
  float lr = (float)o->lr, mom = (float)o->momentum, damp = (float)(1.0 - o->dampening);
  float wd = (float)o->weight_decay;
  for (int64_t i = 0; i < n; i++) {
    float d = pg[i];
    if (o->weight_decay != 0) d += wd * pp[i];
    if (o->momentum != 0) {
      pb[i] = first ? d : mom * pb[i] + damp * d;
      d = o->nesterov ? d + mom * pb[i] : pb[i];
    }
    pp[i] -= lr * d;
  }
}

/* one update split across threads (lt_parallel_for): pointers to the whole buffers */
typedef struct {
  float *p, *buf;
  const float *g;
  const lt_sgd_opts *o;
  int first;
} sgd_job;

static void sgd_range(void *arg, int64_t b, int64_t e) {
  const sgd_job *j = arg;
  sgd_update(j->p + b, j->g + b, j->buf ? j->buf + b : NULL, e - b, j->o, j->first);
}

int lt_sgd_step(lt_ctx *c, lt_tensor *p, lt_tensor *g, lt_tensor *buf, const lt_sgd_opts *o,
                int first) {
  if (check_param(c, "SGD", p, g) < 0) return -1;
  lt_tensor *gc = lt_contiguous_raw(c, g);
  if (!gc) return -1;
  sgd_job j = {lt_f32(p), buf ? lt_f32(buf) : NULL, lt_f32(gc), o, first};
  lt_parallel_for(c, lt_numel(p), LT_PARALLEL_GRAIN, sgd_range, &j);
  lt_release(gc);
  return 0;
}

LT_SIMD static void adam_update(float *pp, const float *pg, float *pm, float *pv, float *px,
                                int64_t n, const lt_adam_opts *o, int64_t step) {
  double bc1 = 1.0 - pow(o->beta1, (double)step), bc2 = 1.0 - pow(o->beta2, (double)step);
  float step_size = (float)(o->lr / bc1), bc2_sqrt = (float)sqrt(bc2), eps = (float)o->eps;
  /* 1 - beta is formed in double and rounded once, as PyTorch's alpha= scalars are */
  float b1 = (float)o->beta1, b2 = (float)o->beta2, wd = (float)o->weight_decay;
  float a1 = (float)(1.0 - o->beta1), a2 = (float)(1.0 - o->beta2);
  float decay = (float)(1.0 - o->lr * o->weight_decay);
  const int coupled_wd = o->weight_decay != 0 && !o->decoupled;
  if (o->weight_decay != 0 && o->decoupled)
    for (int64_t i = 0; i < n; i++) pp[i] *= decay;
  /* one pass; the compiler unswitches the loop-invariant branches, so each variant is a
   * branch-free vector loop */
  for (int64_t i = 0; i < n; i++) {
    float gi = pg[i];
    if (coupled_wd) gi += wd * pp[i];
    float mi = pm[i] * b1 + a1 * gi;
    float vi = pv[i] * b2 + a2 * gi * gi; /* addcmul: (value * t1) * t2 */
    pm[i] = mi, pv[i] = vi;
    if (px) vi = px[i] = px[i] > vi ? px[i] : vi;
    float denom = sqrtf(vi) / bc2_sqrt + eps;
    pp[i] += -step_size * mi / denom; /* addcdiv: (value * t1) / t2 */
  }
}

typedef struct {
  float *p, *m, *v, *vmax;
  const float *g;
  const lt_adam_opts *o;
  int64_t step;
} adam_job;

static void adam_range(void *arg, int64_t b, int64_t e) {
  const adam_job *j = arg;
  adam_update(j->p + b, j->g + b, j->m + b, j->v + b, j->vmax ? j->vmax + b : NULL, e - b,
              j->o, j->step);
}

int lt_adam_step(lt_ctx *c, lt_tensor *p, lt_tensor *g, lt_tensor *m, lt_tensor *v,
                 lt_tensor *vmax, const lt_adam_opts *o, int64_t step) {
  if (check_param(c, o->decoupled ? "AdamW" : "Adam", p, g) < 0) return -1;
  lt_tensor *gc = lt_contiguous_raw(c, g);
  if (!gc) return -1;
  adam_job j = {lt_f32(p), lt_f32(m), lt_f32(v), vmax ? lt_f32(vmax) : NULL, lt_f32(gc), o, step};
  lt_parallel_for(c, lt_numel(p), LT_PARALLEL_GRAIN, adam_range, &j);
  lt_release(gc);
  return 0;
}
