/* fuzz.h - what the libFuzzer targets of tests/fuzz share.
 *
 * DESIGN: each fuzz_<name>.c is one libFuzzer target (MNEMO_FUZZ=ON,
 * cmake/Fuzz.cmake): LLVMFuzzerTestOneInput feeds one input to one module
 * and checks that module's contract on the result, beyond what ASan and
 * UBSan catch. A broken contract is FUZZ_CHECK: it prints the condition
 * and aborts, so libFuzzer saves the input as a crash artifact. Inputs
 * live in memory only; every target is single-threaded.
 */
#ifndef MNEMO_FUZZ_H
#define MNEMO_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* libFuzzer's entry points (defined by each target, called by libFuzzer). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Aborts with the failed condition when cond is false. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: contract broken: %s\n", __FILE__, __LINE__, #cond);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
