/* Shared helpers of the Lua binding. Every lurn C function has the context box as
 * upvalue 1. Results are boxed in a userdata created *before* the core call, so a Lua
 * error (even out of memory) can never leak a C tensor. */
#ifndef LURN_BINDING_H
#define LURN_BINDING_H

#include <lauxlib.h>
#include <lua.h>

#include "../core/core.h"

#define LB_TENSOR_MT "lurn.Tensor"

typedef struct { lt_tensor *t; } lb_box;

lt_ctx *lb_ctx(lua_State *L);
lb_box *lb_newbox(lua_State *L);               /* pushes an empty tensor box */
int lb_done(lua_State *L, lb_box *b);          /* raises ctx->err if b->t is NULL; returns 1 */
lt_tensor *lb_check(lua_State *L, int idx);    /* a live tensor at idx, or an arg error */
lt_tensor *lb_totensor(lua_State *L, int idx); /* NULL when idx is not a tensor */
int lb_raise(lua_State *L);                    /* luaL_error with ctx->err */
void lb_gc_pressure(lua_State *L);
/* shape from numbers at idx.. or one table at idx; returns the index after it */
int lb_check_shape(lua_State *L, int idx, int *ndim, int64_t *shape);
lt_dtype lb_check_dtype(lua_State *L, int idx);
int64_t lb_check_int(lua_State *L, int idx);   /* an integer (or integral float) */
/* a number, with its exact int64 when it is a Lua integer (core's lt_num) */
lt_num lb_check_num(lua_State *L, int idx);

/* a tensor-valued result: box, compute, raise or return */
#define LB_RETURN(L, expr)          \
  do {                              \
    lb_box *box_ = lb_newbox(L);    \
    box_->t = (expr);               \
    return lb_done(L, box_);        \
  } while (0)

void lb_open_tensor(lua_State *L);      /* metatable + methods; expects ctx box at -1 */
void lb_tensor_funcs(lua_State *L);     /* math functions into the module table at -2 */
extern const luaL_Reg lb_tensor_methods[];
extern const luaL_Reg lb_io_funcs[];        /* lurn.save, lurn.load (l_io.c) */
extern const luaL_Reg lb_data_funcs[];      /* lurn.read_npy, save_npy, read_idx, read_csv (l_data.c) */
void lb_open_nn(lua_State *L);          /* nn ops into the module table at -2; pops ctx */
void lb_open_random(lua_State *L);      /* lurn.random into the module table at -2; pops ctx */
void lb_open_runtime(lua_State *L);     /* thread settings into the module at -2; pops ctx */
/* the context of L's lurn module (NULL before require "lurn"); may raise (memory) */
lt_ctx *lb_state_ctx(lua_State *L);
/* message handler for lua_pcall: the message (or a description of a non-string error
 * object) with a traceback, as the stock lua interpreter prints it */
int lb_traceback(lua_State *L);

#endif
