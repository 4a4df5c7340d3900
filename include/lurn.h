/* lurn.h: embed the lurn runtime (tensors, autograd, lurn.nn, lurn.optim and the Lua 5.4
 * library that drives them) in a C program. Link with liblurn (pkg-config lurn, or CMake
 * find_package(lurn) and the target lurn::lurn).
 *
 * Usage
 *
 *   lurn_State *S = lurn_open();                     // NULL: out of memory
 *   if (lurn_dofile(S, "model.lua") != LURN_OK)      // defines global functions
 *     fprintf(stderr, "%s\n", lurn_last_error(S));
 *
 *   int64_t shape[2] = {64, 2};
 *   lurn_Tensor *x = lurn_tensor_from_buffer(S, xs, 2, shape, LURN_COPY);
 *   lurn_Value args[2] = {lurn_value_tensor(x), lurn_value_number(100)};
 *   lurn_Value out[1];
 *   if (lurn_call(S, "train", args, 2, out, 1) == LURN_OK && out[0].type == LURN_TENSOR) {
 *     lurn_tensor_read(out[0].tensor, preds, 64);    // row-major floats into your buffer
 *     lurn_tensor_release(out[0].tensor);            // results are yours to release
 *   }
 *   lurn_tensor_release(x);
 *   lurn_close(&S);                                  // sets S to NULL
 *
 * Errors. Every function that can fail returns a status (LURN_OK or an LURN_ERR* code)
 * or NULL, and leaves a message in lurn_last_error(S). All Lua work runs inside
 * lua_pcall: no Lua error (longjmp) ever reaches the host, and after any error the state
 * stays usable, out of memory included. NULL handles give LURN_ERRSTATE (or NULL / -1),
 * never a crash.
 *
 * States. Each lurn_State is independent (its own Lua state, random generators, grad mode):
 * open as many as you like; the library keeps no globals. A state, and the tensors used
 * with it, must be used by one thread at a time.
 *
 * Tensors. A lurn_Tensor is reference counted. Every lurn_Tensor* a function returns
 * carries one reference that the caller owns and must give back with
 * lurn_tensor_release; arguments are borrowed (lurn copies what it keeps). A tensor
 * stays valid until its last reference is gone, even after lurn_close of the state that
 * made it (its memory is freed then). Lua holds its own references, so releasing yours
 * never pulls a tensor from under a script.
 */
#ifndef LURN_H
#define LURN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LURN_VERSION "0.1.0"

typedef struct lurn_State lurn_State;   /* one runtime: a Lua state with lurn loaded */
typedef struct lurn_Tensor lurn_Tensor; /* a tensor (float32, int64 or bool) */
typedef struct lua_State lua_State;     /* from lua.h, for lurn_lua */

/* Status codes */
enum {
  LURN_OK = 0,
  LURN_ERRRUN,    /* an error raised by Lua code; the message has a traceback */
  LURN_ERRSYNTAX, /* a chunk did not compile */
  LURN_ERRMEM,    /* out of memory; the state stays usable */
  LURN_ERRFILE,   /* a file could not be opened or read */
  LURN_ERRARG,    /* a bad argument from the host: NULL pointer, bad count, bad shape */
  LURN_ERRTYPE,   /* a value of the wrong type: calling a nil global, a result that is
                     a table, a global that is not a tensor */
  LURN_ERRSTATE   /* no state: a NULL handle (never opened, or closed) */
};

/* ---- states ---- */

/* The allocator of a state, with lua_Alloc's contract (see the Lua manual): nsize 0
 * frees ptr and returns NULL; otherwise it (re)allocates and returns NULL on failure. */
typedef void *(*lurn_Alloc)(void *ud, void *ptr, size_t osize, size_t nsize);

/* Opens a state with the Lua standard libraries and lurn loaded (`lurn` is a global;
 * scripts may also `require "lurn"`). NULL when out of memory. */
lurn_State *lurn_open(void);
/* The same with your allocator for the state's memory: the handle and everything Lua
 * allocates (tensor data itself comes from the C heap and is counted in
 * lurn.memory()). alloc and ud must stay valid until lurn_close. An allocation that fails
 * gives LURN_ERRMEM from the call that needed it, or NULL from lurn_open. */
lurn_State *lurn_open_with_allocator(lurn_Alloc alloc, void *ud);
/* Closes *S (runs finalizers, frees the state) and sets *S to NULL, so a later call
 * with it gets LURN_ERRSTATE. Tensors you still hold stay valid. NULL and a NULL *S are
 * no-ops. */
void lurn_close(lurn_State **S);

/* The message of the last call on S that failed ("" after a success). Owned by S, valid
 * until the next call on S. Never NULL: for a NULL S it says so. */
const char *lurn_last_error(const lurn_State *S);
/* "LURN_ERRRUN" and so on, for messages */
const char *lurn_status_name(int status);
const char *lurn_version(void); /* LURN_VERSION of the library */

/* ---- running Lua ---- */

int lurn_dofile(lurn_State *S, const char *path);   /* loads and runs a script */
int lurn_dostring(lurn_State *S, const char *code); /* loads and runs a chunk */

/* A value passed to or returned by lurn_call. */
typedef enum { LURN_NIL, LURN_NUMBER, LURN_BOOLEAN, LURN_TENSOR } lurn_Type;
typedef struct {
  lurn_Type type;
  double number;       /* LURN_NUMBER; LURN_BOOLEAN: 0 or 1 */
  lurn_Tensor *tensor; /* LURN_TENSOR */
} lurn_Value;

static inline lurn_Value lurn_value_number(double x) {
  lurn_Value v = {LURN_NUMBER, x, NULL};
  return v;
}
static inline lurn_Value lurn_value_tensor(lurn_Tensor *t) {
  lurn_Value v = {LURN_TENSOR, 0, t};
  return v;
}

/* Calls the Lua function named fn (a global, or a path of fields: "model.predict") with
 * nargs arguments and stores its first nresults results in results[] (missing ones are
 * LURN_NIL). Argument tensors are borrowed for the call (Lua takes its own reference if
 * it keeps them); each LURN_TENSOR result carries a reference you must release.
 * Results may be nil, numbers (integers arrive as doubles), booleans or tensors; any other
 * type in the first nresults gives LURN_ERRTYPE. On any error every result is LURN_NIL
 * and there is nothing to release. */
int lurn_call(lurn_State *S, const char *fn, const lurn_Value *args, int nargs,
              lurn_Value *results, int nresults);

/* ---- tensors ---- */

typedef enum {
  LURN_COPY,  /* lurn copies the buffer; yours is free again when the call returns */
  LURN_BORROW /* the tensor uses your buffer, without a copy: it must outlive every
                 reference to the tensor (Lua's included: a script that keeps it in a
                 global keeps it until the global goes and the GC runs, or until
                 lurn_close). lurn never frees it. Your writes are seen by Lua; in-place
                 Lua operations (fill_, copy_, optimizer steps) write into it, so pass a
                 writable buffer unless the script only reads the tensor. */
} lurn_Mode;

/* A float32 tensor of the given shape (ndim 0..8, sizes >= 0) over row-major data, or
 * NULL with a message in lurn_last_error(S) naming the problem and the shape: NULL data
 * or shape, ndim out of range, a negative size, or more than 2^40 bytes (the element and
 * byte counts are checked without overflow, zero sizes included, in both modes) are
 * refused before anything is allocated. */
lurn_Tensor *lurn_tensor_from_buffer(lurn_State *S, const float *data, int ndim,
                                     const int64_t *shape, lurn_Mode mode);
/* The tensor's elements if it is a contiguous float32 tensor, else NULL (use
 * lurn_tensor_read). Valid while you hold the tensor; writes go into the tensor. */
float *lurn_tensor_data(lurn_Tensor *t);
/* Copies all n elements, row-major and converted to float, into out. LURN_ERRARG when
 * t or out is NULL or n is not the element count. Works on any layout and dtype. */
int lurn_tensor_read(const lurn_Tensor *t, float *out, int64_t n);
int lurn_tensor_ndim(const lurn_Tensor *t);      /* -1 for NULL */
int64_t lurn_tensor_numel(const lurn_Tensor *t); /* -1 for NULL */
/* Stores min(ndim, max) sizes in shape[]; returns ndim (-1 for NULL). */
int lurn_tensor_shape(const lurn_Tensor *t, int64_t *shape, int max);
void lurn_tensor_retain(lurn_Tensor *t);  /* one more reference (NULL: no-op) */
void lurn_tensor_release(lurn_Tensor *t); /* gives one back (NULL: no-op) */

/* Sets the Lua global `name` to t (Lua takes its own reference; t NULL sets nil). */
int lurn_set_global_tensor(lurn_State *S, const char *name, lurn_Tensor *t);
/* The tensor in global `name`, with a reference for you, in *out (NULL on error).
 * LURN_ERRTYPE when the global is not a tensor. */
int lurn_get_global_tensor(lurn_State *S, const char *name, lurn_Tensor **out);

/* ---- the rest ---- */

/* Asks the code running in S to stop: Lua code at its next instruction, long C kernels at
 * their next check; the running call returns LURN_ERRRUN with "interrupted". Safe to call
 * from a signal handler (e.g. on SIGINT) of the thread that runs S. */
void lurn_interrupt(lurn_State *S);

/* The lua_State inside S, for what this API does not cover. Calls you make on it are not
 * protected: run them inside lua_pcall, or a Lua error will longjmp out of your code.
 * Leave the stack as you found it. NULL for a NULL S. */
lua_State *lurn_lua(lurn_State *S);

#ifdef __cplusplus
}
#endif

#endif
