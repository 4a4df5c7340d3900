/* MT19937 with NumPy's legacy RandomState conversions, so that a seed gives the same
 * numbers as np.random.seed on every machine. */
#include "core.h"

#include <math.h>

void lt_rng_seed(lt_rng *r, uint32_t seed) {
  r->mt[0] = seed;
  for (int i = 1; i < 624; i++)
    r->mt[i] = 1812433253u * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) + (uint32_t)i;
  r->mti = 624;
  r->has_gauss = 0;
  r->gauss = 0;
}

static void twist(lt_rng *r) {
  for (int i = 0; i < 624; i++) {
    uint32_t y = (r->mt[i] & 0x80000000u) | (r->mt[(i + 1) % 624] & 0x7fffffffu);
    uint32_t v = r->mt[(i + 397) % 624] ^ (y >> 1);
    r->mt[i] = (y & 1u) ? v ^ 0x9908b0dfu : v;
  }
  r->mti = 0;
}

uint32_t lt_rng_u32(lt_rng *r) {
  if (r->mti >= 624) twist(r);
  uint32_t y = r->mt[r->mti++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  y ^= y >> 18;
  return y;
}

double lt_rng_double(lt_rng *r) {
  uint32_t a = lt_rng_u32(r) >> 5, b = lt_rng_u32(r) >> 6;
  return (a * 67108864.0 + b) / 9007199254740992.0;
}

double lt_rng_gauss(lt_rng *r) {
  if (r->has_gauss) {
    r->has_gauss = 0;
    return r->gauss;
  }
  double x1, x2, r2;
  do {
    x1 = 2.0 * lt_rng_double(r) - 1.0;
    x2 = 2.0 * lt_rng_double(r) - 1.0;
    r2 = x1 * x1 + x2 * x2;
  } while (r2 >= 1.0 || r2 == 0.0);
  double f = sqrt(-2.0 * log(r2) / r2);
  r->gauss = f * x1;
  r->has_gauss = 1;
  return f * x2;
}

uint64_t lt_rng_interval(lt_rng *r, uint64_t max) {
  if (max == 0) return 0;
  uint64_t mask = max;
  mask |= mask >> 1; mask |= mask >> 2; mask |= mask >> 4;
  mask |= mask >> 8; mask |= mask >> 16; mask |= mask >> 32;
  uint64_t v;
  if (max <= 0xffffffffu) {
    while ((v = (lt_rng_u32(r) & mask)) > max) {}
  } else {
    while ((v = ((((uint64_t)lt_rng_u32(r) << 32) | lt_rng_u32(r)) & mask)) > max) {}
  }
  return v;
}
