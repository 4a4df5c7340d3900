/* Float sums in the order PyTorch's CPU kernels use (ATen SumKernel.cpp "cascade sum":
 * 4 levels of partial sums, 8-lane vectors for contiguous data). Accurate (error grows
 * with log n, not n) and, by matching the order, bias gradients come out bit-identical
 * to PyTorch's, which keeps optimizer trajectories together step after step. */
#include "core.h"

#define LANES 8  /* AVX2 Vec<float>::size(), PyTorch's default CPU capability */
#define LEVELS 4

static int64_t ceil_log2(int64_t x) {
  if (x <= 2) return 1;
  int64_t b = 0;
  for (uint64_t v = (uint64_t)(x - 1); v; v >>= 1) b++;
  return b;
}

/* For k < nrows and lane < lanes: out[k][lane] = sum over i < size of
 * in[i * row_stride + k * col_stride + lane], cascaded. nrows <= 4, lanes <= LANES. */
static void multi_row_sum(const float *in, int64_t row_stride, int64_t col_stride, int64_t size,
                          int nrows, int lanes, float out[4][LANES]) {
  float acc[LEVELS][4][LANES] = {{{0}}};
  int64_t power = ceil_log2(size) / LEVELS;
  if (power < 4) power = 4;
  const int64_t step = (int64_t)1 << power, mask = step - 1;
  int64_t i = 0;
  while (i + step <= size) {
    for (int64_t j = 0; j < step; ++j, ++i)
      for (int k = 0; k < nrows; k++)
        for (int l = 0; l < lanes; l++) acc[0][k][l] += in[i * row_stride + k * col_stride + l];
    for (int j = 1; j < LEVELS; ++j) {
      for (int k = 0; k < nrows; k++)
        for (int l = 0; l < lanes; l++) {
          acc[j][k][l] += acc[j - 1][k][l];
          acc[j - 1][k][l] = 0.f;
        }
      if ((i & (mask << (j * power))) != 0) break;
    }
  }
  for (; i < size; ++i)
    for (int k = 0; k < nrows; k++)
      for (int l = 0; l < lanes; l++) acc[0][k][l] += in[i * row_stride + k * col_stride + l];
  for (int j = 1; j < LEVELS; ++j)
    for (int k = 0; k < nrows; k++)
      for (int l = 0; l < lanes; l++) acc[0][k][l] += acc[j][k][l];
  for (int k = 0; k < nrows; k++)
    for (int l = 0; l < lanes; l++) out[k][l] = acc[0][k][l];
}

float lt_cascade_sum(const float *x, int64_t n) {
  if (n < LANES) { /* scalar inner sum: one row of width 1, four-way interleaved */
    float out[4][LANES];
    int64_t rows = n / 4;
    multi_row_sum(x, 4, 1, rows, 4, 1, out);
    for (int64_t i = rows * 4; i < n; i++) out[0][0] += x[i];
    return out[0][0] + out[1][0] + out[2][0] + out[3][0];
  }
  /* vectorised inner sum: rows of 4 vectors, then the vector tail, then the lanes */
  int64_t nvec = n / LANES, rows = nvec / 4;
  float part[4][LANES];
  multi_row_sum(x, 4 * LANES, LANES, rows, 4, LANES, part);
  for (int64_t v = rows * 4; v < nvec; v++)
    for (int l = 0; l < LANES; l++) part[0][l] += x[v * LANES + l];
  for (int k = 1; k < 4; k++)
    for (int l = 0; l < LANES; l++) part[0][l] += part[k][l];
  float total = 0.f;
  for (int64_t i = nvec * LANES; i < n; i++) total += x[i];
  for (int l = 0; l < LANES; l++) total += part[0][l];
  return total;
}

/* lanes columns starting at x, summed over rows with rows interleaved four ways (ATen's
 * row_sum with a vector or scalar load per row) */
static void interleaved_cols(const float *x, int64_t rows, int64_t cols, int lanes, float *out) {
  float part[4][LANES];
  int64_t n4 = rows / 4;
  multi_row_sum(x, 4 * cols, cols, n4, 4, lanes, part);
  for (int64_t i = n4 * 4; i < rows; i++)
    for (int l = 0; l < lanes; l++) part[0][l] += x[i * cols + l];
  for (int k = 1; k < 4; k++)
    for (int l = 0; l < lanes; l++) part[0][l] += part[k][l];
  for (int l = 0; l < lanes; l++) out[l] = part[0][l];
}

/* lanes columns starting at x, each summed over rows in one cascade */
static void cascade_cols(const float *x, int64_t rows, int64_t cols, int lanes, float *out) {
  float acc[4][LANES];
  multi_row_sum(x, cols, 0, rows, 1, lanes, acc);
  for (int l = 0; l < lanes; l++) out[l] = acc[0][l];
}

void lt_cascade_sum_rows(const float *x, int64_t rows, int64_t cols, float *out) {
  if (cols == 1) { /* a single column is contiguous: PyTorch takes the inner path */
    out[0] = lt_cascade_sum(x, rows);
    return;
  }
  /* ATen's outer reduction: blocks of 4 vectors (32 columns) in one cascade each, then
   * single vectors and single columns with rows interleaved four ways. (Matched against
   * torch.sum(0) bit for bit; 4 to 7 columns alone take another path, approximated.) */
  int64_t c = 0;
  if (cols >= 4 && cols < LANES) {
    for (; c < cols; c++) cascade_cols(x + c, rows, cols, 1, out + c);
    return;
  }
  for (; c + 4 * LANES <= cols; c += 4 * LANES)
    for (int k = 0; k < 4; k++) cascade_cols(x + c + k * LANES, rows, cols, LANES, out + c + k * LANES);
  for (; c + LANES <= cols; c += LANES) interleaved_cols(x + c, rows, cols, LANES, out + c);
  for (; c < cols; c++) interleaved_cols(x + c, rows, cols, 1, out + c);
}
