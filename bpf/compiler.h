/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Branch hints. The fast path's code is laid out in one run, the stack
 * path's after it: a router forwards mostly established flows, and a
 * packet's code that has to be fetched from all over the program costs more
 * than the program's instructions do.
 */
#ifndef HP_BPF_COMPILER_H
#define HP_BPF_COMPILER_H

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#endif /* HP_BPF_COMPILER_H */
