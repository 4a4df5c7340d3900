/* lurn_call and the global tensor accessors: values cross between C and Lua here.
 * A tensor going to Lua is boxed with its own reference (lb_newbox before anything can
 * fail, as the binding does); one coming back gets a reference for the host. */
#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../lua/binding.h"
#include "embed.h"

static void push_tensor(lua_State *L, lt_tensor *t) {
  lb_box *b = lb_newbox(L);
  lt_retain(t);
  b->t = t;
}

/* pushes the value at a dotted path from the globals ("train", "model.predict") */
static void push_path(lua_State *L, const char *path) {
  const char *dot = strchr(path, '.');
  lua_pushglobaltable(L);
  for (const char *p = path;; p = dot + 1, dot = strchr(p, '.')) {
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    if (lua_type(L, -1) != LUA_TTABLE && lua_type(L, -1) != LUA_TUSERDATA) {
      lua_pop(L, 1);
      lua_pushnil(L);
      return;
    }
    lua_pushlstring(L, p, n);
    lua_gettable(L, -2);
    lua_remove(L, -2);
    if (!dot) return;
  }
}

typedef struct {
  const char *fn;
  const lurn_Value *args;
  int nargs;
  lurn_Value *res;
  int nres;
} call_t;

static int p_call(lua_State *L) {
  em_job *j = lua_touserdata(L, 1);
  call_t *c = j->arg;
  luaL_checkstack(L, c->nargs + c->nres + 8, "lurn_call: too many values");
  push_path(L, c->fn);
  if (!lua_isfunction(L, -1) && !luaL_getmetafield(L, -1, "__call"))
    return em_fail(j, LURN_ERRTYPE, "lurn_call: '%s' is not a function (it is %s)", c->fn,
                   luaL_typename(L, -1));
  lua_settop(L, 2); /* the function at 2 */
  for (int i = 0; i < c->nargs; i++) {
    const lurn_Value *v = &c->args[i];
    switch (v->type) {
    case LURN_NIL: lua_pushnil(L); break;
    case LURN_BOOLEAN: lua_pushboolean(L, v->number != 0); break;
    case LURN_TENSOR: push_tensor(L, (lt_tensor *)v->tensor); break;
    case LURN_NUMBER: /* integral values arrive as Lua integers: loop bounds, indices */
      if (v->number == floor(v->number) && fabs(v->number) < 9.0e15)
        lua_pushinteger(L, (lua_Integer)v->number);
      else
        lua_pushnumber(L, v->number);
      break;
    }
  }
  lua_call(L, c->nargs, c->nres);
  for (int i = 0; i < c->nres; i++) {
    int idx = 2 + i; /* the results replaced the function at 2 */
    lurn_Value *r = &c->res[i];
    switch (lua_type(L, idx)) {
    case LUA_TNIL: break;
    case LUA_TNUMBER: r->type = LURN_NUMBER, r->number = lua_tonumber(L, idx); break;
    case LUA_TBOOLEAN: r->type = LURN_BOOLEAN, r->number = lua_toboolean(L, idx); break;
    default: {
      lt_tensor *t = lb_totensor(L, idx); /* raises for a freed tensor */
      if (!t)
        return em_fail(j, LURN_ERRTYPE,
                       "lurn_call: result %d of '%s' is a %s (results may be nil, numbers, "
                       "booleans or tensors)", i + 1, c->fn, luaL_typename(L, idx));
      lt_retain(t);
      r->type = LURN_TENSOR, r->tensor = (lurn_Tensor *)t;
    }
    }
  }
  return 0;
}

static int check_values(lurn_State *S, const lurn_Value *v, int n) {
  for (int i = 0; i < n; i++) {
    if (v[i].type == LURN_TENSOR && !v[i].tensor) {
      snprintf(S->err, sizeof S->err, "lurn_call: argument %d is a NULL tensor", i + 1);
      return 0;
    }
    if (v[i].type != LURN_NIL && v[i].type != LURN_NUMBER && v[i].type != LURN_BOOLEAN &&
        v[i].type != LURN_TENSOR) {
      snprintf(S->err, sizeof S->err, "lurn_call: argument %d has an unknown type %d", i + 1,
               (int)v[i].type);
      return 0;
    }
  }
  return 1;
}

int lurn_call(lurn_State *S, const char *fn, const lurn_Value *args, int nargs,
              lurn_Value *results, int nresults) {
  if (!S) return em_nostate();
  if (results && nresults > 0)
    for (int i = 0; i < nresults; i++) results[i] = (lurn_Value){LURN_NIL, 0, NULL};
  const char *bad = !fn                         ? "NULL function name"
                    : nargs < 0 || nargs > 200   ? "nargs out of range (0..200)"
                    : nargs > 0 && !args         ? "NULL args with nargs > 0"
                    : nresults < 0 || nresults > 200 ? "nresults out of range (0..200)"
                    : nresults > 0 && !results   ? "NULL results with nresults > 0"
                                                 : NULL;
  if (bad) {
    snprintf(S->err, sizeof S->err, "lurn_call: %s", bad);
    return LURN_ERRARG;
  }
  if (!check_values(S, args, nargs)) return LURN_ERRARG;
  call_t c = {fn, args, nargs, results, nresults};
  int st = em_protect(S, p_call, &c);
  if (st != LURN_OK) /* nothing to release for the host after an error */
    for (int i = 0; i < nresults; i++) {
      if (results[i].type == LURN_TENSOR) lurn_tensor_release(results[i].tensor);
      results[i] = (lurn_Value){LURN_NIL, 0, NULL};
    }
  return st;
}

/* ---- globals ---- */
typedef struct {
  const char *name;
  lt_tensor *t;
} global_t;

static int p_set_global(lua_State *L) {
  em_job *j = lua_touserdata(L, 1);
  global_t *g = j->arg;
  if (g->t) push_tensor(L, g->t);
  else lua_pushnil(L);
  lua_setglobal(L, g->name);
  return 0;
}

static int p_get_global(lua_State *L) {
  em_job *j = lua_touserdata(L, 1);
  global_t *g = j->arg;
  lua_getglobal(L, g->name);
  lt_tensor *t = lb_totensor(L, -1);
  if (!t)
    return em_fail(j, LURN_ERRTYPE, "global '%s' is %s, not a tensor", g->name,
                   luaL_typename(L, -1));
  lt_retain(t);
  g->t = t;
  return 0;
}

int lurn_set_global_tensor(lurn_State *S, const char *name, lurn_Tensor *t) {
  if (!S) return em_nostate();
  if (!name) {
    snprintf(S->err, sizeof S->err, "lurn_set_global_tensor: NULL name");
    return LURN_ERRARG;
  }
  global_t g = {name, (lt_tensor *)t};
  return em_protect(S, p_set_global, &g);
}

int lurn_get_global_tensor(lurn_State *S, const char *name, lurn_Tensor **out) {
  if (out) *out = NULL;
  if (!S) return em_nostate();
  if (!name || !out) {
    snprintf(S->err, sizeof S->err, "lurn_get_global_tensor: NULL %s", name ? "out" : "name");
    return LURN_ERRARG;
  }
  global_t g = {name, NULL};
  int st = em_protect(S, p_get_global, &g);
  if (st == LURN_OK) *out = (lurn_Tensor *)g.t;
  else lt_release(g.t);
  return st;
}
