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
  {"_sgd_step", l_sgd_step}, {"_adam_step", l_adam_step}, {NULL, NULL}};

/* stack: module table, ctx box */
void lb_open_nn(lua_State *L) { luaL_setfuncs(L, nn_funcs, 1); }
