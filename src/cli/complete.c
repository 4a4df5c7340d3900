/* Tab completion for the REPL: the names that can follow `a.b.c.` or `obj:` in the
 * current session. Only raw reads (lua_rawget, lua_next, lua_getmetatable,
 * lua_getupvalue): completing must never run user code, so __index functions, __pairs
 * and __name-dependent magic are looked through, never called. Lookups follow:
 *   - table fields, then the metatable's __index chain (tables);
 *   - an __index that is a Lua function: the metatable itself (the class convention
 *     `getmetatable(self)[k]`, as nn.Module does), and its own chain;
 *   - an __index that is a C function: the tables among its upvalues (the tensor
 *     metatable keeps its methods there), plus tensor properties;
 *   - nn.Module proxies: the fields stored in rawget(m, "_values"). */
#include <ctype.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_DEPTH 12   /* __index hops: metatables can form cycles */
#define MAX_NAMES 2000

typedef struct {
  const char *word;   /* what the user typed: "model.fc" */
  size_t stem;        /* length of the part kept as is: "model." */
  const char *prefix; /* the name being completed: "fc" */
  int methods;        /* after ':' only functions make sense */
  char **names;
  int n;
} req_t;

static const char *const tensor_props[] = {"shape", "dtype", "grad", "requires_grad",
                                           "is_leaf", "ndim", "grad_fn", NULL};
static const char *const keywords[] = {
  "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if",
  "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
  NULL};

static int is_ident(const char *s, size_t n) {
  if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_')) return 0;
  for (size_t i = 1; i < n; i++)
    if (!(isalnum((unsigned char)s[i]) || s[i] == '_')) return 0;
  return 1;
}

static int is_tensor_mt(lua_State *L, int mt) {
  lua_pushliteral(L, "__name");
  lua_rawget(L, mt);
  const char *name = lua_tostring(L, -1);
  int yes = name && strcmp(name, "lurn.Tensor") == 0;
  lua_pop(L, 1);
  return yes;
}

static void add(req_t *r, const char *name, size_t len) {
  size_t plen = strlen(r->prefix);
  if (!is_ident(name, len) || len < plen || memcmp(name, r->prefix, plen) != 0) return;
  if (name[0] == '_' && r->prefix[0] != '_') return; /* private by convention */
  if (r->n >= MAX_NAMES) return;
  char *s = malloc(r->stem + len + 1);
  if (!s) return;
  memcpy(s, r->word, r->stem);
  memcpy(s + r->stem, name, len);
  s[r->stem + len] = '\0';
  r->names[r->n++] = s;
}

/* names of the string keys of the table at idx (functions only for methods) */
static void add_keys(lua_State *L, req_t *r, int idx) {
  idx = lua_absindex(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) == LUA_TSTRING && (!r->methods || lua_type(L, -1) == LUA_TFUNCTION)) {
      size_t len;
      const char *k = lua_tolstring(L, -2, &len); /* a string key: no conversion */
      add(r, k, len);
    }
    lua_pop(L, 1);
  }
}

static void collect(lua_State *L, req_t *r, int idx, int depth);

/* what the metatable of the value at idx offers */
static void collect_meta(lua_State *L, req_t *r, int idx, int depth) {
  if (depth > MAX_DEPTH || !lua_getmetatable(L, idx)) return;
  int mt = lua_gettop(L);
  lua_pushliteral(L, "__index");
  int t = lua_rawget(L, mt);
  if (t == LUA_TTABLE) {
    collect(L, r, -1, depth + 1);
  } else if (t == LUA_TFUNCTION && lua_iscfunction(L, -1)) {
    for (int i = 1; lua_getupvalue(L, -1, i); i++) {
      if (lua_type(L, -1) == LUA_TTABLE) add_keys(L, r, -1);
      lua_pop(L, 1);
    }
    if (is_tensor_mt(L, mt) && !r->methods)
      for (int i = 0; tensor_props[i]; i++) add(r, tensor_props[i], strlen(tensor_props[i]));
  } else if (t == LUA_TFUNCTION) {
    collect(L, r, mt, depth + 1); /* a class: its methods and its parents' */
  }
  lua_settop(L, mt - 1);
}

static void collect(lua_State *L, req_t *r, int idx, int depth) {
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) == LUA_TTABLE) {
    add_keys(L, r, idx);
    lua_pushliteral(L, "_values"); /* an nn.Module proxy */
    if (lua_rawget(L, idx) == LUA_TTABLE) add_keys(L, r, -1);
    lua_pop(L, 1);
  }
  collect_meta(L, r, idx, depth);
}

/* Pushes v[key] for the value at idx, looked up like collect() looks, or nil. */
static void lookup(lua_State *L, int idx, const char *key, size_t klen, int depth) {
  idx = lua_absindex(L, idx);
  if (depth > MAX_DEPTH) {
    lua_pushnil(L);
    return;
  }
  if (lua_type(L, idx) == LUA_TTABLE) {
    lua_pushlstring(L, key, klen);
    if (lua_rawget(L, idx) != LUA_TNIL) return;
    lua_pop(L, 1);
    lua_pushliteral(L, "_values");
    if (lua_rawget(L, idx) == LUA_TTABLE) {
      lua_pushlstring(L, key, klen);
      if (lua_rawget(L, -2) != LUA_TNIL) {
        lua_remove(L, -2);
        return;
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  if (!lua_getmetatable(L, idx)) {
    lua_pushnil(L);
    return;
  }
  int mt = lua_gettop(L);
  lua_pushliteral(L, "__index");
  int t = lua_rawget(L, mt);
  if (t == LUA_TTABLE) {
    lookup(L, -1, key, klen, depth + 1);
  } else if (t == LUA_TFUNCTION && lua_iscfunction(L, -1)) {
    lua_pushnil(L);
    for (int i = 1; lua_getupvalue(L, -2, i); i++) {
      if (lua_type(L, -1) == LUA_TTABLE) {
        lua_pushlstring(L, key, klen);
        if (lua_rawget(L, -2) != LUA_TNIL) {
          lua_replace(L, -3); /* found: into the nil's slot */
          lua_pop(L, 1);
          break;
        }
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
    }
  } else if (t == LUA_TFUNCTION) {
    lookup(L, mt, key, klen, depth + 1);
  } else {
    lua_pushnil(L);
  }
  lua_replace(L, mt);
  lua_settop(L, mt);
}

static int cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* runs under lua_pcall: lookups push strings, which may fail for lack of memory */
static int pcomplete(lua_State *L) {
  req_t *r = lua_touserdata(L, 1);
  const char *w = r->word;
  const char *sep = NULL;
  for (const char *p = w; *p; p++)
    if (*p == '.' || *p == ':') sep = p;
  r->stem = sep ? (size_t)(sep - w) + 1 : 0;
  r->prefix = w + r->stem;
  r->methods = sep && *sep == ':';
  lua_pushglobaltable(L);
  if (!sep) {
    for (int i = 0; keywords[i]; i++) add(r, keywords[i], strlen(keywords[i]));
  } else { /* walk a.b.c: each part must be a name, and only the last separator a ':' */
    for (const char *p = w; p < sep;) {
      const char *e = p;
      while (e < sep && *e != '.' && *e != ':') e++;
      if (!is_ident(p, (size_t)(e - p)) || (*e == ':' && e != sep)) return 0;
      lookup(L, -1, p, (size_t)(e - p), 0);
      lua_remove(L, -2);
      if (lua_isnil(L, -1)) return 0;
      p = e + 1;
    }
  }
  collect(L, r, -1, 0);
  return 0;
}

int cli_complete(lua_State *L, const char *word, char ***out) {
  *out = NULL;
  req_t r = {.word = word, .names = malloc(MAX_NAMES * sizeof(char *))};
  if (!r.names) return 0;
  int top = lua_gettop(L);
  lua_pushcfunction(L, pcomplete);
  lua_pushlightuserdata(L, &r);
  lua_pcall(L, 1, 0, 0); /* on an error, keep what was found */
  lua_settop(L, top);
  qsort(r.names, (size_t)r.n, sizeof *r.names, cmp);
  int n = 0;
  for (int i = 0; i < r.n; i++) { /* drop duplicates (a method found twice in a chain) */
    if (n > 0 && strcmp(r.names[n - 1], r.names[i]) == 0) free(r.names[i]);
    else r.names[n++] = r.names[i];
  }
  if (n == 0) {
    free(r.names);
    return 0;
  }
  *out = r.names;
  return n;
}
