/* Our own loops over big buffers (elementwise ops, optimizer updates) split across the
 * context's threads (lt_set_num_threads: the count OpenBLAS uses too, and the two never
 * run at once, so together they never ask for more cores than given). Workers are made
 * on first use and sleep on a condition variable between jobs; the calling thread runs
 * the first part itself. Results do not depend on the split: each element is computed
 * on its own, and reductions are not split (they keep PyTorch's summation order). */
#define _POSIX_C_SOURCE 200809L
#include "core.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

struct lt_pool;
typedef struct {
  struct lt_pool *pool;
  int index; /* the part this worker runs: 1..nworkers */
} lt_worker;

struct lt_pool {
  pthread_mutex_t mu;
  pthread_cond_t work, done;
  pthread_t threads[LT_MAX_THREADS];
  lt_worker workers[LT_MAX_THREADS];
  int nworkers;
  unsigned long gen; /* job number: a worker runs each job once */
  int pending;       /* workers not yet through the current job */
  int stop;
  pid_t pid; /* the process that made the workers: a forked child has none of them */
  lt_range_fn fn;
  void *arg;
  int64_t n;
  int parts;
};

/* part i of [0, n) in `parts` pieces, cut at multiples of 16 elements (whole vectors) */
static void part_range(int64_t n, int parts, int i, int64_t *b, int64_t *e) {
  int64_t step = (n / parts + 15) & ~(int64_t)15;
  *b = step * i < n ? step * i : n;
  *e = i + 1 < parts && step * (i + 1) < n ? step * (i + 1) : n;
}

static void *worker_main(void *p) {
  lt_worker *w = p;
  struct lt_pool *pool = w->pool;
  unsigned long seen = 0;
  pthread_mutex_lock(&pool->mu);
  for (;;) {
    while (pool->gen == seen && !pool->stop) pthread_cond_wait(&pool->work, &pool->mu);
    if (pool->stop) break;
    seen = pool->gen;
    lt_range_fn fn = pool->fn;
    void *arg = pool->arg;
    int64_t n = pool->n;
    int parts = pool->parts;
    pthread_mutex_unlock(&pool->mu);
    if (w->index < parts) {
      int64_t b, e;
      part_range(n, parts, w->index, &b, &e);
      if (b < e) fn(arg, b, e);
    }
    pthread_mutex_lock(&pool->mu);
    if (--pool->pending == 0) pthread_cond_signal(&pool->done);
  }
  pthread_mutex_unlock(&pool->mu);
  return NULL;
}

/* a pool with at least `want` workers, or NULL (then the loop runs on one thread) */
static struct lt_pool *pool_with(lt_ctx *c, int want) {
  struct lt_pool *pool = c->pool;
  if (!pool) {
    if (!(pool = calloc(1, sizeof *pool))) return NULL;
    if (pthread_mutex_init(&pool->mu, NULL) != 0) {
      free(pool);
      return NULL;
    }
    pthread_cond_init(&pool->work, NULL);
    pthread_cond_init(&pool->done, NULL);
    pool->pid = getpid();
    c->pool = pool;
  }
  if (pool->pid != getpid()) return NULL; /* after fork: the loop runs on one thread */
  while (pool->nworkers < want) { /* no job is running: the caller is the only user */
    lt_worker *w = &pool->workers[pool->nworkers];
    w->pool = pool;
    w->index = pool->nworkers + 1;
    if (pthread_create(&pool->threads[pool->nworkers], NULL, worker_main, w) != 0) break;
    pool->nworkers++;
  }
  return pool;
}

void lt_parallel_for(lt_ctx *c, int64_t n, int64_t grain, lt_range_fn fn, void *arg) {
  int threads = c ? lt_get_num_threads(c) : 1;
  if (threads > LT_MAX_THREADS) threads = LT_MAX_THREADS;
  int64_t parts = grain > 0 ? n / grain : 1;
  if (parts > threads) parts = threads;
  struct lt_pool *pool = parts > 1 ? pool_with(c, (int)parts - 1) : NULL;
  if (pool && pool->nworkers + 1 < parts) parts = pool->nworkers + 1;
  if (!pool || parts < 2) {
    if (n > 0) fn(arg, 0, n);
    return;
  }
  pthread_mutex_lock(&pool->mu);
  pool->fn = fn, pool->arg = arg, pool->n = n, pool->parts = (int)parts;
  pool->pending = pool->nworkers;
  pool->gen++;
  pthread_cond_broadcast(&pool->work);
  pthread_mutex_unlock(&pool->mu);
  int64_t b, e;
  part_range(n, (int)parts, 0, &b, &e);
  if (b < e) fn(arg, b, e);
  pthread_mutex_lock(&pool->mu);
  while (pool->pending > 0) pthread_cond_wait(&pool->done, &pool->mu);
  pthread_mutex_unlock(&pool->mu);
}

void lt_pool_free(lt_ctx *c) {
  struct lt_pool *pool = c->pool;
  if (!pool) return;
  c->pool = NULL;
  if (pool->pid != getpid()) return; /* a forked child: the workers are not here to join */
  pthread_mutex_lock(&pool->mu);
  pool->stop = 1;
  pthread_cond_broadcast(&pool->work);
  pthread_mutex_unlock(&pool->mu);
  for (int i = 0; i < pool->nworkers; i++) pthread_join(pool->threads[i], NULL);
  pthread_cond_destroy(&pool->work);
  pthread_cond_destroy(&pool->done);
  pthread_mutex_destroy(&pool->mu);
  free(pool);
}
