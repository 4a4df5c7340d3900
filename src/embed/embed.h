/* Internals of the embedding API (include/lurn.h). */
#ifndef LURN_EMBED_H
#define LURN_EMBED_H

#include <lua.h>
#include <signal.h>

#include "../../include/lurn.h"
#include "../core/core.h"

struct lurn_State {
  lua_State *L;
  lt_ctx *ctx; /* the lurn module's context; lives as long as L (longer, with tensors) */
  lurn_Alloc alloc;
  void *ud;
  volatile sig_atomic_t interrupt; /* ctx->interrupt points here */
  char err[4096];
};

/* What a protected function gets: the state, a status it may set (LURN_ERRARG, ...),
 * and its own arguments. */
typedef struct {
  lurn_State *S;
  int code;
  void *arg;
} em_job;

/* Runs f(job) under lua_pcall with a traceback handler and returns a status: job.code
 * when f set one, else the Lua status mapped to LURN_*; the message goes to S->err. */
int em_protect(lurn_State *S, lua_CFunction f, void *arg);
/* In a protected function: set code and message and return 0 (no longjmp). */
int em_fail(em_job *j, int code, const char *fmt, ...);
/* The message for a failed status when S is NULL or its message is empty */
int em_nostate(void);

#endif
