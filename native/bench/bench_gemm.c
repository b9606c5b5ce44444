/* bench_gemm.c - rough GFLOP/s of ng_gemm (and a few element-wise kernels) per path and thread count.
 * usage: bench_gemm [n] [reps] */
#define _POSIX_C_SOURCE 200809L
#include "nativegrad.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    const int64_t n = argc > 1 ? atoll(argv[1]) : 512;
    const int reps = argc > 2 ? atoi(argv[2]) : 10;
    const char *paths[] = {"scalar", "avx2", "avx512"};
    float *A = malloc(n * n * 4), *B = malloc(n * n * 4), *C = malloc(n * n * 4);
    double *Ad = malloc(n * n * 8), *Bd = malloc(n * n * 8), *Cd = malloc(n * n * 8);
    for (int64_t i = 0; i < n * n; i++) {
        A[i] = (float)((i * 7) % 13) / 13.f;
        B[i] = (float)((i * 5) % 11) / 11.f;
        Ad[i] = A[i];
        Bd[i] = B[i];
    }
    int t0 = ng_get_threads();
    for (int p = 0; p < 3; p++) {
        if (ng_set_kernel_path(paths[p]) != NG_OK) continue;
        for (int t = 1; t <= (t0 > 1 ? 2 : 1); t++) {
            ng_set_threads(t);
            for (int dt = 0; dt < 2; dt++) {
                int r = (p == 0) ? (reps + 4) / 5 : reps;
                ng_gemm(dt, 0, 0, n, n, n, 1, dt ? (void *)Ad : A, n, 0, dt ? (void *)Bd : B, n, 0, 0,
                        dt ? (void *)Cd : C, n, 0, 1);
                double best = 1e30;
                for (int i = 0; i < r; i++) {
                    double s = now();
                    ng_gemm(dt, 0, 0, n, n, n, 1, dt ? (void *)Ad : A, n, 0, dt ? (void *)Bd : B, n, 0, 0,
                            dt ? (void *)Cd : C, n, 0, 1);
                    double e = now() - s;
                    if (e < best) best = e;
                }
                printf("gemm %-6s %s n=%lld threads=%d: %.1f GFLOP/s\n", paths[p], dt ? "f64" : "f32", (long long)n, t,
                       2.0 * n * n * n / best * 1e-9);
            }
        }
    }
    ng_set_threads(t0);
    free(A); free(B); free(C); free(Ad); free(Bd); free(Cd);
    return 0;
}
