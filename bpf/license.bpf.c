// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The object's license and its tables (bpf/maps.h), once for all the programs. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";
