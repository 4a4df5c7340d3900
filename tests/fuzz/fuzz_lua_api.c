/* libFuzzer target for the Lua API (build: the LURN_FUZZ block of CMakeLists.txt, or run
 * scripts/fuzz lua_api).
 *
 * The input is a small bytecode that is translated into a Lua script: after a 3-byte
 * header (memory limits, seed), each op reads an opcode byte and a few operand bytes and
 * emits one statement -- a creation with a small random shape and dtype, a view, an
 * arithmetic op with broadcasting, a reduction, backward, a save/load round trip, an
 * nn.Linear, a loss, an optimizer step, ... -- whose operands are registers R[1..8] holding
 * earlier results (or anything else: misuse is part of the test). Each statement runs in its own
 * pcall, so every Lua error is an accepted outcome; crashes, sanitizer reports, leaks and
 * hangs are bugs, and so is a failed oracle (FUZZ_FAIL: a save/load round trip or a copy
 * that changes values, a state left unusable).
 *
 * Each input runs in a fresh lurn_State (the embedding API) with
 *   - an instruction-count hook that raises a Lua error once the budget is spent (and
 *     then at every instruction, so that pcalls cannot swallow it),
 *   - an allocator that fails beyond a budget of Lua memory (1 input in 8: a small budget
 *     over what lurn_open used, so out-of-memory errors hit at random places),
 *   - a cap on tensor memory (lt_ctx.max_bytes; 1 input in 16: a tiny one).
 * 1 input in 16 runs with lurn.detect_anomaly(true).
 * After the script the limits are lifted and the state must still run lurn code.
 *
 * FUZZ_LUA_API_PRINT=1 prints each generated script to stderr (to read a crash input:
 * FUZZ_LUA_API_PRINT=1 build-fuzz/fuzz_lua_api crash-...); =2 also each statement's error.
 * Crash inputs are kept in tests/fuzz/corpus_lua_api/, which the normal test suite replays
 * (replay_lua_api, built by any compiler: so every operand byte is read in a sequenced
 * statement, never twice in one argument list, whose order of evaluation C leaves open).
 * An input's meaning depends on the op table below: tests/lua/test_fuzz_regressions.lua
 * keeps what the crash inputs found as plain Lua. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "embed.h" /* lurn_State internals: S->ctx, for the tensor-memory cap */

enum { MAX_OPS = 64, NREG = 8, NMOD = 4 };
#define LUA_BUDGET ((size_t)64 << 20)    /* bytes of Lua memory */
#define TENSOR_BUDGET ((size_t)64 << 20) /* bytes of tensor memory */
#define INSN_BUDGET 4000000L             /* Lua VM instructions per input */
#define HOOK_EVERY 1000

/* ---- the script being generated ---- */
typedef struct {
  char *s;
  size_t n, cap;
} buf_t;

static void emit(buf_t *b, const char *fmt, ...) {
  va_list ap;
  if (!b->s && !(b->s = malloc(b->cap = 4096))) abort();
  for (;;) {
    va_start(ap, fmt);
    int k = vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    if (k < 0) abort();
    if ((size_t)k < b->cap - b->n) {
      b->n += (size_t)k;
      return;
    }
    b->cap = 2 * b->cap + (size_t)k + 1024;
    if (!(b->s = realloc(b->s, b->cap))) abort();
  }
}

/* ---- reading the bytecode (0 past the end) ---- */
typedef struct {
  const uint8_t *p;
  size_t n, i;
} rd_t;

static unsigned byte(rd_t *r) { return r->i < r->n ? r->p[r->i++] : 0; }
static unsigned pick(rd_t *r, unsigned n) { return byte(r) % n; }
#define PICK(r, arr) (arr)[pick(r, sizeof(arr) / sizeof(arr)[0])]

/* ---- operands ---- */
static void e_reg(buf_t *b, rd_t *r) { emit(b, "R[%u]", 1 + pick(r, NREG)); }

/* a number, sometimes a value of the wrong type */
static const char *const NUMS[] = {
  "0", "1", "-1", "2", "0.5", "-2.5", "3", "6", "1e30", "-1e30", "(0/0)", "math.huge",
  "-math.huge", "1e-45", "-7", "100", "math.maxinteger", "math.mininteger", "2^31", "0.1",
  "-0.0", "4", "true", "nil", "'x'", "{}"};
static void e_num(buf_t *b, rd_t *r) { emit(b, "%s", PICK(r, NUMS)); }

/* a dim: mostly in range for small tensors, sometimes not */
static void e_dim(buf_t *b, rd_t *r) { emit(b, "%d", (int)pick(r, 11) - 5); }

static const char *const DTYPES[] = {"float32", "int64",   "bool",  "float",
                                     "long",    "float32", "int64", "double"};
static void e_dtype(buf_t *b, rd_t *r) { emit(b, "'%s'", PICK(r, DTYPES)); }

/* one size: 0..6, rarely something odd (negative, huge, fractional) */
static const char *const ODD_SIZES[] = {"-1",  "-2",  "1e12", "math.maxinteger",
                                        "2.5", "100", "4096"};
static void e_size(buf_t *b, rd_t *r, int allow_infer) {
  unsigned v = byte(r);
  if (v < 232) emit(b, "%u", v % 7);
  else if (allow_infer && v < 244) emit(b, "-1");
  else emit(b, "%s", PICK(r, ODD_SIZES));
}

/* shape items (no braces): 0..4 dims, rarely up to 9 */
static void e_sizes(buf_t *b, rd_t *r, int allow_infer) {
  unsigned v = byte(r), n = v < 248 ? v % 5 : v % 10;
  for (unsigned i = 0; i < n; i++) {
    if (i) emit(b, ", ");
    e_size(b, r, allow_infer);
  }
}
static void e_shape(buf_t *b, rd_t *r, int allow_infer) {
  emit(b, "{");
  e_sizes(b, r, allow_infer);
  emit(b, "}");
}

/* a tensor register, or (1 in 4) a number */
static void e_operand(buf_t *b, rd_t *r) {
  if (pick(r, 4)) e_reg(b, r);
  else e_num(b, r);
}

/* ---- ops: each emits the body of one pcall'd function ---- */
static void op_create(buf_t *b, rd_t *r) {
  static const char *const fns[] = {"zeros", "ones", "empty", "rand", "randn"};
  unsigned a = 1 + pick(r, NREG);
  emit(b, "R[%u] = lurn.%s(", a, PICK(r, fns));
  unsigned form = pick(r, 8);
  if (form == 0) e_sizes(b, r, 0);
  else e_shape(b, r, 0);
  switch (pick(r, 5)) {
  case 0: break;
  case 1: emit(b, ", "), e_dtype(b, r); break;
  case 2: emit(b, ", {dtype = "), e_dtype(b, r), emit(b, "}"); break;
  case 3: emit(b, ", {requires_grad = true}"); break;
  default: emit(b, ", {dtype = "), e_dtype(b, r), emit(b, ", requires_grad = true}"); break;
  }
  emit(b, ")");
}

static void op_full(buf_t *b, rd_t *r) {
  emit(b, "R[%u] = lurn.full(", 1 + pick(r, NREG));
  e_shape(b, r, 0);
  emit(b, ", ");
  e_num(b, r);
  if (pick(r, 3) == 0) emit(b, ", "), e_dtype(b, r);
  emit(b, ")");
}

static void op_arange(buf_t *b, rd_t *r) {
  static const char *const ends[] = {"0", "1", "-3", "5", "2.5", "-1.5", "6", "0.25", "7", "-0.5"};
  static const char *const steps[] = {"1", "2",   "-1",  "0.5",   "-0.5",
                                      "0", "3", "0.3", "(0/0)", "-2"};
  unsigned a = 1 + pick(r, NREG);
  emit(b, "R[%u] = lurn.arange(%s", a, PICK(r, ends));
  unsigned n = pick(r, 3);
  if (n >= 1) emit(b, ", %s", PICK(r, ends));
  if (n >= 2) emit(b, ", %s", PICK(r, steps));
  if (pick(r, 4) == 0) emit(b, ", "), e_dtype(b, r);
  emit(b, ")");
}

static void op_randint(buf_t *b, rd_t *r) {
  emit(b, "R[%u] = lurn.randint(", 1 + pick(r, NREG));
  if (pick(r, 2)) emit(b, "%d, ", (int)pick(r, 10) - 3);
  emit(b, "%d, ", (int)pick(r, 10) - 3);
  e_shape(b, r, 0);
  if (pick(r, 4) == 0) emit(b, ", "), e_dtype(b, r);
  emit(b, ")");
}

/* lurn.tensor of a nested literal: ints, floats, booleans or a mix; sometimes ragged */
static void e_literal(buf_t *b, rd_t *r, int d, int nd, const unsigned *shape, unsigned kind,
                      int *ragged) {
  if (d == nd) {
    unsigned k = kind < 3 ? kind : pick(r, 4);
    if (k == 0) emit(b, "%d", (int)pick(r, 10) - 3);
    else if (k == 1) e_num(b, r);
    else if (k == 2) emit(b, pick(r, 2) ? "true" : "false");
    else emit(b, "'s'");
    return;
  }
  unsigned len = shape[d];
  if (*ragged && d == nd - 1 && len > 0) len--, *ragged = 0;
  emit(b, "{");
  for (unsigned i = 0; i < len; i++) {
    if (i) emit(b, ", ");
    e_literal(b, r, d + 1, nd, shape, kind, ragged);
  }
  emit(b, "}");
}

static void op_tensor(buf_t *b, rd_t *r) {
  unsigned a = 1 + pick(r, NREG), form = pick(r, 6);
  if (form == 0) {
    emit(b, "R[%u] = lurn.tensor(", a), e_num(b, r), emit(b, ")");
    return;
  }
  if (form == 1) {
    emit(b, "R[%u] = lurn.tensor(", a), e_reg(b, r), emit(b, ", "), e_dtype(b, r), emit(b, ")");
    return;
  }
  unsigned shape[3], nd = pick(r, 4), kind = pick(r, 5);
  for (unsigned i = 0; i < nd; i++) shape[i] = pick(r, 5);
  int ragged = pick(r, 8) == 0;
  emit(b, "R[%u] = lurn.tensor(", a);
  e_literal(b, r, 0, (int)nd, shape, kind, &ragged);
  if (pick(r, 4) == 0) emit(b, ", "), e_dtype(b, r);
  emit(b, ")");
}

static void op_like(buf_t *b, rd_t *r) {
  static const char *const fns[] = {"zeros_like", "ones_like", "rand_like", "randn_like",
                                    "full_like"};
  unsigned a = 1 + pick(r, NREG), f = pick(r, 5);
  emit(b, "R[%u] = lurn.%s(", a, fns[f]);
  e_reg(b, r);
  if (f == 4) emit(b, ", "), e_num(b, r);
  if (pick(r, 3) == 0) emit(b, ", "), e_dtype(b, r);
  emit(b, ")");
}

static void op_view(buf_t *b, rd_t *r) {
  unsigned a = 1 + pick(r, NREG), form = pick(r, 5);
  const char *fn = pick(r, 2) ? "view" : "reshape";
  emit(b, "R[%u] = ", a);
  e_reg(b, r);
  if (form == 0) emit(b, ":%s(-1)", fn);
  else if (form == 1) emit(b, ":%s(%u, -1)", fn, pick(r, 7));
  else if (form == 2) emit(b, ":%s(", fn), e_sizes(b, r, 1), emit(b, ")");
  else emit(b, ":%s(", fn), e_shape(b, r, 1), emit(b, ")");
}

static void op_transpose(buf_t *b, rd_t *r) {
  emit(b, "R[%u] = ", 1 + pick(r, NREG));
  switch (pick(r, 3)) {
  case 0: e_reg(b, r), emit(b, ":t()"); break;
  case 1:
    emit(b, "lurn.transpose("), e_reg(b, r), emit(b, ", "), e_dim(b, r), emit(b, ", ");
    e_dim(b, r), emit(b, ")");
    break;
  default:
    e_reg(b, r), emit(b, ":transpose("), e_dim(b, r), emit(b, ", "), e_dim(b, r), emit(b, ")");
    break;
  }
}

static void op_permute(buf_t *b, rd_t *r) {
  unsigned n = pick(r, 6), perm[8];
  for (unsigned i = 0; i < n; i++) perm[i] = i;
  for (unsigned i = n; i > 1; i--) { /* Fisher-Yates */
    unsigned j = pick(r, i), t = perm[i - 1];
    perm[i - 1] = perm[j], perm[j] = t;
  }
  if (n && pick(r, 6) == 0) { /* a duplicate or out of range */
    unsigned at = pick(r, n);
    perm[at] = pick(r, 8);
  }
  emit(b, "R[%u] = ", 1 + pick(r, NREG));
  e_reg(b, r);
  emit(b, ":permute({");
  for (unsigned i = 0; i < n; i++) /* sometimes the negative form */
    emit(b, i ? ", %d" : "%d", pick(r, 5) ? (int)perm[i] : (int)perm[i] - (int)n);
  emit(b, "})");
}

static void op_narrow(buf_t *b, rd_t *r) {
  emit(b, "R[%u] = ", 1 + pick(r, NREG));
  e_reg(b, r);
  emit(b, ":narrow(");
  e_dim(b, r);
  int start = (int)pick(r, 9) - 2;
  emit(b, ", %d, %d)", start, (int)pick(r, 8) - 1);
}

static void op_expand(buf_t *b, rd_t *r) {
  emit(b, "R[%u] = ", 1 + pick(r, NREG));
  e_reg(b, r);
  switch (pick(r, 3)) {
  case 0: emit(b, ":expand_as("), e_reg(b, r), emit(b, ")"); break;
  case 1: emit(b, ":expand("), e_sizes(b, r, 1), emit(b, ")"); break;
  default: emit(b, ":expand("), e_shape(b, r, 1), emit(b, ")"); break;
  }
}

static void op_squeeze(buf_t *b, rd_t *r) {
  emit(b, "R[%u] = ", 1 + pick(r, NREG));
  e_reg(b, r);
  switch (pick(r, 3)) {
  case 0: emit(b, ":squeeze()"); break;
  case 1: emit(b, ":squeeze("), e_dim(b, r), emit(b, ")"); break;
  default: emit(b, ":unsqueeze("), e_dim(b, r), emit(b, ")"); break;
  }
}

static void op_index_select(buf_t *b, rd_t *r) {
  emit(b, "R[%u] = ", 1 + pick(r, NREG));
  e_reg(b, r);
  emit(b, ":index_select(");
  e_dim(b, r);
  emit(b, ", ");
  switch (pick(r, 4)) {
  case 0: e_reg(b, r); break;
  case 1: emit(b, "lurn.arange(%u)", pick(r, 7)); break;
  case 2: {
    unsigned hi = 1 + pick(r, 6);
    emit(b, "lurn.randint(0, %u, {%u})", hi, pick(r, 7));
    break;
  }
  default: {
    unsigned n = pick(r, 5);
    emit(b, "lurn.tensor({");
    for (unsigned i = 0; i < n; i++) emit(b, i ? ", %d" : "%d", (int)pick(r, 9) - 2);
    emit(b, n ? "})" : "}, 'int64')");
  }
  }
  emit(b, ")");
}

static void op_cat(buf_t *b, rd_t *r) {
  unsigned n = pick(r, 5);
  unsigned a = 1 + pick(r, NREG);
  emit(b, "R[%u] = lurn.%s({", a, pick(r, 2) ? "cat" : "stack");
  for (unsigned i = 0; i < n; i++) {
    if (i) emit(b, ", ");
    e_reg(b, r);
  }
  emit(b, "}");
  if (pick(r, 4)) emit(b, ", "), e_dim(b, r);
  emit(b, ")");
}

static void op_binary(buf_t *b, rd_t *r) {
  static const char *const ops[] = {"+", "-", "*", "/", "^"};
  static const char *const fns[] = {"add", "sub", "mul", "div", "pow"};
  emit(b, "R[%u] = ", 1 + pick(r, NREG));
  unsigned k = pick(r, 5);
  switch (pick(r, 4)) {
  case 0: e_operand(b, r), emit(b, " %s ", ops[k]), e_operand(b, r); break;
  case 1: e_reg(b, r), emit(b, ":%s(", fns[k]), e_operand(b, r), emit(b, ")"); break;
  case 2:
    emit(b, "lurn.%s(", fns[k]), e_operand(b, r), emit(b, ", "), e_operand(b, r), emit(b, ")");
    break;
  default: e_reg(b, r), emit(b, " %s ", ops[k]), e_reg(b, r); break;
  }
}

static void op_unary(buf_t *b, rd_t *r) {
  static const char *const fns[] = {"neg",  "exp",     "log",  "sqrt", "abs",
                                    "relu", "sigmoid", "tanh", "round"};
  emit(b, "R[%u] = ", 1 + pick(r, NREG));
  switch (pick(r, 5)) {
  case 0: emit(b, "-"), e_reg(b, r); break;
  case 1:
    e_reg(b, r), emit(b, ":clamp("), e_num(b, r), emit(b, ", "), e_num(b, r), emit(b, ")");
    break;
  case 2:
    e_reg(b, r), emit(b, ":clamp({%s = ", pick(r, 2) ? "min" : "max"), e_num(b, r);
    emit(b, "})");
    break;
  default: e_reg(b, r), emit(b, ":%s()", PICK(r, fns)); break;
  }
}

static void op_reduce(buf_t *b, rd_t *r) {
  static const char *const fns[] = {"sum", "mean", "max", "min", "argmax", "argmin", "all", "any"};
  unsigned a = 1 + pick(r, NREG), f = pick(r, 8), form = pick(r, 4);
  const char *keep = pick(r, 2) ? "true" : "false";
  if (f == 2 || f == 3) emit(b, "R[%u], R[%u] = ", a, 1 + pick(r, NREG));
  else emit(b, "R[%u] = ", a);
  e_reg(b, r);
  emit(b, ":%s(", fns[f]);
  if (form == 1 && f < 6) e_dim(b, r), emit(b, ", %s", keep);
  else if (form == 2 && f < 6) e_dim(b, r);
  else if (form == 3 && f < 2)
    emit(b, "{"), e_dim(b, r), emit(b, ", "), e_dim(b, r), emit(b, "}, %s", keep);
  emit(b, ")");
}

static void op_matmul(buf_t *b, rd_t *r) {
  emit(b, "R[%u] = ", 1 + pick(r, NREG));
  switch (pick(r, 3)) {
  case 0: emit(b, "lurn.mm("), e_reg(b, r), emit(b, ", "), e_reg(b, r), emit(b, ")"); break;
  default: e_reg(b, r), emit(b, ":matmul("), e_reg(b, r), emit(b, ")"); break;
  }
}

static void op_softmax(buf_t *b, rd_t *r) {
  emit(b, "R[%u] = ", 1 + pick(r, NREG));
  e_reg(b, r);
  emit(b, ":%s(", pick(r, 2) ? "softmax" : "log_softmax");
  e_dim(b, r);
  emit(b, ")");
}

static void op_compare(buf_t *b, rd_t *r) {
  static const char *const fns[] = {"eq", "ne", "lt", "le", "gt", "ge"};
  emit(b, "R[%u] = ", 1 + pick(r, NREG));
  e_reg(b, r);
  emit(b, ":%s(", PICK(r, fns));
  e_operand(b, r);
  emit(b, ")");
}

static void op_where(buf_t *b, rd_t *r) {
  emit(b, "R[%u] = lurn.where(", 1 + pick(r, NREG));
  e_reg(b, r);
  emit(b, ", ");
  e_operand(b, r);
  emit(b, ", ");
  e_operand(b, r);
  emit(b, ")");
}

static void op_requires_grad(buf_t *b, rd_t *r) {
  switch (pick(r, 4)) {
  case 0: e_reg(b, r), emit(b, ".requires_grad = %s", pick(r, 3) ? "true" : "false"); break;
  case 1: e_reg(b, r), emit(b, ":requires_grad_(false)"); break;
  default: e_reg(b, r), emit(b, ":requires_grad_()"); break;
  }
}

static void op_backward(buf_t *b, rd_t *r) {
  unsigned a = 1 + pick(r, NREG);
  switch (pick(r, 6)) {
  case 0: emit(b, "R[%u]:backward()", a); break;
  case 1: emit(b, "R[%u]:sum():backward()", a); break;
  case 2: emit(b, "R[%u]:backward(", a), e_reg(b, r), emit(b, ")"); break;
  case 3: emit(b, "R[%u]:backward({retain_graph = true})", a); break;
  case 4: /* twice: the second needs the graph retained by the first */
    emit(b, "local l = R[%u]:mean(); l:backward({retain_graph = %s}); l:backward()", a,
         pick(r, 2) ? "true" : "false");
    break;
  default: emit(b, "R[%u]:backward(", a), e_reg(b, r), emit(b, ", {retain_graph = true})"); break;
  }
}

static void op_grad(buf_t *b, rd_t *r) {
  switch (pick(r, 5)) {
  case 0: emit(b, "R[%u] = ", 1 + pick(r, NREG)), e_reg(b, r), emit(b, ".grad"); break;
  case 1: e_reg(b, r), emit(b, ".grad = nil"); break;
  case 2: e_reg(b, r), emit(b, ".grad = "), e_reg(b, r); break;
  case 3:
    emit(b, "local s = tostring("), e_reg(b, r), emit(b, ".grad_fn) .. tostring(");
    e_reg(b, r), emit(b, ".is_leaf)");
    break;
  default:
    emit(b, "R[%u] = ", 1 + pick(r, NREG)), e_reg(b, r), emit(b, ".grad or "), e_reg(b, r);
    break;
  }
}

static void op_convert(buf_t *b, rd_t *r) {
  static const char *const fns[] = {"detach", "clone", "contiguous", "float", "long", "bool"};
  emit(b, "R[%u] = ", 1 + pick(r, NREG));
  e_reg(b, r);
  if (pick(r, 4) == 0) emit(b, ":to("), e_dtype(b, r), emit(b, ")");
  else emit(b, ":%s()", PICK(r, fns));
}

static void op_no_grad(buf_t *b, rd_t *r) {
  unsigned a = 1 + pick(r, NREG), x = 1 + pick(r, NREG), y = 1 + pick(r, NREG);
  switch (pick(r, 5)) {
  case 0: emit(b, "R[%u] = lurn.no_grad(function() return R[%u] * R[%u] end)", a, x, y); break;
  case 1:
    emit(b, "do local g <close> = lurn.no_grad(); R[%u] = R[%u]:exp() + R[%u] end", a, x, y);
    break;
  case 2:
    emit(b, "R[%u] = lurn.no_grad(function() return lurn.enable_grad(function() "
            "return R[%u]:sum() end) end)", a, x);
    break;
  case 3: emit(b, "lurn.no_grad(function() R[%u]:zero_() ; error('inside no_grad') end)", x); break;
  default: emit(b, "lurn.set_grad_enabled(%s)", pick(r, 2) ? "true" : "false"); break;
  }
}

static void op_readout(buf_t *b, rd_t *r) {
  unsigned x = 1 + pick(r, NREG);
  switch (pick(r, 10)) {
  case 0: emit(b, "local v = R[%u]:item()", x); break;
  case 1: emit(b, "local v = R[%u]:totable()", x); break;
  case 2: emit(b, "local v = tostring(R[%u])", x); break;
  case 3: emit(b, "local v = #R[%u]", x); break;
  case 4:
    emit(b, "local v = table.concat(R[%u].shape, ',') .. R[%u].dtype .. R[%u]:numel() .. "
            "R[%u]:dim() .. tostring(R[%u]:is_contiguous())", x, x, x, x, x);
    break;
  case 5: emit(b, "local v = R[%u]:size(", x), e_dim(b, r), emit(b, ")"); break;
  case 6: emit(b, "R[%u] = R[%u]:nonzero()", 1 + pick(r, NREG), x); break;
  case 7: emit(b, "CHECK('clone', R[%u], R[%u]:clone())", x, x); break;
  case 8: emit(b, "CHECK('contiguous', R[%u], R[%u]:contiguous())", x, x); break;
  default:
    emit(b, "if R[%u]:numel() == 1 then CHECK('item', R[%u]:reshape(1), "
            "lurn.tensor({R[%u]:item()}, R[%u].dtype)) end", x, x, x, x);
    break;
  }
}

static void op_save_load(buf_t *b, rd_t *r) {
  unsigned a = 1 + pick(r, NREG), x = 1 + pick(r, NREG), y = 1 + pick(r, NREG);
  switch (pick(r, 4)) {
  case 0: /* a round trip must keep every value, dtype and shape */
    emit(b, "lurn.save({a = R[%u], ['b.c'] = R[%u]}, TMP, {metadata = {k = 'v'}}); "
            "local t, m = lurn.load(TMP); CHECK('save/load', R[%u], t.a); "
            "CHECK('save/load', R[%u], t['b.c']); R[%u] = t.a; assert(m.k == 'v')",
         x, y, x, y, a);
    break;
  case 1: emit(b, "lurn.save({R[%u]}, TMP)", x); break; /* an integer key: an error */
  case 2: emit(b, "lurn.save({}, TMP); local t = lurn.load(TMP); assert(next(t) == nil)"); break;
  default: emit(b, "R[%u] = lurn.load(TMP).a", a); break;
  }
}

static void op_module(buf_t *b, rd_t *r) {
  unsigned k = 1 + pick(r, NMOD), i = 1 + pick(r, 6), o = 1 + pick(r, 6);
  switch (pick(r, 6)) {
  case 0:
    emit(b, "M[%u] = lurn.nn.Linear(%u, %u, {bias = %s})", k, i, o, pick(r, 3) ? "true" : "false");
    break;
  case 1: {
    const char *act = pick(r, 2) ? "ReLU()" : "Tanh()";
    unsigned o2 = 1 + pick(r, 6);
    emit(b, "M[%u] = lurn.nn.Sequential(lurn.nn.Linear(%u, %u), lurn.nn.%s, "
            "lurn.nn.Linear(%u, %u))", k, i, o, act, o, o2);
    break;
  }
  case 2: {
    static const char *const acts[] = {"Softmax(1)", "LogSoftmax(-1)", "Flatten()", "Dropout(0.5)",
                                       "Identity()", "Sigmoid()",      "Dropout(1)"};
    emit(b, "M[%u] = lurn.nn.%s", k, PICK(r, acts));
    break;
  }
  case 3: emit(b, "M[%u] = lurn.nn.Linear(%u, %u)", k, i, pick(r, 3) ? o : 0); break;
  default: emit(b, "R[%u] = M[%u](", 1 + pick(r, NREG), k), e_reg(b, r), emit(b, ")"); break;
  }
}

static void op_module_misc(buf_t *b, rd_t *r) {
  unsigned k = 1 + pick(r, NMOD), j = 1 + pick(r, NMOD);
  switch (pick(r, 10)) {
  case 0: emit(b, "M[%u]:zero_grad()", k); break;
  case 1: emit(b, "M[%u]:freeze()", k); break;
  case 2: emit(b, "M[%u]:unfreeze()", k); break;
  case 3: emit(b, "M[%u]:%s()", k, pick(r, 2) ? "eval" : "train"); break;
  case 4:
    emit(b, "local res = M[%u]:load_state_dict(M[%u]:state_dict(), {strict = %s})", j, k,
         pick(r, 2) ? "true" : "false");
    break;
  case 5: emit(b, "local s = tostring(M[%u]) .. M[%u]:summary()", k, k); break;
  case 6: emit(b, "R[%u] = M[%u].weight", 1 + pick(r, NREG), k); break;
  case 7: {
    unsigned in = 1 + pick(r, 6);
    emit(b, "M[%u].fc = lurn.nn.Linear(%u, %u)", k, in, 1 + pick(r, 6));
    break;
  }
  case 8: emit(b, "M[%u].weight = ", k), e_reg(b, r); break;
  default:
    emit(b, "for n, p in M[%u]:named_parameters() do R[%u] = p end", k, 1 + pick(r, NREG));
    break;
  }
}

static void op_loss(buf_t *b, rd_t *r) {
  static const char *const losses[] = {"MSELoss",           "L1Loss",           "SmoothL1Loss",
                                       "BCELoss",           "BCEWithLogitsLoss", "CrossEntropyLoss",
                                       "NLLLoss",           "KLDivLoss"};
  static const char *const reds[] = {"mean", "sum", "none", "batchmean", "bogus"};
  unsigned a = 1 + pick(r, NREG), form = pick(r, 5);
  if (form == 0) {
    emit(b, "R[%u] = lurn.nn.functional.cross_entropy(", a);
    e_reg(b, r), emit(b, ", "), e_reg(b, r);
    const char *smoothing = pick(r, 2) ? "0.1" : "0";
    emit(b, ", {label_smoothing = %s, ignore_index = %d})", smoothing, (int)pick(r, 4) - 1);
  } else if (form == 1) {
    emit(b, "R[%u] = lurn.nn.functional.distillation_loss(", a);
    e_reg(b, r), emit(b, ", "), e_reg(b, r), emit(b, ", "), e_reg(b, r), emit(b, ")");
  } else if (form == 2) {
    emit(b, "R[%u] = lurn.nn.functional.one_hot(", a), e_reg(b, r);
    if (pick(r, 2)) emit(b, ", %u", pick(r, 6));
    emit(b, ")");
  } else {
    const char *loss = PICK(r, losses);
    emit(b, "R[%u] = lurn.nn.%s({reduction = '%s'})(", a, loss, PICK(r, reds));
    e_reg(b, r), emit(b, ", "), e_reg(b, r), emit(b, ")");
  }
}

static void op_optim(buf_t *b, rd_t *r) {
  unsigned k = 1 + pick(r, NMOD), m = 1 + pick(r, NMOD);
  switch (pick(r, 5)) {
  case 0:
    emit(b, "O[%u] = lurn.optim.SGD(M[%u]:parameters(), {lr = 0.1, momentum = %s, "
            "weight_decay = 0.01})", k, m, pick(r, 2) ? "0.9" : "0");
    break;
  case 1: {
    const char *cls = pick(r, 2) ? "Adam" : "AdamW";
    emit(b, "O[%u] = lurn.optim.%s(M[%u]:parameters(), {amsgrad = %s})", k, cls, m,
         pick(r, 2) ? "true" : "false");
    break;
  }
  case 2: emit(b, "O[%u] = lurn.optim.SGD({", k), e_reg(b, r), emit(b, "}, {lr = 0.5})"); break;
  case 3: emit(b, "O[%u]:zero_grad()", k); break;
  default: emit(b, "O[%u]:step()", k); break;
  }
}

static void op_inplace(buf_t *b, rd_t *r) {
  e_reg(b, r);
  switch (pick(r, 5)) {
  case 0: emit(b, ":fill_("), e_num(b, r), emit(b, ")"); break;
  case 1: emit(b, ":zero_()"); break;
  case 2: emit(b, ":copy_("), e_reg(b, r), emit(b, ")"); break;
  case 3: emit(b, ":uniform_(-1, 1)"); break;
  default: emit(b, ":normal_(0, 2)"); break;
  }
}

static void op_free(buf_t *b, rd_t *r) {
  unsigned x = 1 + pick(r, NREG);
  switch (pick(r, 5)) {
  case 0: emit(b, "R[%u]:free()", x); break;
  case 1: emit(b, "R[%u] = nil", x); break;
  case 2: emit(b, "collectgarbage()"); break;
  case 3:
    emit(b, "do local t <close> = R[%u]:clone(); R[%u] = t + 1 end", x, 1 + pick(r, NREG));
    break;
  default: {
    unsigned m = 1 + pick(r, NMOD);
    emit(b, "M[%u] = nil; O[%u] = nil; collectgarbage('step')", m, 1 + pick(r, NMOD));
    break;
  }
  }
}

static void op_misc(buf_t *b, rd_t *r) {
  unsigned a = 1 + pick(r, NREG);
  switch (pick(r, 8)) {
  case 0: emit(b, "lurn.manual_seed(%u)", byte(r)); break;
  case 1:
    emit(b, "R[%u] = lurn.random.%s(", a, pick(r, 2) ? "rand" : "randn");
    e_sizes(b, r, 0), emit(b, ")");
    break;
  case 2: {
    int lo = (int)pick(r, 5) - 1;
    emit(b, "R[%u] = lurn.random.randint(%d, %d, ", a, lo, (int)pick(r, 8));
    e_shape(b, r, 0), emit(b, ")");
    break;
  }
  case 3: emit(b, "R[%u] = lurn.random.permutation(", a), e_operand(b, r), emit(b, ")"); break;
  case 4: emit(b, "lurn.random.shuffle("), e_reg(b, r), emit(b, ")"); break;
  case 5:
    emit(b, "R[%u] = lurn.nn.functional.dropout(", a), e_reg(b, r);
    emit(b, ", %s)", pick(r, 2) ? "0.5" : "1");
    break;
  case 6:
    emit(b, "R[%u] = lurn.linear(", a), e_reg(b, r), emit(b, ", "), e_reg(b, r);
    if (pick(r, 2)) emit(b, ", "), e_reg(b, r);
    emit(b, ")");
    break;
  default: emit(b, "R[%u] = lurn.randperm(%d)", a, (int)pick(r, 8) - 1); break;
  }
}

static void op_data(buf_t *b, rd_t *r) {
  unsigned a = 1 + pick(r, NREG);
  emit(b, "local ds = lurn.data.TensorDataset(");
  e_reg(b, r);
  if (pick(r, 2)) emit(b, ", "), e_reg(b, r);
  unsigned bs = 1 + pick(r, 4);
  const char *shuffle = pick(r, 2) ? "true" : "false", *drop = pick(r, 2) ? "true" : "false";
  emit(b, "); local dl = lurn.data.DataLoader(ds, {batch_size = %u, shuffle = %s, "
          "drop_last = %s%s}); for x in dl:iter() do R[%u] = x end",
       bs, shuffle, drop, pick(r, 2) ? ", seed = 1" : "", a);
}

static void op_checkpoint(buf_t *b, rd_t *r) {
  unsigned k = 1 + pick(r, NMOD), o = 1 + pick(r, NMOD);
  if (pick(r, 2))
    emit(b, "lurn.save_checkpoint(TMP, {model = M[%u], optimizer = O[%u], extra = {epoch = 3}})",
         k, o);
  else
    emit(b, "local info = lurn.load_checkpoint(TMP, {model = M[%u], optimizer = O[%u]})", k, o);
}

typedef void (*op_fn)(buf_t *, rd_t *);
static const op_fn OPS[] = {
  op_create, op_create, op_full, op_arange, op_randint, op_tensor, op_tensor, op_like,
  op_view, op_view, op_transpose, op_permute, op_narrow, op_expand, op_squeeze,
  op_index_select, op_cat, op_binary, op_binary, op_unary, op_reduce, op_reduce, op_matmul,
  op_softmax, op_compare, op_where, op_requires_grad, op_backward, op_backward, op_grad,
  op_convert, op_no_grad, op_readout, op_save_load, op_module, op_module, op_module_misc,
  op_loss, op_optim, op_inplace, op_free, op_misc, op_data, op_checkpoint};

static const char PRELUDE[] =
  "local lurn, R, M, O = lurn, {}, {}, {}\n"
  "local TMP = FUZZ_TMP\n"
  /* registers start with a few tensors of each kind, so that short inputs do something */
  "R[1], R[2] = lurn.randn(3, 4), lurn.randn({4, 3}, {requires_grad = true})\n"
  "R[3] = lurn.arange(6)\n"
  "R[4], R[5], R[6] = lurn.tensor({0, 2, 1}), lurn.rand(2, 3, 4), lurn.ones(4):gt(0)\n"
  "R[7], R[8] = lurn.tensor(2.5), lurn.zeros(0, 3)\n"
  "local V = FUZZ_VERBOSE\n"
  "local function P(f)\n"
  "  local ok, e = pcall(f)\n"
  "  if V and not ok then io.stderr:write('-- error: ', tostring(e), '\\n') end\n"
  "end\n"
  /* the values of a and b, NaN equal to NaN */
  "local function same(a, b)\n"
  "  if a.dtype ~= b.dtype then return false end\n"
  "  if table.concat(a.shape, ',') ~= table.concat(b.shape, ',') then return false end\n"
  "  local ta, tb = a:reshape(-1):totable(), b:reshape(-1):totable()\n"
  "  if #ta ~= #tb then return false end\n"
  "  for i = 1, #ta do\n"
  "    local x, y = ta[i], tb[i]\n"
  "    if x ~= y and (x == x or y == y) then return false end\n"
  "  end\n"
  "  return true\n"
  "end\n"
  /* an oracle: a check that runs (no error, in budget) and finds a difference is a bug */
  "local function CHECK(what, a, b)\n"
  "  if not (lurn.is_tensor(a) and lurn.is_tensor(b)) then return end\n"
  "  local ok, res = pcall(same, a, b)\n"
  "  if ok and not res then\n"
  "    FUZZ_FAIL(what .. ': values differ:\\n' .. tostring(a) .. '\\n' .. tostring(b))\n"
  "  end\n"
  "end\n";

/* ---- the runtime around the script ---- */
typedef struct {
  size_t used, cap;
} mem_t;

static void *capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  mem_t *m = ud;
  if (!ptr) osize = 0; /* then osize is a type tag */
  if (nsize == 0) {
    free(ptr);
    m->used -= osize;
    return NULL;
  }
  if (nsize > osize && m->used + (nsize - osize) > m->cap) return NULL;
  void *q = realloc(ptr, nsize);
  if (!q) return NULL;
  m->used = m->used - osize + nsize;
  return q;
}

static long insn_left;
static const char *current_script;
static char tmpdir[4096], tmppath[4200];
static int print_scripts;

static void count_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  if ((insn_left -= HOOK_EVERY) >= 0) return;
  lua_sethook(L, count_hook, LUA_MASKCOUNT, 1); /* from now on at every instruction */
  luaL_error(L, "fuzz: instruction budget spent");
}

static int fuzz_fail(lua_State *L) {
  fprintf(stderr, "fuzz_lua_api: oracle failed: %s\n-- script:\n%s\n", luaL_optstring(L, 1, "?"),
          current_script ? current_script : "?");
  abort();
}

/* A directory of its own for each input's files, made and removed around the input:
 * libFuzzer may end the process without running atexit handlers. */
static void make_tmpdir(void) {
  /* saves fsync: a tmpfs keeps them cheap */
  const char *t = getenv("TMPDIR");
  if (!t || !*t) t = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  snprintf(tmpdir, sizeof tmpdir, "%s/lurn-fuzz-XXXXXX", t);
  if (!mkdtemp(tmpdir)) {
    perror("fuzz_lua_api: mkdtemp");
    abort();
  }
  snprintf(tmppath, sizeof tmppath, "%s/t.safetensors", tmpdir);
}

static void remove_tmpdir(void) {
  DIR *d = opendir(tmpdir);
  if (d) {
    char path[4400];
    for (struct dirent *e; (e = readdir(d));) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
      unlink(path);
    }
    closedir(d);
  }
  rmdir(tmpdir);
}

/* protected: the globals the script reads */
static int set_globals(lua_State *L) {
  lua_pushstring(L, tmppath);
  lua_setglobal(L, "FUZZ_TMP");
  lua_pushcfunction(L, fuzz_fail);
  lua_setglobal(L, "FUZZ_FAIL");
  lua_pushboolean(L, print_scripts > 1);
  lua_setglobal(L, "FUZZ_VERBOSE");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int inited;
  if (!inited) {
    const char *p = getenv("FUZZ_LUA_API_PRINT");
    print_scripts = p ? atoi(p) : 0;
    inited = 1;
  }
  rd_t r = {data, size, 0};
  unsigned mode = byte(&r), param = byte(&r), seed = byte(&r);

  buf_t b = {NULL, 0, 0};
  emit(&b, "%slurn.manual_seed(%u)\n", PRELUDE, seed);
  if (mode >= 48 && mode < 64)
    emit(&b, "if lurn.detect_anomaly then lurn.detect_anomaly(true) end\n");
  for (int nops = 0; nops < MAX_OPS && r.i < r.n; nops++) {
    op_fn op = OPS[byte(&r) % (sizeof OPS / sizeof OPS[0])];
    emit(&b, "P(function() ");
    op(&b, &r);
    emit(&b, " end)\n");
  }
  current_script = b.s;
  if (print_scripts) fprintf(stderr, "-- fuzz_lua_api script:\n%s\n", b.s);

  make_tmpdir();
  mem_t mem = {0, LUA_BUDGET};
  lurn_State *S = lurn_open_with_allocator(capped_alloc, &mem);
  if (!S) abort(); /* 64 MiB is plenty for lurn_open */
  lua_State *L = lurn_lua(S);
  lua_pushcfunction(L, set_globals);
  if (lua_pcall(L, 0, 0, 0) != LUA_OK) abort();

  if (mode < 32) mem.cap = mem.used + (size_t)(param + 1) * 2048; /* out of memory somewhere */
  S->ctx->max_bytes = mode >= 32 && mode < 48 ? (size_t)(param + 1) * 64 : TENSOR_BUDGET;
  insn_left = INSN_BUDGET;
  lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
  int st = lurn_dostring(S, b.s); /* clears the hook when done; an error is a fine outcome */
  if (print_scripts > 1)
    fprintf(stderr, "-- the script: %s %s\n", lurn_status_name(st), lurn_last_error(S));

  /* whatever happened, the state must still work */
  mem.cap = LUA_BUDGET;
  S->ctx->max_bytes = TENSOR_BUDGET;
  static const char probe[] =
    "lurn.set_grad_enabled(true); local x = lurn.ones(2, 3, {requires_grad = true}); "
    "local y = (x * 2):sum(); y:backward(); assert(y:item() == 12 and x.grad:sum():item() == 12)";
  if (lurn_dostring(S, probe) != LURN_OK) {
    fprintf(stderr, "fuzz_lua_api: the state is unusable after the script: %s\n-- script:\n%s\n",
            lurn_last_error(S), b.s);
    abort();
  }
  lurn_close(&S);
  remove_tmpdir();
  if (mem.used != 0) {
    fprintf(stderr, "fuzz_lua_api: %zu bytes of Lua memory not freed by lurn_close\n", mem.used);
    abort();
  }
  current_script = NULL;
  free(b.s);
  return 0;
}
