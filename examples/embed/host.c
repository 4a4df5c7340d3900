/* A C program that embeds lurn: it makes a batch of data, hands it to a Lua training
 * function as tensors, trains a small network, and reads the predictions back into a C
 * buffer. Build it against an installed lurn (see README.md in this directory):
 *   cc host.c $(pkg-config --cflags --libs lurn) -o host && ./host train.lua */
#include <lurn.h>
#include <stdio.h>
#include <stdlib.h>

enum { N = 256 };

/* the function to learn: a saddle plus a slope, on [-1, 1]^2 */
static float target(float a, float b) { return a * b + 0.5f * a; }

int main(int argc, char **argv) {
  const char *script = argc > 1 ? argv[1] : "train.lua";
  lurn_State *S = lurn_open();
  if (!S) {
    fprintf(stderr, "host: out of memory\n");
    return 1;
  }
  if (lurn_dofile(S, script) != LURN_OK) {
    fprintf(stderr, "host: %s\n", lurn_last_error(S));
    lurn_close(&S);
    return 1;
  }

  /* the batch, in the host's own buffers */
  static float x[N][2], y[N], pred[N];
  unsigned seed = 12345;
  for (int i = 0; i < N; i++) {
    for (int j = 0; j < 2; j++) {
      seed = seed * 1103515245u + 12345u; /* a small LCG: the same data everywhere */
      x[i][j] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
    y[i] = target(x[i][0], x[i][1]);
  }
  /* x is borrowed (no copy: it must outlive the tensor), y copied */
  lurn_Tensor *X = lurn_tensor_from_buffer(S, &x[0][0], 2, (int64_t[]){N, 2}, LURN_BORROW);
  lurn_Tensor *Y = lurn_tensor_from_buffer(S, y, 2, (int64_t[]){N, 1}, LURN_COPY);
  if (!X || !Y) {
    fprintf(stderr, "host: %s\n", lurn_last_error(S));
    return 1;
  }

  int status = 0;
  for (int round = 1; round <= 5 && status == 0; round++) {
    lurn_Value args[3] = {lurn_value_tensor(X), lurn_value_tensor(Y), lurn_value_number(60)};
    lurn_Value loss;
    if ((status = lurn_call(S, "train", args, 3, &loss, 1)) == LURN_OK)
      printf("round %d: loss %.5f\n", round, loss.number);
  }

  lurn_Value p = {LURN_NIL, 0, NULL};
  if (status == LURN_OK) status = lurn_call(S, "predict", (lurn_Value[]){lurn_value_tensor(X)}, 1, &p, 1);
  if (status == LURN_OK && p.type == LURN_TENSOR) {
    status = lurn_tensor_read(p.tensor, pred, N); /* [N, 1] into pred[N] */
    lurn_tensor_release(p.tensor);
  }
  if (status != LURN_OK) {
    fprintf(stderr, "host: %s: %s\n", lurn_status_name(status), lurn_last_error(S));
  } else {
    double mse = 0;
    for (int i = 0; i < N; i++) mse += (pred[i] - y[i]) * (pred[i] - y[i]) / N;
    for (int i = 0; i < 3; i++)
      printf("f(%+.3f, %+.3f) = %+.4f, predicted %+.4f\n", x[i][0], x[i][1], y[i], pred[i]);
    printf("final mse (computed in C) %.5f\n", mse);
    if (mse > 0.01) status = 1; /* it did not learn */
  }

  lurn_tensor_release(X);
  lurn_tensor_release(Y);
  lurn_close(&S); /* after the tensors that borrow x: nothing uses x any more */
  return status == LURN_OK ? 0 : 1;
}
