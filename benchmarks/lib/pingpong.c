/*
 * The round-trip baseline of benchmarks/datapath.ts: two threads bounce a counter through one
 * shared page, each spinning briefly on the other's word and then sleeping on it with a futex —
 * the same spin-then-sleep shape as a shmkit Channel, with nothing else in the way.
 * Prints the mean round trip in nanoseconds. Usage: pingpong ROUNDS
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SPINS 20000

static _Alignas(128) _Atomic int ping;
static _Alignas(128) _Atomic int pong;
static _Alignas(128) _Atomic int sleepers[2];
static long rounds;

static void wait_for(_Atomic int *word, int *sl, int value) {
  for (int i = 0; i < SPINS; i++)
    if (atomic_load(word) >= value) return;
  atomic_fetch_add((_Atomic int *)sl, 1);
  while (atomic_load(word) < value)
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, atomic_load(word), NULL, NULL, 0);
  atomic_fetch_sub((_Atomic int *)sl, 1);
}

static void post(_Atomic int *word, _Atomic int *sl, int value) {
  atomic_store(word, value);
  if (atomic_load(sl) != 0) syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *peer(void *arg) {
  (void)arg;
  for (long i = 1; i <= rounds; i++) {
    wait_for(&ping, (int *)&sleepers[0], (int)i);
    post(&pong, &sleepers[1], (int)i);
  }
  return NULL;
}

int main(int argc, char **argv) {
  rounds = argc > 1 ? atol(argv[1]) : 100000;
  pthread_t t;
  pthread_create(&t, NULL, peer, NULL);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 1; i <= rounds; i++) {
    post(&ping, &sleepers[0], (int)i);
    wait_for(&pong, (int *)&sleepers[1], (int)i);
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  pthread_join(t, NULL);
  double ns = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
  printf("%.1f\n", ns / rounds);
  return 0;
}
