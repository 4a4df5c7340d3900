/* The machine's side of workload 6: OpenBLAS sgemm called directly (no lurn in between)
 * and a memory-bandwidth probe (a streaming triad), to set lurn's kernels against.
 * usage: kernels N  -> "openblas sgemm N^3: G GFLOP/s" and "memory triad: B GB/s" */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 2048;
  float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n),
        *c = malloc(sizeof(float) * n * n);
  for (long i = 0; i < (long)n * n; i++) a[i] = (float)(i % 7) / 7.f, b[i] = (float)(i % 5) / 5.f;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, a, n, b, n, 0.f, c, n);
  int reps = 5;
  double t = now();
  for (int r = 0; r < reps; r++)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, a, n, b, n, 0.f, c, n);
  double dt = (now() - t) / reps;
  printf("openblas sgemm %d^3: %.1f GFLOP/s\n", n, 2.0 * n * n * n / dt / 1e9);
  /* triad over 3 x 64 MiB: far past every cache */
  long m = 16L * 1024 * 1024;
  float *x = malloc(sizeof(float) * m), *y = malloc(sizeof(float) * m), *z = malloc(sizeof(float) * m);
  for (long i = 0; i < m; i++) x[i] = 1.f, y[i] = 2.f, z[i] = 0.f;
  t = now();
  for (int r = 0; r < reps; r++)
    for (long i = 0; i < m; i++) z[i] = x[i] + 0.5f * y[i];
  dt = (now() - t) / reps;
  printf("memory triad: %.1f GB/s (checksum %g)\n", 3.0 * sizeof(float) * m / dt / 1e9, (double)z[m / 2]);
  free(a), free(b), free(c), free(x), free(y), free(z);
  return 0;
}
