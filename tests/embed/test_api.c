/* The embedding API (include/lurn.h) as a host uses and misuses it: NULL and closed
 * handles, errors of every kind as status codes, wrong shapes, missing functions, tensor
 * exchange (copy, borrow, strided results, lifetime past lurn_close), several states in
 * one process, lurn_interrupt, and allocators: one that counts bytes and one that fails
 * from the N-th allocation on, for every N a session makes. Run under ASan too: no crash, no leak. */
#define _POSIX_C_SOURCE 200809L
#include <lua.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "lurn.h"

#include "../core/check.h"
#define HAS(s, part) (strstr((s), (part)) != NULL)

static void test_null_state(void) {
  lurn_State *S = NULL;
  lurn_Value v[1];
  lurn_Tensor *t = (lurn_Tensor *)&v; /* never dereferenced: S is checked first */
  CHECK(lurn_dostring(NULL, "x = 1") == LURN_ERRSTATE, "dostring(NULL)");
  CHECK(lurn_dofile(NULL, "x.lua") == LURN_ERRSTATE, "dofile(NULL)");
  CHECK(lurn_call(NULL, "f", NULL, 0, v, 1) == LURN_ERRSTATE, "call(NULL)");
  CHECK(lurn_set_global_tensor(NULL, "x", t) == LURN_ERRSTATE, "set_global(NULL)");
  CHECK(lurn_get_global_tensor(NULL, "x", &t) == LURN_ERRSTATE && t == NULL, "get_global(NULL)");
  float f = 1;
  CHECK(lurn_tensor_from_buffer(NULL, &f, 0, NULL, LURN_COPY) == NULL, "from_buffer(NULL)");
  CHECK(lurn_lua(NULL) == NULL, "lurn_lua(NULL)");
  CHECK(lurn_last_error(NULL) && HAS(lurn_last_error(NULL), "NULL state"), "message for NULL");
  lurn_interrupt(NULL);
  lurn_close(NULL);
  lurn_close(&S);
  /* NULL tensors */
  CHECK(lurn_tensor_data(NULL) == NULL && lurn_tensor_ndim(NULL) == -1, "NULL tensor");
  CHECK(lurn_tensor_numel(NULL) == -1 && lurn_tensor_shape(NULL, NULL, 0) == -1, "NULL tensor");
  CHECK(lurn_tensor_read(NULL, &f, 1) == LURN_ERRARG, "read(NULL)");
  lurn_tensor_retain(NULL);
  lurn_tensor_release(NULL);
  CHECK(strcmp(lurn_status_name(LURN_ERRTYPE), "LURN_ERRTYPE") == 0, "status names");
  CHECK(strcmp(lurn_status_name(99), "LURN_?") == 0, "unknown status");
}

static void test_closed_state(void) {
  lurn_State *S = lurn_open();
  CHECK(S != NULL, "lurn_open");
  CHECK(lurn_dostring(S, "x = 1") == LURN_OK, "%s", lurn_last_error(S));
  lurn_close(&S);
  CHECK(S == NULL, "lurn_close sets the handle to NULL");
  CHECK(lurn_dostring(S, "x = 2") == LURN_ERRSTATE, "a closed state gives LURN_ERRSTATE");
  CHECK(HAS(lurn_last_error(S), "closed"), "the message says closed: %s", lurn_last_error(S));
  lurn_close(&S); /* twice: a no-op */
}

static void test_errors(lurn_State *S) {
  int st = lurn_dostring(S, "x = = 1");
  CHECK(st == LURN_ERRSYNTAX && HAS(lurn_last_error(S), "unexpected symbol"), "%d %s", st,
        lurn_last_error(S));
  st = lurn_dostring(S, "local function inner() error('deep trouble') end inner()");
  CHECK(st == LURN_ERRRUN, "runtime error status %d", st);
  CHECK(HAS(lurn_last_error(S), "deep trouble") && HAS(lurn_last_error(S), "stack traceback") &&
            HAS(lurn_last_error(S), "inner"),
        "message with traceback: %s", lurn_last_error(S));
  st = lurn_dostring(S, "y = 2");
  CHECK(st == LURN_OK && lurn_last_error(S)[0] == '\0', "a success clears the message");
  CHECK(lurn_dofile(S, "/nonexistent/model.lua") == LURN_ERRFILE &&
            HAS(lurn_last_error(S), "/nonexistent/model.lua"),
        "missing file: %s", lurn_last_error(S));
  CHECK(lurn_dostring(S, NULL) == LURN_ERRARG && HAS(lurn_last_error(S), "NULL"), "NULL code");
  CHECK(lurn_dofile(S, NULL) == LURN_ERRARG, "NULL path");
  st = lurn_dostring(S, "error(setmetatable({}, {__tostring = function() return 'custom' end}))");
  CHECK(st == LURN_ERRRUN && HAS(lurn_last_error(S), "custom"), "error object: %s",
        lurn_last_error(S));
  st = lurn_dostring(S, "error({})");
  CHECK(st == LURN_ERRRUN && HAS(lurn_last_error(S), "table value"), "%s", lurn_last_error(S));
  /* a Lua op given wrong shapes: the op's message, as a status */
  st = lurn_dostring(S, "local a = lurn.ones(2, 3) + lurn.ones(4)");
  CHECK(st == LURN_ERRRUN && HAS(lurn_last_error(S), "add: shapes [2, 3] and [4]"), "%s",
        lurn_last_error(S));
  /* the state is still good */
  CHECK(lurn_dostring(S, "assert(y == 2)") == LURN_OK, "%s", lurn_last_error(S));
  CHECK(lurn_lua(S) && lua_gettop(lurn_lua(S)) == 0, "a clean stack between calls");
  CHECK(lurn_dostring(S, "assert(lurn._VERSION == 'lurn " LURN_VERSION "')") == LURN_OK,
        "LURN_VERSION matches the library: %s", lurn_last_error(S));
  CHECK(strcmp(lurn_version(), LURN_VERSION) == 0, "lurn_version");
}

static void test_call(lurn_State *S) {
  CHECK(lurn_dostring(S,
                      "function add(a, b) return a + b end\n"
                      "function kinds(...) local t = {} for i = 1, select('#', ...) do\n"
                      "  local v = select(i, ...) t[i] = math.type(v) or type(v) end\n"
                      "  return table.concat(t, ',') end\n"
                      "function many() return 1, true, nil, lurn.ones(2) end\n"
                      "function tbl() return 1, {} end\n"
                      "function boom(x) error('boom ' .. tostring(x)) end\n"
                      "M = {scale = function(x, k) return x * k end}\n"
                      "callable = setmetatable({}, {__call = function(_, x) return x + 1 end})\n"
                      "notfn = 42") == LURN_OK,
        "%s", lurn_last_error(S));
  lurn_Value a[2] = {lurn_value_number(2), lurn_value_number(0.5)}, r[4];
  CHECK(lurn_call(S, "add", a, 2, r, 1) == LURN_OK && r[0].type == LURN_NUMBER &&
            r[0].number == 2.5,
        "add: %s", lurn_last_error(S));
  CHECK(lurn_call(S, "callable", a, 1, r, 1) == LURN_OK && r[0].number == 3, "__call");
  /* integral numbers arrive as integers; nil, booleans and tensors as themselves */
  CHECK(lurn_dostring(S, "function kinds(a, b, c, d, e) return math.type(a) == 'integer' and\n"
                         "  math.type(b) == 'float' and c == nil and d == true and\n"
                         "  lurn.is_tensor(e) end") == LURN_OK, "def kinds");
  int64_t sh = 2;
  float two[2] = {1, 2};
  lurn_Tensor *t = lurn_tensor_from_buffer(S, two, 1, &sh, LURN_COPY);
  lurn_Value k[5] = {lurn_value_number(3), lurn_value_number(0.25), {LURN_NIL, 0, NULL},
                     {LURN_BOOLEAN, 1, NULL}, lurn_value_tensor(t)};
  CHECK(lurn_call(S, "kinds", k, 5, r, 1) == LURN_OK && r[0].type == LURN_BOOLEAN &&
            r[0].number == 1,
        "argument kinds: %s", lurn_last_error(S));
  CHECK(lurn_call(S, "M.scale", &k[4], 1, r, 0) == LURN_ERRRUN, "scale without k fails");
  /* results: nil padding, numbers, booleans, tensors (with a reference each) */
  CHECK(lurn_call(S, "many", NULL, 0, r, 4) == LURN_OK, "many: %s", lurn_last_error(S));
  CHECK(r[0].type == LURN_NUMBER && r[1].type == LURN_BOOLEAN && r[1].number == 1 &&
            r[2].type == LURN_NIL && r[3].type == LURN_TENSOR,
        "result types %d %d %d %d", r[0].type, r[1].type, r[2].type, r[3].type);
  CHECK(lurn_tensor_numel(r[3].tensor) == 2, "the tensor result");
  lurn_tensor_release(r[3].tensor);
  CHECK(lurn_call(S, "add", a, 2, r, 3) == LURN_OK && r[1].type == LURN_NIL &&
            r[2].type == LURN_NIL,
        "missing results are nil");
  lurn_Value s[1] = {lurn_value_tensor(t)};
  CHECK(lurn_call(S, "M.scale", (lurn_Value[]){s[0], lurn_value_number(3)}, 2, r, 1) == LURN_OK &&
            r[0].type == LURN_TENSOR,
        "M.scale: %s", lurn_last_error(S));
  float out[2];
  CHECK(lurn_tensor_read(r[0].tensor, out, 2) == LURN_OK && out[0] == 3 && out[1] == 6,
        "scaled %g %g", out[0], out[1]);
  lurn_tensor_release(r[0].tensor);

  /* misuse */
  int st = lurn_call(S, "no_such_function", a, 1, r, 1);
  CHECK(st == LURN_ERRTYPE && HAS(lurn_last_error(S), "no_such_function") &&
            HAS(lurn_last_error(S), "nil"),
        "missing function: %d %s", st, lurn_last_error(S));
  CHECK(r[0].type == LURN_NIL, "no result after an error");
  st = lurn_call(S, "notfn", NULL, 0, NULL, 0);
  CHECK(st == LURN_ERRTYPE && HAS(lurn_last_error(S), "number"), "%s", lurn_last_error(S));
  st = lurn_call(S, "M.nothing.deeper", NULL, 0, NULL, 0);
  CHECK(st == LURN_ERRTYPE, "a path through nil: %d %s", st, lurn_last_error(S));
  CHECK(lurn_call(S, NULL, NULL, 0, NULL, 0) == LURN_ERRARG, "NULL name");
  CHECK(lurn_call(S, "add", NULL, 2, r, 1) == LURN_ERRARG, "NULL args");
  CHECK(lurn_call(S, "add", a, -1, r, 1) == LURN_ERRARG, "negative nargs");
  CHECK(lurn_call(S, "add", a, 2, NULL, 1) == LURN_ERRARG, "NULL results");
  CHECK(lurn_call(S, "add", a, 2, r, -3) == LURN_ERRARG, "negative nresults");
  lurn_Value bad[1] = {{LURN_TENSOR, 0, NULL}};
  CHECK(lurn_call(S, "add", bad, 1, r, 1) == LURN_ERRARG &&
            HAS(lurn_last_error(S), "NULL tensor"),
        "NULL tensor argument: %s", lurn_last_error(S));
  lurn_Value odd[1] = {{(lurn_Type)42, 0, NULL}};
  CHECK(lurn_call(S, "add", odd, 1, r, 1) == LURN_ERRARG, "unknown value type");
  /* a table result: LURN_ERRTYPE, and the tensors already taken are given back */
  CHECK(lurn_dostring(S, "function tens_tbl() return lurn.ones(3), {} end") == LURN_OK, "def");
  st = lurn_call(S, "tens_tbl", NULL, 0, r, 2);
  CHECK(st == LURN_ERRTYPE && HAS(lurn_last_error(S), "result 2") && r[0].type == LURN_NIL,
        "table result: %s", lurn_last_error(S));
  CHECK(lurn_call(S, "tens_tbl", NULL, 0, r, 1) == LURN_OK, "only the first: fine");
  lurn_tensor_release(r[0].tensor);
  st = lurn_call(S, "boom", a, 1, r, 1);
  CHECK(st == LURN_ERRRUN && HAS(lurn_last_error(S), "boom 2") &&
            HAS(lurn_last_error(S), "stack traceback"),
        "an error in the function: %s", lurn_last_error(S));
  /* a freed tensor result is an error, not a crash */
  CHECK(lurn_dostring(S, "function freed() local t = lurn.ones(1); t:free(); return t end") ==
            LURN_OK,
        "def");
  st = lurn_call(S, "freed", NULL, 0, r, 1);
  CHECK(st == LURN_ERRRUN && HAS(lurn_last_error(S), "freed"), "%s", lurn_last_error(S));
  lurn_tensor_release(t);
}

static void test_tensors(lurn_State *S) {
  float x[6] = {1, 2, 3, 4, 5, 6};
  int64_t shape[2] = {2, 3};
  /* bad shapes and arguments */
  int64_t big[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1}, neg[2] = {2, -3}, huge[2] = {1 << 30, 1 << 30};
  CHECK(!lurn_tensor_from_buffer(S, x, 9, big, LURN_COPY) && HAS(lurn_last_error(S), "ndim"),
        "9 dims: %s", lurn_last_error(S));
  CHECK(!lurn_tensor_from_buffer(S, x, -1, shape, LURN_COPY), "negative ndim");
  CHECK(!lurn_tensor_from_buffer(S, x, 2, neg, LURN_COPY) && HAS(lurn_last_error(S), "negative"),
        "negative size");
  CHECK(!lurn_tensor_from_buffer(S, x, 2, huge, LURN_BORROW) && HAS(lurn_last_error(S), "large"),
        "absurd size: %s", lurn_last_error(S));
  /* sizes are checked as lurn.zeros checks them, without overflow, before any allocation
   * and in both modes; a zero dim does not excuse the others (the strides multiply them) */
  int64_t zhuge[3] = {0, INT64_MAX, INT64_MAX}, over[3] = {1 << 20, 1 << 20, 1 << 20},
          wide[2] = {INT64_MAX, 2}, zneg[2] = {0, -1}, nmin[2] = {2, INT64_MIN},
          limit[1] = {((int64_t)1 << 38) + 1}, empty[2] = {0, 3};
  for (int m = 0; m < 2; m++) {
    lurn_Mode mode = m ? LURN_BORROW : LURN_COPY;
    CHECK(!lurn_tensor_from_buffer(S, x, 3, zhuge, mode) &&
              HAS(lurn_last_error(S), "lurn_tensor_from_buffer: shape [0, 9223372036854775807, "
                                      "9223372036854775807] is too large"),
          "a zero dim beside huge ones (mode %d): %s", m, lurn_last_error(S));
    CHECK(!lurn_tensor_from_buffer(S, x, 3, over, mode) &&
              HAS(lurn_last_error(S), "[1048576, 1048576, 1048576] is too large"),
          "a product that overflows int64 (mode %d): %s", m, lurn_last_error(S));
    CHECK(!lurn_tensor_from_buffer(S, x, 2, wide, mode) && HAS(lurn_last_error(S), "too large"),
          "INT64_MAX rows (mode %d): %s", m, lurn_last_error(S));
    CHECK(!lurn_tensor_from_buffer(S, x, 1, limit, mode) &&
              HAS(lurn_last_error(S), "[274877906945] is too large (over 1099511627776 bytes)"),
          "one float past the 2^40-byte limit (mode %d): %s", m, lurn_last_error(S));
    CHECK(!lurn_tensor_from_buffer(S, x, 2, zneg, mode) &&
              HAS(lurn_last_error(S), "invalid shape [0, -1]: negative size"),
          "a negative size after a zero (mode %d): %s", m, lurn_last_error(S));
    CHECK(!lurn_tensor_from_buffer(S, x, 2, nmin, mode) && HAS(lurn_last_error(S), "negative"),
          "INT64_MIN (mode %d): %s", m, lurn_last_error(S));
    lurn_Tensor *e = lurn_tensor_from_buffer(S, x, 2, empty, mode);
    CHECK(e && lurn_tensor_numel(e) == 0 && lurn_last_error(S)[0] == '\0',
          "an empty tensor is fine (mode %d): %s", m, lurn_last_error(S));
    lurn_tensor_release(e);
    lurn_Tensor *sc = lurn_tensor_from_buffer(S, x, 0, NULL, mode);
    CHECK(sc && lurn_tensor_numel(sc) == 1 && lurn_tensor_ndim(sc) == 0, "a 0-d tensor (mode %d)", m);
    lurn_tensor_release(sc);
  }
  CHECK(lurn_dostring(S, "assert(lurn.zeros(2):sum():item() == 0)") == LURN_OK,
        "the state works after refused shapes: %s", lurn_last_error(S));
  CHECK(!lurn_tensor_from_buffer(S, NULL, 2, shape, LURN_COPY), "NULL data");
  CHECK(!lurn_tensor_from_buffer(S, x, 2, NULL, LURN_COPY), "NULL shape");
  CHECK(!lurn_tensor_from_buffer(S, x, 2, shape, (lurn_Mode)7), "bad mode");

  /* copy: independent of the buffer */
  lurn_Tensor *c = lurn_tensor_from_buffer(S, x, 2, shape, LURN_COPY);
  CHECK(c && lurn_tensor_ndim(c) == 2 && lurn_tensor_numel(c) == 6, "copy");
  int64_t got[8] = {0};
  CHECK(lurn_tensor_shape(c, got, 8) == 2 && got[0] == 2 && got[1] == 3, "shape");
  CHECK(lurn_tensor_shape(c, got, 1) == 2, "shape with a short buffer still says ndim");
  x[0] = 100;
  CHECK(lurn_tensor_data(c)[0] == 1, "a copy does not see the host's writes");
  x[0] = 1;

  /* borrow: shares the buffer both ways */
  lurn_Tensor *b = lurn_tensor_from_buffer(S, x, 2, shape, LURN_BORROW);
  CHECK(b && lurn_tensor_data(b) == x, "borrow uses the host buffer");
  CHECK(lurn_set_global_tensor(S, "B", b) == LURN_OK, "%s", lurn_last_error(S));
  x[5] = 60;
  CHECK(lurn_dostring(S, "assert(B:sum():item() == 75)") == LURN_OK, "Lua sees host writes: %s",
        lurn_last_error(S));
  CHECK(lurn_dostring(S, "B:narrow(1, 0, 1):fill_(0); B = nil; collectgarbage()") == LURN_OK,
        "%s", lurn_last_error(S));
  CHECK(x[0] == 0 && x[3] == 0 && x[1] == 2, "Lua's in-place writes reach the host buffer");

  /* strided and integer results: data() refuses, read() converts */
  CHECK(lurn_set_global_tensor(S, "C", c) == LURN_OK, "set C");
  CHECK(lurn_dostring(S, "CT = C:t(); I = C:argmax(1)") == LURN_OK, "%s", lurn_last_error(S));
  lurn_Tensor *ct, *idx;
  CHECK(lurn_get_global_tensor(S, "CT", &ct) == LURN_OK, "%s", lurn_last_error(S));
  CHECK(lurn_tensor_data(ct) == NULL, "no raw pointer into a transposed view");
  float buf[6];
  CHECK(lurn_tensor_read(ct, buf, 6) == LURN_OK && buf[0] == 1 && buf[1] == 4 && buf[2] == 2,
        "row-major read of a transpose: %g %g %g", buf[0], buf[1], buf[2]);
  CHECK(lurn_tensor_read(ct, buf, 5) == LURN_ERRARG, "read with the wrong count");
  CHECK(lurn_tensor_read(ct, NULL, 6) == LURN_ERRARG, "read into NULL");
  CHECK(lurn_get_global_tensor(S, "I", &idx) == LURN_OK && lurn_tensor_data(idx) == NULL,
        "int64 result");
  CHECK(lurn_tensor_read(idx, buf, 2) == LURN_OK && buf[0] == 2 && buf[1] == 2, "argmax %g %g",
        buf[0], buf[1]);
  lurn_Tensor *none = (lurn_Tensor *)buf;
  CHECK(lurn_get_global_tensor(S, "nothing", &none) == LURN_ERRTYPE && none == NULL &&
            HAS(lurn_last_error(S), "not a tensor"),
        "a nil global: %s", lurn_last_error(S));
  CHECK(lurn_get_global_tensor(S, NULL, &none) == LURN_ERRARG, "NULL name");
  CHECK(lurn_get_global_tensor(S, "C", NULL) == LURN_ERRARG, "NULL out");
  CHECK(lurn_set_global_tensor(S, NULL, c) == LURN_ERRARG, "NULL name");
  CHECK(lurn_set_global_tensor(S, "C", NULL) == LURN_OK &&
            lurn_dostring(S, "assert(C == nil)") == LURN_OK,
        "setting NULL sets nil");

  /* reference counting: retain/release pairs, and Lua keeps its own */
  lurn_tensor_retain(ct);
  lurn_tensor_release(ct);
  lurn_tensor_release(ct);
  CHECK(lurn_dostring(S, "assert(CT:sum():item() == 21)") == LURN_OK,
        "Lua's reference survives the host's release: %s", lurn_last_error(S));
  lurn_tensor_release(idx);
  lurn_tensor_release(b);
  lurn_tensor_release(c);
}

/* tensors of the wrong shape or kind handed to Lua functions: the op's or the module's
 * message (naming the shapes) as LURN_ERRRUN, and the state goes on */
static void test_wrong_shapes(lurn_State *S) {
  CHECK(lurn_dostring(S, "local nn = lurn.nn\n"
                         "net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))\n"
                         "function predict(x) return net(x) end\n"
                         "function loss(x, y) return nn.MSELoss()(net(x), y):item() end\n"
                         "function classify(x, y) return nn.CrossEntropyLoss()(x, y) end") == LURN_OK,
        "%s", lurn_last_error(S));
  float xs[8] = {0}, ys[4] = {0};
  int64_t x42[2] = {4, 2}, x43[2] = {2, 3}, y3[1] = {3}, y21[2] = {2, 1};
  lurn_Tensor *bad = lurn_tensor_from_buffer(S, xs, 2, x42, LURN_COPY);
  lurn_Tensor *good = lurn_tensor_from_buffer(S, xs, 2, x43, LURN_COPY);
  lurn_Tensor *y = lurn_tensor_from_buffer(S, ys, 1, y3, LURN_COPY);
  lurn_Tensor *yok = lurn_tensor_from_buffer(S, ys, 2, y21, LURN_COPY);
  CHECK(bad && good && y && yok, "tensors: %s", lurn_last_error(S));
  lurn_Value r[1];
  int st = lurn_call(S, "predict", (lurn_Value[]){lurn_value_tensor(bad)}, 1, r, 1);
  CHECK(st == LURN_ERRRUN && HAS(lurn_last_error(S), "0 (Linear 3->4)") &&
            HAS(lurn_last_error(S), "[4, 2]") && HAS(lurn_last_error(S), "[*, 3]") &&
            r[0].type == LURN_NIL,
        "a Linear given the wrong width names the module and the shapes: %d %s", st,
        lurn_last_error(S));
  st = lurn_call(S, "loss", (lurn_Value[]){lurn_value_tensor(good), lurn_value_tensor(y)}, 2, r, 1);
  CHECK(st == LURN_ERRRUN && HAS(lurn_last_error(S), "[2, 1]") && HAS(lurn_last_error(S), "[3]"),
        "a target of the wrong shape: %d %s", st, lurn_last_error(S));
  st = lurn_call(S, "classify", (lurn_Value[]){lurn_value_tensor(good), lurn_value_tensor(yok)}, 2, r, 1);
  CHECK(st == LURN_ERRRUN && HAS(lurn_last_error(S), "CrossEntropyLoss"),
        "float32 labels of the wrong shape for CrossEntropyLoss: %d %s", st, lurn_last_error(S));
  st = lurn_call(S, "predict", (lurn_Value[]){lurn_value_number(3)}, 1, r, 1);
  CHECK(st == LURN_ERRRUN && HAS(lurn_last_error(S), "Linear"), "a number for a tensor: %d %s", st,
        lurn_last_error(S));
  st = lurn_call(S, "loss", (lurn_Value[]){lurn_value_tensor(good), lurn_value_tensor(yok)}, 2, r, 1);
  CHECK(st == LURN_OK && r[0].type == LURN_NUMBER, "the right shapes still work: %d %s", st,
        lurn_last_error(S));
  lurn_tensor_release(bad), lurn_tensor_release(good), lurn_tensor_release(y), lurn_tensor_release(yok);
}

static void test_outlive(void) {
  lurn_State *S = lurn_open();
  lurn_Tensor *t = NULL;
  CHECK(lurn_dostring(S, "W = lurn.arange(6):float():view(2, 3)") == LURN_OK, "%s",
        lurn_last_error(S));
  CHECK(lurn_get_global_tensor(S, "W", &t) == LURN_OK, "%s", lurn_last_error(S));
  lurn_close(&S);
  float buf[6];
  CHECK(lurn_tensor_read(t, buf, 6) == LURN_OK && buf[5] == 5,
        "a tensor held by the host is valid after lurn_close");
  lurn_tensor_release(t); /* frees the tensor and the context (ASan checks) */
}

static void test_states(void) {
  lurn_State *a = lurn_open(), *b = lurn_open();
  CHECK(a && b && a != b, "two states");
  CHECK(lurn_dostring(a, "x = 'a'; lurn.manual_seed(7)") == LURN_OK, "a");
  CHECK(lurn_dostring(b, "x = 'b'; lurn.manual_seed(7); lurn.set_grad_enabled(false)") ==
            LURN_OK,
        "b");
  CHECK(lurn_dostring(a, "assert(x == 'a' and lurn.is_grad_enabled())") == LURN_OK,
        "globals and grad mode are per state: %s", lurn_last_error(a));
  CHECK(lurn_dostring(b, "assert(x == 'b' and not lurn.is_grad_enabled())") == LURN_OK, "%s",
        lurn_last_error(b));
  CHECK(lurn_dostring(a, "r = lurn.rand(4)") == LURN_OK, "a rand");
  CHECK(lurn_dostring(a, "error('only a')") == LURN_ERRRUN, "an error in a");
  CHECK(lurn_last_error(b)[0] == '\0', "b's message is b's own");
  CHECK(lurn_dostring(b, "r = lurn.rand(4)") == LURN_OK, "b rand");
  lurn_Tensor *ra, *rb;
  CHECK(lurn_get_global_tensor(a, "r", &ra) == LURN_OK && lurn_get_global_tensor(b, "r", &rb) == LURN_OK,
        "get r");
  float va[4], vb[4];
  lurn_tensor_read(ra, va, 4), lurn_tensor_read(rb, vb, 4);
  CHECK(memcmp(va, vb, sizeof va) == 0, "same seed, same numbers: each state has its generator");
  /* a tensor from one state used in another (same thread): fine */
  CHECK(lurn_set_global_tensor(b, "ra", ra) == LURN_OK &&
            lurn_dostring(b, "assert(((ra - r):abs():sum()):item() == 0)") == LURN_OK,
        "%s", lurn_last_error(b));
  lurn_tensor_release(ra);
  lurn_tensor_release(rb);
  lurn_close(&a);
  CHECK(lurn_dostring(b, "assert(ra:sum():item() > 0)") == LURN_OK,
        "b keeps a's tensor after a closed: %s", lurn_last_error(b));
  lurn_close(&b);
}

/* ---- interrupt ---- */
static lurn_State *alarm_state;
static void on_alarm(int sig) {
  (void)sig;
  lurn_interrupt(alarm_state);
}

static int interrupt_after(lurn_State *S, const char *code, long usec) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, NULL);
  alarm_state = S;
  struct itimerval it = {{0, 0}, {0, usec}};
  setitimer(ITIMER_REAL, &it, NULL);
  int st = lurn_dostring(S, code);
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  signal(SIGALRM, SIG_DFL);
  return st;
}

static void test_interrupt(void) {
  lurn_State *S = lurn_open();
  int st = interrupt_after(S, "n = 0; while true do n = n + 1 end", 200000);
  CHECK(st == LURN_ERRRUN && HAS(lurn_last_error(S), "interrupted"), "a Lua loop: %d %s", st,
        lurn_last_error(S));
  CHECK(lurn_dostring(S, "assert(n > 0)") == LURN_OK, "state kept: %s", lurn_last_error(S));
  st = interrupt_after(S,
                       "local x = lurn.rand(1, 1, 1):expand(100000000, 1, 1)\n"
                       "local w = lurn.rand(1, 1, 1)\n"
                       "while true do local y = x:narrow(0, 0, 20000000):matmul(w) end",
                       200000);
  CHECK(st == LURN_ERRRUN && HAS(lurn_last_error(S), "interrupted"), "a long kernel: %d %s", st,
        lurn_last_error(S));
  lurn_interrupt(S); /* a stop asked between calls is for no one */
  CHECK(lurn_dostring(S, "x = 1") == LURN_OK, "the next call runs: %s", lurn_last_error(S));
  lurn_close(&S);
}

/* ---- allocators ---- */
typedef struct {
  size_t live, peak;
  long count;   /* allocations so far */
  long fail_at; /* from this allocation on, every one fails (0: none); Lua retries a
                   failed allocation after a full GC, so a single failure is not enough */
  int failed;
} alloc_t;

static void *counting(void *ud, void *ptr, size_t osize, size_t nsize) {
  alloc_t *a = ud;
  if (ptr == NULL) osize = 0; /* osize is a type tag for new blocks */
  if (nsize == 0) {
    free(ptr);
    a->live -= osize;
    return NULL;
  }
  if (nsize > osize && ++a->count >= a->fail_at && a->fail_at > 0) {
    a->failed = 1;
    return NULL;
  }
  void *p = realloc(ptr, nsize);
  if (!p) return NULL;
  a->live += nsize - osize;
  if (a->live > a->peak) a->peak = a->live;
  return p;
}

/* a short session: open, build and train a model, exchange tensors, close.
 * Returns 1 when every step said OK, 0 when some step failed with a fitting status, 2 when
 * lurn_open gave NULL, -1 when something else happened. */
/* a failure caused by the allocator must say so: "not enough memory", not some other
 * error that the missing memory happened to cause */
static int says_memory(lurn_State *S, int st, const char *what) {
  if (st != LURN_ERRMEM && st != LURN_ERRRUN) return 1;
  if (HAS(lurn_last_error(S), "not enough memory")) return 1;
  fprintf(stderr, "%s failed (%s) without saying 'not enough memory': %s\n", what,
          lurn_status_name(st), lurn_last_error(S));
  return 0;
}

static int session(alloc_t *al) {
  lurn_State *S = lurn_open_with_allocator(counting, al);
  if (!S) return 2;
  int ok = 1;
  int st = lurn_dostring(S,
                         "local nn = lurn.nn\n"
                         "model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))\n"
                         "opt = lurn.optim.SGD(model:parameters(), {lr = 0.1})\n"
                         "function step(x, y)\n"
                         "  opt:zero_grad()\n"
                         "  local loss = nn.functional.mse_loss(model(x), y)\n"
                         "  loss:backward(); opt:step()\n"
                         "  return loss:item(), model(x)\n"
                         "end");
  ok &= st == LURN_OK;
  if ((st != LURN_OK && st != LURN_ERRMEM && st != LURN_ERRRUN) || !says_memory(S, st, "dostring"))
    ok = -1;
  int defined = st == LURN_OK;
  float xs[12] = {0}, ys[4] = {1, 2, 3, 4};
  int64_t xsh[2] = {4, 3}, ysh[2] = {4, 1};
  lurn_Tensor *x = lurn_tensor_from_buffer(S, xs, 2, xsh, LURN_COPY);
  lurn_Tensor *y = lurn_tensor_from_buffer(S, ys, 2, ysh, LURN_BORROW);
  if ((!x || !y) && !HAS(lurn_last_error(S), "not enough memory")) {
    fprintf(stderr, "from_buffer failed without saying 'not enough memory': %s\n", lurn_last_error(S));
    ok = -1;
  }
  if (x && y) {
    lurn_Value args[2] = {lurn_value_tensor(x), lurn_value_tensor(y)}, res[2];
    st = lurn_call(S, "step", args, 2, res, 2);
    ok &= st == LURN_OK;
    if (st != LURN_OK && st != LURN_ERRMEM && st != LURN_ERRRUN && st != LURN_ERRTYPE) ok = -1;
    /* with `step` defined, only memory can make it fail (else it is missing: ERRTYPE) */
    if (defined && (st == LURN_ERRTYPE || !says_memory(S, st, "call"))) ok = -1;
    if (st == LURN_OK) lurn_tensor_release(res[1].tensor);
    st = lurn_set_global_tensor(S, "X", x);
    ok &= st == LURN_OK;
    if (!says_memory(S, st, "set_global_tensor")) ok = -1;
    lurn_Tensor *back = NULL;
    st = lurn_get_global_tensor(S, "X", &back);
    ok &= st == LURN_OK;
    if (!says_memory(S, st, "get_global_tensor")) ok = -1;
    lurn_tensor_release(back);
  }
  lurn_tensor_release(x);
  lurn_tensor_release(y);
  /* after a failure the state must still work */
  al->fail_at = 0;
  if (lurn_dostring(S, "z = 1 + 1") != LURN_OK) ok = -1;
  lurn_close(&S);
  return ok;
}

static void test_allocators(void) {
  alloc_t al = {0};
  CHECK(session(&al) == 1, "a session with a counting allocator");
  CHECK(al.live == 0, "every byte given back after lurn_close: %zu live", al.live);
  CHECK(al.peak > 0 && al.count > 100, "the allocator was used (%ld allocations, %zu peak)",
        al.count, al.peak);
  long total = al.count;
  /* memory runs out at the N-th allocation, for every N of the session (every 7th beyond
   * 3000, to bound the time under sanitizers); then it is back, and the state must work */
  int failed_open = 0, failed_later = 0;
  for (long n = 1; n <= total; n += n < 3000 ? 1 : 7) {
    alloc_t f = {0};
    f.fail_at = n;
    int ok = session(&f);
    CHECK(ok != -1, "allocation %ld failing broke the state or gave an odd status", n);
    CHECK(f.live == 0, "allocation %ld failing leaked %zu bytes", n, f.live);
    CHECK(f.failed || ok == 1, "allocation %ld: no failure, yet a step failed", n);
    failed_open += ok == 2;
    failed_later += ok == 0;
  }
  CHECK(failed_open > 0 && failed_later > 0, "failures hit both lurn_open (%d) and later calls (%d)",
        failed_open, failed_later);
  printf("allocator: %ld allocations per session; out of memory in lurn_open %d times, in "
         "later calls %d times, no crash, no leak\n", total, failed_open, failed_later);
}

int main(void) {
  test_null_state();
  test_closed_state();
  lurn_State *S = lurn_open();
  CHECK(S != NULL, "lurn_open");
  test_errors(S);
  test_call(S);
  test_tensors(S);
  test_wrong_shapes(S);
  lurn_close(&S);
  test_outlive();
  test_states();
  test_interrupt();
  test_allocators();
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("embedding API: all checks passed\n");
  return 0;
}
