/*
 * glibc-compat.h - force-included (-include) into every source of libnativegrad when NG_PORTABLE_GLIBC=ON
 * (the packaged linux-x64 and linux-arm64 builds; see native/CMakeLists.txt and docs/packaging.md).
 *
 * The build machine's glibc (Debian 12: 2.36) gives some functions newer symbol versions than old
 * distributions know: libm's exp/log/pow (GLIBC_2.29, new implementations without the SVID error wrapper)
 * and the pthread functions that moved from libpthread into libc (GLIBC_2.34). A library linked against
 * those versions refuses to load on glibc < 2.29 / < 2.34. The .symver directives below bind each reference
 * to the oldest version of the same function instead (GLIBC_2.2.5 on x86-64, GLIBC_2.17 on aarch64, i.e.
 * each architecture's baseline), which every glibc still exports. The results are identical: the libm
 * functions only differ in errno/matherr handling, and NativeGrad is built with -fno-math-errno.
 *
 * scripts/check-native-abi.sh verifies the result with objdump -T: no symbol version above GLIBC_2.28.
 * When it names a new symbol, add it here.
 */
#ifndef NG_GLIBC_COMPAT_H
#define NG_GLIBC_COMPAT_H

/* Included before anything else, so it includes nothing itself (that would fix the feature-test macros
 * before a source file defines _POSIX_C_SOURCE); CMake only force-includes it when the C library is glibc. */
#if defined(__linux__)

#if defined(__x86_64__)
#define NG_GLIBC_BASE "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define NG_GLIBC_BASE "GLIBC_2.17"
#endif

#ifdef NG_GLIBC_BASE
#define NG_SYMVER(name) __asm__(".symver " #name "," #name "@" NG_GLIBC_BASE);

/* libm: new versions in GLIBC_2.29 (x86-64 and aarch64). */
NG_SYMVER(exp)
NG_SYMVER(exp2)
NG_SYMVER(log)
NG_SYMVER(log2)
NG_SYMVER(pow)

/* libpthread -> libc move: new versions in GLIBC_2.34. Linked together with libpthread.so.0 as a DT_NEEDED
 * entry (see NG_PORTABLE_GLIBC in native/CMakeLists.txt), which old glibc needs to resolve them. */
NG_SYMVER(pthread_create)
NG_SYMVER(pthread_join)
NG_SYMVER(pthread_detach)
NG_SYMVER(pthread_key_create)
NG_SYMVER(pthread_key_delete)
NG_SYMVER(pthread_getspecific)
NG_SYMVER(pthread_setspecific)
NG_SYMVER(pthread_once)
NG_SYMVER(pthread_mutex_trylock)
NG_SYMVER(pthread_attr_setstacksize)
NG_SYMVER(sem_init)
NG_SYMVER(sem_destroy)
NG_SYMVER(sem_post)
NG_SYMVER(sem_wait)

#undef NG_SYMVER
#endif /* NG_GLIBC_BASE */

#endif /* __linux__ */
#endif /* NG_GLIBC_COMPAT_H */
