/* Runtime settings and the context's registry entry: lurn.set_num_threads,
 * lurn.get_num_threads, lurn.detect_anomaly, and for C code outside the binding (the
 * lurn executable, the embedding API): lb_state_ctx, which reaches the context of a
 * lua_State, and lb_traceback, their message handler for protected calls. */
#include "binding.h"

#define LB_CTX_KEY "lurn.ctx"

static int l_set_num_threads(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n >= 1 && n <= 4096, 1, "thread count must be in 1..4096");
  lt_set_num_threads(lb_ctx(L), (int)n);
  return 0;
}

static int l_get_num_threads(lua_State *L) {
  lua_pushinteger(L, lt_get_num_threads(lb_ctx(L)));
  return 1;
}

/* lurn.detect_anomaly(on): turn the NaN/Inf checks of every op and every backward on or
 * off and return the previous setting; with no argument, return the current one. */
static int l_detect_anomaly(lua_State *L) {
  lt_ctx *c = lb_ctx(L);
  lua_pushboolean(L, c->detect_anomaly);
  if (!lua_isnone(L, 1)) {
    luaL_checktype(L, 1, LUA_TBOOLEAN);
    c->detect_anomaly = lua_toboolean(L, 1);
  }
  return 1;
}

static const luaL_Reg runtime_funcs[] = {
  {"set_num_threads", l_set_num_threads}, {"get_num_threads", l_get_num_threads},
  {"detect_anomaly", l_detect_anomaly}, {NULL, NULL}};

/* stack: module table, ctx box; adds the functions, records the box in the registry
 * and pops it */
void lb_open_runtime(lua_State *L) {
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, LB_CTX_KEY);
  luaL_setfuncs(L, runtime_funcs, 1);
}

int lb_traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) { /* an error object that is not a string */
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

lt_ctx *lb_state_ctx(lua_State *L) {
  lt_ctx *c = NULL;
  if (lua_getfield(L, LUA_REGISTRYINDEX, LB_CTX_KEY) == LUA_TUSERDATA)
    c = *(lt_ctx **)lua_touserdata(L, -1);
  lua_pop(L, 1);
  return c;
}
