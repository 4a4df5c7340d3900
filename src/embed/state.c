/* lurn_State: open, close, protected calls, running chunks, errors. Every entry point
 * that touches Lua goes through em_protect, so Lua errors (longjmps) end at lua_pcall
 * and come back as status codes, as lua.c's pmain does for the interpreter. */
#include <lauxlib.h>
#include <lualib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lua/binding.h"
#include "embed.h"

int luaopen_lurn(lua_State *L);

static const char *const status_names[] = {"LURN_OK",     "LURN_ERRRUN",  "LURN_ERRSYNTAX",
                                           "LURN_ERRMEM",  "LURN_ERRFILE", "LURN_ERRARG",
                                           "LURN_ERRTYPE", "LURN_ERRSTATE"};

const char *lurn_status_name(int status) {
  if (status < 0 || status > LURN_ERRSTATE) return "LURN_?";
  return status_names[status];
}

const char *lurn_version(void) { return LURN_VERSION; }

const char *lurn_last_error(const lurn_State *S) {
  return S ? S->err : "lurn: NULL state (lurn_open failed, or lurn_close has closed it)";
}

int em_nostate(void) { return LURN_ERRSTATE; }

int em_fail(em_job *j, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(j->S->err, sizeof j->S->err, fmt, ap);
  va_end(ap);
  j->code = code;
  return 0;
}

static int map_status(int st) {
  switch (st) {
  case LUA_OK: return LURN_OK;
  case LUA_ERRSYNTAX: return LURN_ERRSYNTAX;
  case LUA_ERRMEM: return LURN_ERRMEM;
  case LUA_ERRFILE: return LURN_ERRFILE;
  default: return LURN_ERRRUN; /* LUA_ERRRUN, LUA_ERRERR */
  }
}

static void stop_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lurn_State *S = *(lurn_State **)lua_getextraspace(L);
  lua_sethook(L, NULL, 0, 0);
  if (S->interrupt) { /* a kernel may have taken it already and raised */
    S->interrupt = 0;
    luaL_error(L, "interrupted");
  }
}

void lurn_interrupt(lurn_State *S) {
  if (!S) return;
  S->interrupt = 1;
  lua_sethook(S->L, stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

int em_protect(lurn_State *S, lua_CFunction f, void *arg) {
  lua_State *L = S->L;
  em_job job = {S, LURN_OK, arg};
  S->err[0] = '\0';
  S->interrupt = 0; /* a stop asked between calls is for no one */
  lua_settop(L, 0);
  /* pushing light C functions and pointers allocates nothing: nothing here can raise */
  lua_pushcfunction(L, lb_traceback);
  lua_pushcfunction(L, f);
  lua_pushlightuserdata(L, &job);
  int st = lua_pcall(L, 1, 0, 1);
  if (st != LUA_OK) {
    /* only a string is read: converting a number would allocate outside a pcall */
    const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    snprintf(S->err, sizeof S->err, "%s", msg ? msg : "(error object is not a string)");
    job.code = map_status(st);
  }
  lua_settop(L, 0);
  lua_sethook(L, NULL, 0, 0);
  S->interrupt = 0;
  return job.code;
}

static void *default_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)ud, (void)osize;
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  return realloc(ptr, nsize);
}

static int panic(lua_State *L) { /* unreachable by design: every call is protected */
  const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
  fprintf(stderr, "lurn: unprotected error in the embedding API (a bug): %s\n", msg);
  return 0; /* Lua aborts */
}

static int p_open(lua_State *L) {
  em_job *j = lua_touserdata(L, 1);
  luaL_openlibs(L);
  luaL_requiref(L, "lurn", luaopen_lurn, 1); /* and the global `lurn` */
  j->S->ctx = lb_state_ctx(L);
  j->S->ctx->interrupt = &j->S->interrupt;
  return 0;
}

lurn_State *lurn_open_with_allocator(lurn_Alloc alloc, void *ud) {
  if (!alloc) alloc = default_alloc, ud = NULL;
  lurn_State *S = alloc(ud, NULL, 0, sizeof *S);
  if (!S) return NULL;
  memset(S, 0, sizeof *S);
  S->alloc = alloc;
  S->ud = ud;
  S->L = lua_newstate(alloc, ud);
  if (!S->L) {
    alloc(ud, S, sizeof *S, 0);
    return NULL;
  }
  *(lurn_State **)lua_getextraspace(S->L) = S;
  lua_atpanic(S->L, panic);
  if (em_protect(S, p_open, NULL) != LURN_OK) {
    lua_close(S->L);
    alloc(ud, S, sizeof *S, 0);
    return NULL;
  }
  return S;
}

lurn_State *lurn_open(void) { return lurn_open_with_allocator(NULL, NULL); }

void lurn_close(lurn_State **pS) {
  if (!pS || !*pS) return;
  lurn_State *S = *pS;
  *pS = NULL;
  /* tensors may outlive S (they keep the context); the flag does not */
  if (S->ctx) S->ctx->interrupt = NULL;
  lua_close(S->L);
  S->alloc(S->ud, S, sizeof *S, 0);
}

lua_State *lurn_lua(lurn_State *S) { return S ? S->L : NULL; }

/* ---- running chunks ---- */
typedef struct {
  const char *src;
  int is_file;
} chunk_t;

static int p_run(lua_State *L) {
  em_job *j = lua_touserdata(L, 1);
  const chunk_t *c = j->arg;
  int st = c->is_file ? luaL_loadfile(L, c->src) : luaL_loadstring(L, c->src);
  if (st != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    return em_fail(j, map_status(st), "%s", msg ? msg : "cannot load the chunk");
  }
  lua_call(L, 0, 0);
  return 0;
}

static int run(lurn_State *S, const char *src, int is_file) {
  if (!S) return em_nostate();
  if (!src) {
    snprintf(S->err, sizeof S->err, "lurn_%s: NULL %s", is_file ? "dofile" : "dostring",
             is_file ? "path" : "code");
    return LURN_ERRARG;
  }
  chunk_t c = {src, is_file};
  return em_protect(S, p_run, &c);
}

int lurn_dofile(lurn_State *S, const char *path) { return run(S, path, 1); }
int lurn_dostring(lurn_State *S, const char *code) { return run(S, code, 0); }
