/* Binding of the fused nn ops and the optimizer kernels (used by lua/lurn/nn and
 * lua/lurn/optim; also public as lurn.linear and lurn.nll_loss). */
#include <string.h>

#include "binding.h"

static int reduction_arg(lua_State *L, const char *r) {
  if (!strcmp(r, "none")) return 0;
  if (!strcmp(r, "mean")) return 1;
  if (!strcmp(r, "sum")) return 2;
  return luaL_error(L, "reduction must be \"mean\", \"sum\" or \"none\" (got \"%s\")", r);
}

/* lurn.linear(x, weight [, bias]): x @ weight^T + bias */
static int l_linear(lua_State *L) {
  lt_tensor *x = lb_check(L, 1), *W = lb_check(L, 2);
  lt_tensor *b = lua_isnoneornil(L, 3) ? NULL : lb_check(L, 3);
  LB_RETURN(L, lt_linear(lb_ctx(L), x, W, b));
}

/* lurn._linear_try(x, weight, bias [, relu]): the result, or nil and the core's message,
 * so that nn.Linear can raise it with its module path without a pcall per forward. With
 * relu true, relu(linear) fused (nn.Sequential's Linear followed by ReLU). */
static int l_linear_try(lua_State *L) {
  lt_tensor *x = lb_totensor(L, 1), *W = lb_check(L, 2);
  if (!x) { /* a wrong input is the caller's mistake: nn.Linear names itself in it */
    lua_pushnil(L);
    lua_pushfstring(L, "linear: expected a tensor input, got %s", luaL_typename(L, 1));
    return 2;
  }
  lt_tensor *b = lua_isnoneornil(L, 3) ? NULL : lb_check(L, 3);
  int relu = lua_toboolean(L, 4);
  lb_box *box = lb_newbox(L);
  if ((box->t = lt_linear_act(lb_ctx(L), x, W, b, relu))) return lb_done(L, box);
  lua_pushnil(L);
  lua_pushstring(L, lb_ctx(L)->err);
  return 2;
}

/* lurn._linear_chain(x, chain): a run of an nn.Sequential's layers in one call, chain[i]
 * = {linear_module, relu} (relu: any true value fuses a ReLU): each layer is relu?(x W^T + b) with the module's current
 * weight and bias, and only the last output becomes a Lua value. Returns the output, or
 * nil, the core's message and the index of the failing layer (nn.Sequential reruns that
 * one through its module, which names itself in the error). */
static int l_linear_chain(lua_State *L) {
  luaL_checktype(L, 2, LUA_TTABLE);
  lt_tensor *x = lb_totensor(L, 1);
  if (!x) {
    lua_pushnil(L);
    lua_pushfstring(L, "linear: expected a tensor input, got %s", luaL_typename(L, 1));
    lua_pushinteger(L, 1);
    return 3;
  }
  lt_ctx *c = lb_ctx(L);
  /* the result's box holds the current activation from the start: a Lua error in
   * between (a freed weight) leaves it to the GC, never leaked */
  lb_box *box = lb_newbox(L);
  int top = lua_gettop(L);
  lt_retain(x);
  box->t = x;
  for (lua_Integer i = 1, n = (lua_Integer)lua_rawlen(L, 2); i <= n; i++) {
    if (lua_rawgeti(L, 2, i) != LUA_TTABLE ||         /* {module, relu} */
        lua_rawgeti(L, -1, 1) != LUA_TTABLE ||        /* the Linear */
        (lua_pushliteral(L, "_values"), lua_rawget(L, -2)) != LUA_TTABLE) /* its fields */
      return luaL_error(L, "_linear_chain: layer %d is not {nn.Linear, relu}", (int)i);
    lua_getfield(L, -1, "weight");
    lt_tensor *W = lb_check(L, -1);
    lua_getfield(L, -2, "bias");
    lt_tensor *b = lua_isnil(L, -1) ? NULL : lb_check(L, -1);
    lua_rawgeti(L, top + 1, 2);   /* its relu flag */
    int relu = lua_toboolean(L, -1);
    lt_tensor *y = lt_linear_act(c, box->t, W, b, relu);
    lua_settop(L, top);
    if (!y) {
      lua_pushnil(L);
      lua_pushstring(L, c->err);
      lua_pushinteger(L, i);
      return 3;
    }
    lt_release(box->t);
    box->t = y;
  }
  return lb_done(L, box);
}

/* lurn._cross_entropy(logits, int64 target, weight|nil, ignore_index, reduction, name):
 * log_softmax over the class dim and NLL in one call, the common case of
 * F.cross_entropy (no label smoothing) */
static int l_cross_entropy(lua_State *L) {
  lt_tensor *x = lb_check(L, 1), *target = lb_check(L, 2);
  lt_tensor *weight = lua_isnil(L, 3) ? NULL : lb_check(L, 3);
  int64_t ignore = lb_check_int(L, 4);
  int reduction = reduction_arg(L, luaL_checkstring(L, 5));
  const char *name = luaL_checkstring(L, 6);
  lt_ctx *c = lb_ctx(L);
  if (x->ndim != 1 && x->ndim != 2)
    return luaL_error(L, "%s: input must be [N, C] logits (or [C]), got %s", name, LT_SHAPE(x));
  if (x->dtype != LT_F32)
    return luaL_error(L, "%s: input must be float32 logits, got %s %s", name,
                      lt_dtype_name(x->dtype), LT_SHAPE(x));
  lb_box *logp = lb_newbox(L);
  if (!(logp->t = lt_softmax(c, x, x->ndim - 1, 1))) return lb_raise(L);
  LB_RETURN(L, lt_nll_loss(c, name, logp->t, target, weight, ignore, reduction));
}

/* lurn.nll_loss(logp, target [, {weight=, ignore_index=, reduction=, name=}]) */
static int l_nll_loss(lua_State *L) {
  lt_tensor *logp = lb_check(L, 1), *target = lb_check(L, 2), *weight = NULL;
  int64_t ignore = -100;
  int reduction = 1;
  const char *name = "nll_loss";
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    if (lua_getfield(L, 3, "weight") != LUA_TNIL) weight = lb_check(L, -1);
    if (lua_getfield(L, 3, "ignore_index") != LUA_TNIL) ignore = lb_check_int(L, -1);
    if (lua_getfield(L, 3, "reduction") != LUA_TNIL) reduction = reduction_arg(L, luaL_checkstring(L, -1));
    if (lua_getfield(L, 3, "name") != LUA_TNIL) name = luaL_checkstring(L, -1);
    /* the values stay on the stack (name and weight must outlive the call) */
  }
  LB_RETURN(L, lt_nll_loss(lb_ctx(L), name, logp, target, weight, ignore, reduction));
}

/* lurn.binary_cross_entropy(p, target [, {weight=, reduction=, name=}]) */
static int l_bce(lua_State *L) {
  lt_tensor *x = lb_check(L, 1), *y = lb_check(L, 2), *w = NULL;
  int reduction = 1;
  const char *name = "binary_cross_entropy";
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    if (lua_getfield(L, 3, "weight") != LUA_TNIL) w = lb_check(L, -1);
    if (lua_getfield(L, 3, "reduction") != LUA_TNIL) reduction = reduction_arg(L, luaL_checkstring(L, -1));
    if (lua_getfield(L, 3, "name") != LUA_TNIL) name = luaL_checkstring(L, -1);
  }
  LB_RETURN(L, lt_bce(lb_ctx(L), name, x, y, w, reduction));
}

static double num_field(lua_State *L, int t, const char *k, double def) {
  lua_getfield(L, t, k);
  double v = lua_isnil(L, -1) ? def : luaL_checknumber(L, -1);
  lua_pop(L, 1);
  return v;
}

/* The whole of one parameter group's update in C: for every parameter that requires grad
 * and has one, its state table (created on first use, keyed by the parameter) is updated
 * in place. Saves several Lua->C crossings per parameter per step. */
static lt_tensor *state_tensor(lua_State *L, int st, const char *field, const lt_tensor *like) {
  lt_tensor *t = NULL;
  if (lua_getfield(L, st, field) != LUA_TNIL) t = lb_check(L, -1);
  lua_pop(L, 1);
  if (t) {
    if (!lt_same_shape(t, like))
      luaL_error(L, "optimizer state '%s' has shape %s but its parameter %s", field, LT_SHAPE(t),
                 LT_SHAPE(like));
    return t;
  }
  lb_box *b = lb_newbox(L);
  if (!(b->t = lt_full(lb_ctx(L), LT_F32, like->ndim, like->shape, 0.0))) lb_raise(L);
  lua_setfield(L, st, field);
  return b->t;
}

/* for each trainable parameter of group (arg 1) with a gradient, push its state table
 * (from arg 2, keyed by the parameter) and call fn; returns nothing */
typedef void (*param_fn)(lua_State *L, lt_tensor *p, int st, int group, void *ud);

static void each_param(lua_State *L, param_fn fn, void *ud) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_getfield(L, 1, "params");
  int params = lua_gettop(L);
  luaL_checktype(L, params, LUA_TTABLE);
  for (lua_Integer i = 1, n = (lua_Integer)lua_rawlen(L, params); i <= n; i++) {
    int top = lua_gettop(L);
    lua_rawgeti(L, params, i);
    lt_tensor *p = lb_check(L, -1);
    if (p->requires_grad && p->grad) {
      lua_pushvalue(L, -1);
      if (lua_rawget(L, 2) == LUA_TNIL) { /* state[p] = {} */
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -2);
        lua_pushvalue(L, -2);
        lua_rawset(L, 2);
      }
      fn(L, p, lua_gettop(L), 1, ud);
    }
    lua_settop(L, top);
  }
}

static void adam_one(lua_State *L, lt_tensor *p, int st, int group, void *ud) {
  const lt_adam_opts *o = ud;
  lua_getfield(L, group, "amsgrad");
  int ams = lua_toboolean(L, -1);
  lua_pop(L, 1);
  lt_tensor *m = state_tensor(L, st, "exp_avg", p), *v = state_tensor(L, st, "exp_avg_sq", p);
  lt_tensor *vmax = ams ? state_tensor(L, st, "max_exp_avg_sq", p) : NULL;
  lua_getfield(L, st, "step");
  lua_Integer step = lua_tointeger(L, -1) + 1;
  lua_pop(L, 1);
  lua_pushinteger(L, step);
  lua_setfield(L, st, "step");
  if (lt_adam_step(lb_ctx(L), p, p->grad, m, v, vmax, o, (int64_t)step) < 0) lb_raise(L);
}

/* lurn._adam_group(group, state, decoupled) */
static int l_adam_group(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  double b1 = 0.9, b2 = 0.999;
  if (lua_getfield(L, 1, "betas") == LUA_TTABLE) {
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    b1 = luaL_checknumber(L, -2), b2 = luaL_checknumber(L, -1);
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
  lt_adam_opts o = {num_field(L, 1, "lr", 1e-3), b1, b2, num_field(L, 1, "eps", 1e-8),
                    num_field(L, 1, "weight_decay", 0), lua_toboolean(L, 3)};
  lua_settop(L, 2);
  each_param(L, adam_one, &o);
  return 0;
}

static void sgd_one(lua_State *L, lt_tensor *p, int st, int group, void *ud) {
  const lt_sgd_opts *o = ud;
  (void)group;
  lt_tensor *buf = NULL;
  int first = 0;
  if (o->momentum != 0) {
    first = lua_getfield(L, st, "momentum_buffer") == LUA_TNIL;
    lua_pop(L, 1);
    buf = state_tensor(L, st, "momentum_buffer", p);
  }
  if (lt_sgd_step(lb_ctx(L), p, p->grad, buf, o, first) < 0) lb_raise(L);
}

/* lurn._sgd_group(group, state) */
static int l_sgd_group(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lt_sgd_opts o = {num_field(L, 1, "lr", 0), num_field(L, 1, "momentum", 0),
                   num_field(L, 1, "dampening", 0), num_field(L, 1, "weight_decay", 0), 0};
  lua_getfield(L, 1, "nesterov");
  o.nesterov = lua_toboolean(L, -1);
  lua_settop(L, 2);
  each_param(L, sgd_one, &o);
  return 0;
}

/* lurn._sgd_step(param, grad, momentum_buf_or_nil, group, first) */
static int l_sgd_step(lua_State *L) {
  lt_tensor *p = lb_check(L, 1), *g = lb_check(L, 2);
  lt_tensor *buf = lua_isnil(L, 3) ? NULL : lb_check(L, 3);
  luaL_checktype(L, 4, LUA_TTABLE);
  lt_sgd_opts o = {num_field(L, 4, "lr", 0), num_field(L, 4, "momentum", 0),
                   num_field(L, 4, "dampening", 0), num_field(L, 4, "weight_decay", 0), 0};
  lua_getfield(L, 4, "nesterov");
  o.nesterov = lua_toboolean(L, -1);
  if (o.momentum != 0 && !buf) return luaL_error(L, "SGD: momentum needs a buffer");
  if (buf && !lt_same_shape(buf, p)) return luaL_error(L, "SGD: momentum buffer shape mismatch");
  if (lt_sgd_step(lb_ctx(L), p, g, buf, &o, lua_toboolean(L, 5)) < 0) return lb_raise(L);
  return 0;
}

/* lurn._adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq_or_nil, group, step, decoupled) */
static int l_adam_step(lua_State *L) {
  lt_tensor *p = lb_check(L, 1), *g = lb_check(L, 2), *m = lb_check(L, 3), *v = lb_check(L, 4);
  lt_tensor *vmax = lua_isnil(L, 5) ? NULL : lb_check(L, 5);
  luaL_checktype(L, 6, LUA_TTABLE);
  lua_getfield(L, 6, "betas");
  double b1 = 0.9, b2 = 0.999;
  if (lua_istable(L, -1)) {
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    b1 = luaL_checknumber(L, -2), b2 = luaL_checknumber(L, -1);
  }
  lt_adam_opts o = {num_field(L, 6, "lr", 1e-3), b1, b2, num_field(L, 6, "eps", 1e-8),
                    num_field(L, 6, "weight_decay", 0), lua_toboolean(L, 8)};
  int64_t step = lb_check_int(L, 7);
  if (!lt_same_shape(m, p) || !lt_same_shape(v, p) || (vmax && !lt_same_shape(vmax, p)))
    return luaL_error(L, "Adam: state shapes do not match the parameter %s", LT_SHAPE(p));
  if (lt_adam_step(lb_ctx(L), p, g, m, v, vmax, &o, step) < 0) return lb_raise(L);
  return 0;
}

static const luaL_Reg nn_funcs[] = {
  {"linear", l_linear}, {"nll_loss", l_nll_loss}, {"binary_cross_entropy", l_bce},
  {"_sgd_step", l_sgd_step}, {"_adam_step", l_adam_step}, {"_adam_group", l_adam_group},
  {"_sgd_group", l_sgd_group}, {"_linear_try", l_linear_try}, {"_cross_entropy", l_cross_entropy},
  {"_linear_chain", l_linear_chain},
  {NULL, NULL}};

/* stack: module table, ctx box */
void lb_open_nn(lua_State *L) { luaL_setfuncs(L, nn_funcs, 1); }
